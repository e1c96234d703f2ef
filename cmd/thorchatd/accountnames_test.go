package main

import (
	"strings"
	"testing"
)

// TestNicksCannotBeAccountNames: with nick_len 64, long enough for an
// address, a nick that is a valid account address of the server's prefix
// (in any case) is refused with 432, and "account or nick" arguments that
// are account addresses mean the account, stored in lower case.
func TestNicksCannotBeAccountNames(t *testing.T) {
	tc := newTestConfig(t)
	tc.Limits = "nick_len = 64\n"
	d := startDaemon(t, tc.write(t))
	alice, bob, mallory := newKey(t), newKey(t), newKey(t)
	a := dial(t, d.addr, "alice", alice)
	m := dial(t, d.addr, "mallory", mallory)
	g := dial(t, d.addr, "guest", nil)

	// the same address with its last (checksum) character changed
	repl := "q"
	if strings.HasSuffix(bob.account, "q") {
		repl = "p"
	}
	badSum := bob.account[:len(bob.account)-1] + repl
	cases := []struct {
		name string
		c    *ircClient
		nick string
		ok   bool
	}{
		{"logged-in user takes another's address", m, bob.account, false},
		{"upper case address", m, strings.ToUpper(bob.account), false},
		{"mixed case address", m, "T" + bob.account[1:], false},
		{"guest takes an address", g, alice.account, false},
		{"own address", a, alice.account, false},
		{"bad checksum is just a nick", g, badSum, true},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			cs.c.t = t
			cs.c.send("NICK " + cs.nick)
			msgs := cs.c.collect()
			refused := false
			for _, msg := range msgs {
				if msg.Command == "432" && msg.Param(1) == cs.nick {
					refused = true
				}
			}
			if refused == cs.ok {
				t.Fatalf("NICK %s: refused=%v, want %v; got %v", cs.nick, refused, !cs.ok, msgs)
			}
		})
	}
	a.t, m.t, g.t = t, t, t

	// ChanServ ACCESS: an address in any case is the account, stored lower case
	a.join("#c", "")
	a.expectChanServ("REGISTER #c", "is now registered")
	a.expectChanServ("ACCESS #c ADD "+strings.ToUpper(bob.account)+" op", bob.account+" now has op access on #c.")
	a.expectChanServ("ACCESS #c LIST", "#c "+bob.account+" op")
	b := dial(t, d.addr, "bob", bob)
	b.send("JOIN #c")
	b.expectChanServMode("#c", "+o", "bob")

	// ACCEPT: an address is the account
	a.send("ACCEPT " + strings.ToUpper(bob.account))
	a.send("ACCEPT *")
	msgs := a.collect()
	list := findNumeric(t, msgs, "281")
	if !strings.Contains(list.Trailing(), bob.account) {
		t.Fatalf("ACCEPT list %v, want %s", list, bob.account)
	}
}
