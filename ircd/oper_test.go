package ircd

import (
	"errors"
	"sync"
	"testing"

	"gopkg.in/irc.v4"
)

// operTestAuth adds FeatureOpers to testAuth: OPER passwords from a
// map (the daemon's implementation compares bcrypt hashes) and bans.
type operTestAuth struct {
	*testAuth
	passwords map[string]string
	mu        sync.Mutex
	banned    map[string]bool
}

func (a *operTestAuth) Features() Features { return a.testAuth.Features() | FeatureOpers }

func (a *operTestAuth) CheckOperPassword(_ Login, name, password string) error {
	if p, ok := a.passwords[name]; ok && p == password {
		return nil
	}
	return errors.New("password incorrect")
}

func (a *operTestAuth) SetBanned(account string, banned bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if account == "nobody" {
		return errors.New("no such account")
	}
	a.banned[account] = banned
	return nil
}

func TestOperCommands(t *testing.T) {
	auth := &operTestAuth{testAuth: newTestAuth(), passwords: map[string]string{"admin": "correct horse"}, banned: map[string]bool{}}
	rehashed := make(chan struct{}, 1)
	ts := startServer(t, func(c *Config) {
		auth.rehash = func() error { rehashed <- struct{}{}; return nil }
		c.Backend = auth
	})
	user := ts.connect("user")
	victim := ts.connect("victim", "sasl")
	victim.login("thor1victim")
	wall := ts.connect("wall")
	wall.send("MODE wall +w")
	wall.expect("MODE", nil)

	// ordinary users get 481 for every oper command
	for _, cmd := range []string{"KILL victim :x", "WALLOPS :hi", "REHASH"} {
		if m := user.expectCode(cmd, "481"); m == nil {
			t.Fatalf("%s: no 481", cmd)
		}
	}
	// OPER: wrong password 464, right one 381 and +o
	user.expectCode("OPER admin wrong", "464")
	user.expectCode("OPER nobody correct horse", "464")
	user.send("OPER admin :correct horse")
	user.expect("MODE", func(m *irc.Message) bool { return m.Param(0) == "user" && m.Param(1) == "+o" })
	user.expectNumeric("381")

	user.send("WALLOPS :maintenance at noon")
	wall.expect("WALLOPS", func(m *irc.Message) bool { return m.Trailing() == "maintenance at noon" })

	user.send("REHASH")
	user.expectNumeric("382")
	<-rehashed

	// BAN through NickServ closes the account's connections
	user.send("PRIVMSG NickServ :BAN victim")
	victim.expectErrorClose("Closing Link: Account banned")
	user.expect("NOTICE", func(m *irc.Message) bool { return m.Trailing() == "thor1victim is banned; its connections are closed." })
	auth.mu.Lock()
	banned := auth.banned["thor1victim"]
	auth.mu.Unlock()
	if !banned {
		t.Fatal("SetBanned not called")
	}
	user.send("PRIVMSG NickServ :UNBAN thor1victim")
	user.expect("NOTICE", func(m *irc.Message) bool { return m.Trailing() == "thor1victim may log in again." })

	// KILL
	other := ts.connect("other")
	user.send("KILL other :spamming")
	other.expectErrorClose("Closing Link: Killed (user (spamming))")
	user.expectCode("KILL ghost :x", "401")
}
