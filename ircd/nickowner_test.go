package ircd

import (
	"strings"
	"testing"

	"gopkg.in/irc.v4"
)

// nsNotice returns the text of the first NickServ notice in msgs ("" if
// none).
func nsNotice(msgs []*irc.Message) string {
	if m := find(msgs, "NOTICE", func(m *irc.Message) bool { return m.Name == nickServ }); m != nil {
		return m.Trailing()
	}
	return ""
}

// claimNick records folded as claimed by account in the test backend's
// nick table (as NickServ CLAIM or the store at start would).
func (a *testAuth) claimNick(folded, account string) {
	a.mu.Lock()
	a.owners[folded] = account
	a.mu.Unlock()
}

// squatter connects and sends NICK nick without USER: it holds the nick
// before registration.
func (ts *testServer) squatter(nick string) *testClient {
	c := ts.dial()
	c.nick = nick
	c.send("NICK " + nick)
	c.sync()
	return c
}

// loginFirst connects nick, logs it in as account before registration
// (as clients do, so a claimed nick is its own) and registers.
func (ts *testServer) loginFirst(nick, account string) *testClient {
	ts.t.Helper()
	c := ts.dial()
	c.nick = nick
	c.send("CAP LS 302")
	c.send("CAP REQ :sasl")
	c.expect("CAP", func(m *irc.Message) bool { return m.Param(1) == "ACK" })
	c.send("NICK " + nick)
	c.send("USER " + nick + " 0 * :" + nick)
	c.login(account)
	c.send("CAP END")
	if m := c.expectNumeric("001"); m.Param(0) != nick {
		ts.t.Fatalf("registered as %q, want %q", m.Param(0), nick)
	}
	c.expectEndOfMOTD()
	return c
}

// TestOwnerTakesClaimedNickAtLogin (issue 12, item 8): a connection that
// sent NICK without USER held a claimed nick, and its owner got 433 even
// after logging in. Now the owner's refused NICK is remembered until it
// logs in; the login gives it the nick and the squatter is renamed to a
// guest nick (433 for the nick it lost, a NickServ notice) and registers
// under that.
func TestOwnerTakesClaimedNickAtLogin(t *testing.T) {
	a := newTestAuth()
	a.claimNick("alice", "acct-a")
	ts := startServer(t, withAuth(a))
	sq := ts.squatter("alice")

	o := ts.dial()
	o.nick = "alice"
	o.send("CAP LS 302")
	o.send("CAP REQ :sasl")
	o.expect("CAP", func(m *irc.Message) bool { return m.Param(1) == "ACK" })
	o.send("NICK alice")
	o.expectNumeric("433") // held; the login will take it
	o.send("NICK alice_")  // what clients do on 433
	o.send("USER alice 0 * :Alice")
	msgs := o.login("acct-a")
	if m := find(msgs, "900", nil); m == nil || m.Param(0) != "alice" || !strings.HasPrefix(m.Param(1), "alice!") {
		t.Fatalf("900 after the login: %v", msgs)
	}
	o.send("CAP END")
	if m := o.expectNumeric("001"); m.Param(0) != "alice" {
		t.Fatalf("owner registered as %q, want alice", m.Param(0))
	}

	m := sq.expectNumeric("433")
	guest := m.Param(0)
	if m.Param(1) != "alice" || !strings.HasPrefix(guest, "Guest") {
		t.Fatalf("squatter: %v, want 433 <Guest…> alice", m)
	}
	n := sq.expect("NOTICE", func(m *irc.Message) bool { return m.Name == nickServ })
	if !strings.Contains(n.Trailing(), "acct-a") || !strings.Contains(n.Trailing(), guest) {
		t.Fatalf("squatter's notice: %q", n.Trailing())
	}
	sq.send("USER s 0 * :s")
	if m := sq.expectNumeric("001"); m.Param(0) != guest {
		t.Fatalf("squatter registered as %q, want %q", m.Param(0), guest)
	}
	o.send("WHOIS alice")
	if m := o.expectNumeric("330"); m.Param(2) != "acct-a" {
		t.Fatalf("alice is %v", m)
	}
}

// TestClaimedNickNotTakenByOthers: a NICK refused before the login does
// not take the nick for a login to another account, nor for a connection
// that does not log in.
func TestClaimedNickNotTakenByOthers(t *testing.T) {
	a := newTestAuth()
	a.claimNick("alice", "acct-a")
	ts := startServer(t, withAuth(a))
	holder := ts.squatter("alice")

	c := ts.dial()
	c.nick = "mallory"
	c.send("CAP LS 302")
	c.send("CAP REQ :sasl")
	c.expect("CAP", func(m *irc.Message) bool { return m.Param(1) == "ACK" })
	c.send("NICK alice")
	c.expectNumeric("433")
	c.send("NICK mallory")
	c.send("USER m 0 * :m")
	c.login("acct-m")
	c.send("CAP END")
	if m := c.expectNumeric("001"); m.Param(0) != "mallory" {
		t.Fatalf("registered as %q, want mallory", m.Param(0))
	}
	if msgs := holder.collect(); len(msgs) != 0 {
		t.Fatalf("the holder was disturbed by another account's login: %v", msgs)
	}
	// a registered user of another account cannot take it with NICK
	if m := c.expectCode("NICK alice", "433"); m.Param(1) != "alice" {
		t.Fatalf("NICK alice: %v", m)
	}
}

