package accounts_test

import (
	"strings"
	"testing"

	"gopkg.in/irc.v4"
)

// TestSquattedNickTakenAtLogin (issue 12, item 8) with real signatures
// and the bbolt nick claims: a connection that sent NICK alice without
// USER held alice, claimed by alice's account, and its owner got 433 even
// after logging in. Now the owner's login takes it, the squatter is
// renamed to a guest nick, and a session of the owner left behind can be
// disconnected with NickServ GHOST from a token login (GHOST changes no
// account data, so a credential login may use it), which another account
// cannot do.
func TestSquattedNickTakenAtLogin(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true})
	alice, bob := key("alice"), key("bob")
	acct := accountOf(t, alice)
	left := e.connect(t, "alice", alice) // the session left behind
	mustContain(t, "CLAIM", left.nickServ("NS CLAIM"), "is now claimed by "+acct)
	token := left.newToken("laptop")
	mustContain(t, "NICK away", left.changeNick("alice-old").Command, "NICK")

	sq := e.dial(t)
	sq.nick = "alice"
	sq.send("NICK alice")
	sq.collect()

	o := e.dial(t)
	o.nick = "alice"
	o.capSASL()
	o.send("NICK alice")
	o.readUntil("433")
	o.send("NICK alice_")
	o.send("USER alice 0 * :Alice")
	if m := o.login(alice); m.Param(0) != "alice" || !strings.HasPrefix(m.Param(1), "alice!") {
		t.Fatalf("900 after the login: %v", m)
	}
	o.send("CAP END")
	if m := o.expect("001", nil); m.Param(0) != "alice" {
		t.Fatalf("owner registered as %q, want alice", m.Param(0))
	}
	m := sq.expect("433", nil)
	if m.Param(1) != "alice" || !strings.HasPrefix(m.Param(0), "Guest") {
		t.Fatalf("squatter: %v, want 433 <Guest…> alice", m)
	}

	// GHOST: another account is refused, a token login of the owner is not
	other := e.connect(t, "bob", bob)
	mustContain(t, "GHOST by bob", other.nickServ("NS GHOST alice-old"), "is not yours")
	laptop := e.dial(t)
	laptop.nick = "laptop"
	laptop.capSASL()
	if msgs := laptop.plainLogin(acct, token); msgs[len(msgs)-1].Command != "903" {
		t.Fatalf("token login: %v", msgs)
	}
	laptop.register("laptop")
	mustContain(t, "GHOST", laptop.nickServ("NS GHOST alice-old"), "alice-old has been disconnected")
	msgs := left.expectClosed()
	if m := find(msgs, "ERROR", nil); m == nil || !strings.Contains(m.Trailing(), "Ghosted: disconnected by laptop (NickServ GHOST)") {
		t.Fatalf("ghosted session: %v", msgs)
	}
	// RECOVER from a token login: the nick comes to the caller
	laptop.send("NS RECOVER alice")
	laptop.expect("NICK", func(m *irc.Message) bool { return m.Name == "laptop" && m.Param(0) == "alice" })
	if m := o.expect("NICK", func(m *irc.Message) bool { return m.Name == "alice" }); !strings.HasPrefix(m.Param(0), "Guest") {
		t.Fatalf("recovered from a session of the same account: renamed to %q", m.Param(0))
	}
}
