package accounts_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/irc.v4"
)

// nickServ sends line and returns NickServ's notice in reply.
func (c *client) nickServ(line string) string {
	c.t.Helper()
	c.send(line)
	return c.expect("NOTICE", func(m *irc.Message) bool { return m.Name == "NickServ" }).Trailing()
}

// changeNick sends NICK and returns the NICK echo or the error numeric.
func (c *client) changeNick(nick string) *irc.Message {
	c.t.Helper()
	c.send("NICK " + nick)
	msgs := c.readUntil("NICK", "433", "432")
	m := msgs[len(msgs)-1]
	if m.Command == "NICK" {
		c.nick = nick
	}
	return m
}

func mustContain(t testing.TB, what, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Fatalf("%s: %q does not contain %q", what, got, want)
	}
}

func TestNickClaim(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true})
	alice, bob := key("alice"), key("bob")
	acct := accountOf(t, alice)

	owner := e.connect(t, "alice", alice)
	anon := e.connect(t, "anon", nil)
	other := e.connect(t, "bob", bob)

	forms := []struct {
		nick, line string
	}{
		{"alice", "PRIVMSG NickServ :CLAIM"},
		{"alice2", "NICKSERV CLAIM"},
		{"alice3", "NS CLAIM"},
	}
	for _, f := range forms {
		t.Run(f.line, func(t *testing.T) {
			if f.nick != owner.nick {
				if m := owner.changeNick(f.nick); m.Command != "NICK" {
					t.Fatalf("NICK %s: %v", f.nick, m)
				}
			}
			mustContain(t, "CLAIM", owner.nickServ(f.line), "is now claimed by "+acct)
			mustContain(t, "second CLAIM", owner.nickServ(f.line), "already claimed by your account")
			mustContain(t, "INFO", anon.nickServ("NS INFO "+f.nick), "claimed by "+acct)
		})
	}
	mustContain(t, "CLAIM without login", anon.nickServ("NS CLAIM"), "must be logged in")
	mustContain(t, "RELEASE of another's nick", other.nickServ("NS RELEASE alice"), "not claimed by your account")

	// owner is now "alice3"; "alice" and "alice2" are claimed and free
	t.Run("others cannot change to it", func(t *testing.T) {
		for _, c := range []*client{anon, other} {
			m := c.changeNick("alice")
			if m.Command != "433" {
				t.Fatalf("%s: NICK alice: %v, want 433", c.nick, m)
			}
			mustContain(t, "433", m.Trailing(), "registered")
		}
	})
	t.Run("others cannot register with it", func(t *testing.T) {
		c := e.dial(t)
		c.capSASL()
		c.send("CAP END")
		c.send("NICK alice")
		c.send("USER x 0 * :x")
		m := c.expect("433", nil)
		mustContain(t, "433", m.Trailing(), "registered")
		c.register("notalice")
	})
	t.Run("another account cannot log in holding it", func(t *testing.T) {
		c := e.dial(t)
		c.send("NICK alice")
		c.capSASL()
		msgs := c.authenticate(bob, e.ep)
		if got := saslNumerics(msgs); !slices.Equal(got, []string{"902", "904"}) {
			t.Fatalf("login of bob as alice: %v, want [902 904]; %v", got, msgs)
		}
		mustContain(t, "902", find(msgs, "902", nil).Trailing(), "claimed")
		c.send("QUIT") // frees the nick it reserved before registration
		c.expectClosed()
	})
	t.Run("the owner logs in with it", func(t *testing.T) {
		c := e.dial(t)
		c.send("NICK alice")
		c.capSASL()
		c.login(alice)
		c.send("USER alice 0 * :Alice")
		c.readUntilRegistered()
		c.send("QUIT")
		c.expectClosed()
	})
	t.Run("release", func(t *testing.T) {
		mustContain(t, "RELEASE", owner.nickServ("NS RELEASE alice2"), "released")
		mustContain(t, "INFO", anon.nickServ("NS INFO alice2"), "not claimed")
		if m := anon.changeNick("alice2"); m.Command != "NICK" {
			t.Fatalf("NICK alice2 after release: %v", m)
		}
		mustContain(t, "RELEASE of own nick", owner.nickServ("PRIVMSG NickServ :RELEASE"), "released")
		mustContain(t, "INFO", anon.nickServ("NS INFO alice3"), "not claimed")
	})
}

func TestNickClaimsPersistAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "thorchat.db")
	clock := newFakeClock()
	alice := key("alice")
	acct := accountOf(t, alice)

	e := startEnv(t, envOptions{path: path, clock: clock})
	c := e.connect(t, "keeper", alice)
	mustContain(t, "CLAIM", c.nickServ("NS CLAIM"), "is now claimed")
	e.stop()

	e = startEnv(t, envOptions{path: path, clock: clock})
	anon := e.connect(t, "anon", nil)
	mustContain(t, "INFO after restart", anon.nickServ("NS INFO keeper"), "claimed by "+acct)
	if m := anon.changeNick("keeper"); m.Command != "433" {
		t.Fatalf("NICK keeper after restart: %v, want 433", m)
	}
	c = e.dial(t)
	c.send("NICK keeper")
	c.capSASL()
	c.login(alice)
	c.send("USER keeper 0 * :Keeper")
	c.readUntilRegistered()
}