// TestOwnerTakesClaimedNickWithNick: a registered user holding a nick that
// is (now) claimed by another account loses it when the owner, logged in,
// asks for it with NICK; the holder and its channel peers see it renamed
// to a guest nick.
func TestOwnerTakesClaimedNickWithNick(t *testing.T) {
	a := newTestAuth()
	ts := startServer(t, withAuth(a))
	sq := ts.connect("bob")
	peer := ts.connect("peer")
	sq.join("#c")
	peer.join("#c")
	a.claimNick("bob", "acct-b") // claimed while sq holds it

	o := ts.connect("owner", "sasl")
	o.login("acct-b")
	o.send("NICK bob")
	o.expect("NICK", func(m *irc.Message) bool { return m.Name == "owner" && m.Param(0) == "bob" })

	m := sq.expect("NICK", func(m *irc.Message) bool { return m.Name == "bob" })
	guest := m.Param(0)
	if !strings.HasPrefix(guest, "Guest") {
		t.Fatalf("squatter renamed to %q", guest)
	}
	if n := sq.expect("NOTICE", func(m *irc.Message) bool { return m.Name == nickServ }); !strings.Contains(n.Trailing(), "acct-b") {
		t.Fatalf("squatter's notice: %q", n.Trailing())
	}
	peer.expect("NICK", func(m *irc.Message) bool { return m.Name == "bob" && m.Param(0) == guest })
}

// TestGhostAndRecover: NickServ GHOST disconnects a session the owner
// left behind, RECOVER renames whoever holds the nick and gives it to the
// caller; both need a login to the account the nick or the session
// belongs to, and refuse everyone else with a notice.
func TestGhostAndRecover(t *testing.T) {
	a := newTestAuth()
	a.claimNick("alice", "acct-a")
	ts := startServer(t, withAuth(a))

	// sessions the owner left behind, and others
	old := ts.loginFirst("alice", "acct-a")
	oldUnclaimed := ts.loginFirst("alicealt", "acct-a")
	me := ts.loginFirst("alice2", "acct-a")
	guest := ts.connect("guest")
	other := ts.loginFirst("mallory", "acct-m")
	squat := ts.squatter("mallory2") // not claimed: nobody's to take

	refusals := []struct {
		name string
		c    *testClient
		line string
		want string
	}{
		{"guest GHOST", guest, "NS GHOST alice", "You must be logged in"},
		{"guest RECOVER", guest, "NS RECOVER alice", "You must be logged in"},
		{"other account GHOST", other, "NS GHOST alice", "is not yours"},
		{"other account RECOVER", other, "NS RECOVER alice", "is not yours"},
		{"another account's session", me, "NS GHOST mallory", "is not yours"},
		{"an unclaimed nick held by a guest", me, "NS RECOVER mallory2", "is not yours"},
		{"no nick", me, "NS GHOST", "Syntax: GHOST <nick>"},
		{"oneself", me, "NS RECOVER alice2", "You are alice2 already"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.send(tt.line)
			if got := nsNotice(tt.c.collect()); !strings.Contains(got, tt.want) {
				t.Fatalf("%s: %q, want %q", tt.line, got, tt.want)
			}
		})
	}
	if msgs := squat.collect(); len(msgs) != 0 {
		t.Fatalf("refused commands touched the holder: %v", msgs)
	}

	t.Run("GHOST", func(t *testing.T) {
		me.send("NS GHOST alice")
		if got := nsNotice(me.collect()); !strings.Contains(got, "alice has been disconnected") {
			t.Fatalf("GHOST alice: %q", got)
		}
		old.expectErrorClose("Closing Link: Ghosted: disconnected by alice2 (NickServ GHOST)")
		me.send("NS GHOST alice")
		if got := nsNotice(me.collect()); !strings.Contains(got, "alice is not online") {
			t.Fatalf("GHOST of a nick nobody uses: %q", got)
		}
	})
	t.Run("RECOVER a free claimed nick", func(t *testing.T) {
		me.send("NS RECOVER alice")
		me.expect("NICK", func(m *irc.Message) bool { return m.Name == "alice2" && m.Param(0) == "alice" })
		me.nick = "alice"
		me.send("NICK alice2")
		me.expect("NICK", nil)
		me.nick = "alice2"
	})
	t.Run("RECOVER from a session of the account", func(t *testing.T) {
		me.send("NS RECOVER alicealt") // not claimed, but its user is logged in to acct-a
		m := oldUnclaimed.expect("NICK", func(m *irc.Message) bool { return m.Name == "alicealt" })
		if !strings.HasPrefix(m.Param(0), "Guest") {
			t.Fatalf("renamed to %q", m.Param(0))
		}
		me.expect("NICK", func(m *irc.Message) bool { return m.Name == "alice2" && m.Param(0) == "alicealt" })
		me.nick = "alicealt"
	})
	t.Run("RECOVER from a squatter", func(t *testing.T) {
		sq := ts.squatter("alice")
		me.send("NS RECOVER alice")
		me.expect("NICK", func(m *irc.Message) bool { return m.Param(0) == "alice" })
		if m := sq.expectNumeric("433"); m.Param(1) != "alice" || !strings.HasPrefix(m.Param(0), "Guest") {
			t.Fatalf("squatter: %v", m)
		}
	})
}
