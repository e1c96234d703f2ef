package accounts_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/thorchat/thorchat/sasl"
	"github.com/thorchat/thorchat/store"
)

func TestAccountCreatedOnFirstValidLogin(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true})
	priv := key("newcomer")
	acct := accountOf(t, priv)

	// a failed attempt with the key creates nothing
	c := e.dial(t)
	c.capSASL()
	h := c.toChallenge(priv)
	bad := sasl.Sign(key("someone else"), h.message(c.t, e.ep))
	if got := saslNumerics(c.answer(bad[:])); len(got) != 1 || got[0] != "904" {
		t.Fatalf("bad signature: %v", got)
	}
	if _, err := e.db.GetAccount(acct); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("account after a failed login: %v, want ErrNotFound", err)
	}

	start := e.clock.Now()
	if m := c.login(priv); m.Param(2) != acct {
		t.Fatalf("900 account %q, want %q", m.Param(2), acct)
	}
	a, err := e.db.GetAccount(acct)
	if err != nil {
		t.Fatalf("account after the first login: %v", err)
	}
	if !a.Created.Equal(start) || string(a.PubKey) != string(pub33(priv)) || a.Flags != 0 {
		t.Fatalf("account %+v: want created %v with the login key", a, start)
	}
}

func TestSameKeySameAccountAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "thorchat.db")
	clock := newFakeClock()
	names := []string{"alice", "bob", "carol"}

	e := startEnv(t, envOptions{path: path, clock: clock})
	created := map[string]time.Time{}
	for i, n := range names {
		priv := key(n)
		c := e.connect(t, fmt.Sprintf("%s%d", n, i), priv)
		a, err := e.db.GetAccount(accountOf(t, priv))
		if err != nil {
			t.Fatal(err)
		}
		created[n] = a.Created
		c.send("QUIT")
		c.expectClosed()
		clock.Advance(time.Minute) // accounts get distinct creation times
	}
	e.stop()

	clock.Advance(time.Hour)
	e = startEnv(t, envOptions{path: path, clock: clock})
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			priv := key(n)
			acct := accountOf(t, priv)
			c := e.dial(t)
			c.capSASL()
			if m := c.login(priv); m.Param(2) != acct {
				t.Fatalf("after restart %s logs in as %q, want %q", n, m.Param(2), acct)
			}
			a, err := e.db.GetAccount(acct)
			if err != nil {
				t.Fatal(err)
			}
			if !a.Created.Equal(created[n]) {
				t.Fatalf("Created changed across restart: %v, was %v", a.Created, created[n])
			}
			if !a.LastSeen.Equal(clock.Now()) {
				t.Fatalf("LastSeen %v, want %v", a.LastSeen, clock.Now())
			}
		})
	}
	if n, err := e.db.CountAccounts(); err != nil || n != len(names) {
		t.Fatalf("CountAccounts = %d, %v; want %d", n, err, len(names))
	}
}
