package main

import (
	"strings"
	"testing"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/store"
)

// TestUserModesKept: the user modes an account sets (not +o, not a guest's)
// are stored and come back at its next login, through a restart: after
// the MOTD for a login during registration, at once for a login after it.
// A guest's modes are kept nowhere: the store holds no record for it, and
// a guest of the same nick after the restart starts with none.
func TestUserModesKept(t *testing.T) {
	alice, bob := newKey(t), newKey(t)
	tc := newTestConfig(t)
	cfgPath := tc.write(t)

	d1 := startDaemon(t, cfgPath)
	a := dial(t, d1.addr, "alice", alice)
	a.expect("376", nil)
	a.send("MODE alice +RgiTw")
	a.expect("MODE", func(m *irc.Message) bool { return m.Name == "alice" && m.Param(1) == "+RgiTw" })
	a.send("MODE alice -gw")
	a.expect("MODE", func(m *irc.Message) bool { return m.Name == "alice" && m.Param(1) == "-gw" })
	g := dial(t, d1.addr, "guest", nil) // a guest's modes are not kept anywhere
	g.expect("376", nil)
	g.send("MODE guest +Rw")
	g.expect("MODE", func(m *irc.Message) bool { return m.Name == "guest" && m.Param(1) == "+Rw" })
	g.send("MODE guest")
	if m := g.expect("221", nil); m.Param(1) != "+Rw" {
		t.Fatalf("the guest's modes before the restart: %v", m)
	}
	d1.stop()
	// on disk: alice alone, with her modes
	db, err := store.Open(t.Context(), tc.dbPath(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.CountAccounts()
	if err != nil || n != 1 {
		t.Fatalf("%d accounts stored (%v), want alice's alone", n, err)
	}
	if acct, err := db.GetAccount(alice.account); err != nil || acct.UModes != "iRT" {
		t.Fatalf("alice's stored modes: %+v, %v", acct, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	d2 := startDaemon(t, cfgPath)
	a2 := dial(t, d2.addr, "alice", alice)
	a2.expect("376", nil)
	a2.expect("MODE", func(m *irc.Message) bool { return m.Name == "alice" && m.Param(1) == "+iRT" })
	a2.send("MODE alice")
	if m := a2.expect("221", nil); m.Param(1) != "+iRT" {
		t.Fatalf("221 after the restart: %v", m)
	}
	// a login after registration gets them at once
	b := dial(t, d2.addr, "bob", nil)
	b.expect("376", nil)
	b.loginNow(alice)
	b.expect("MODE", func(m *irc.Message) bool { return m.Name == "bob" && m.Param(1) == "+iRT" })
	// both count as invisible
	b.send("LUSERS")
	if m := b.expect("251", nil); !strings.Contains(m.Trailing(), "and 2 invisible") {
		t.Fatalf("251: %q", m.Trailing())
	}
	// another account starts with none; a guest with none
	c := dial(t, d2.addr, "carol", bob)
	c.expect("376", nil)
	c.send("MODE carol")
	if m := c.expect("221", nil); m.Param(1) != "+" {
		t.Fatalf("another account's modes: %v", m)
	}
	g2 := dial(t, d2.addr, "guest", nil)
	g2.expect("376", nil)
	g2.send("MODE guest")
	if m := g2.expect("221", nil); m.Param(1) != "+" {
		t.Fatalf("a guest's modes after the restart: %v", m)
	}
}
