package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/accounts"
	"github.com/thorchat/thorchat/store"
)

// mustNotExist fails t if the account of priv was created.
func (e *env) mustNotExist(t testing.TB, acct string) {
	t.Helper()
	if _, err := e.db.GetAccount(acct); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("account %s exists (%v)", acct, err)
	}
}

// TestAccountCreationBudget: first logins have their own server-wide
// bucket; one over it is refused with 904 and a reason and creates
// nothing, while returning logins never consult it.
func TestAccountCreationBudget(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true, acfg: func(c *accounts.Config) { c.CreateRate, c.CreateBurst = 1e-6, 2 }})
	for i := range 2 {
		e.connect(t, fmt.Sprintf("new%d", i), key(fmt.Sprintf("create-%d", i)))
	}
	late := key("create-late")
	c := e.dial(t)
	c.capSASL()
	msgs := c.authenticate(late, e.ep)
	if got := saslNumerics(msgs); !slices.Equal(got, []string{"904"}) {
		t.Fatalf("third new account: %v, want [904]", msgs)
	}
	mustContain(t, "904", find(msgs, "904", nil).Trailing(), "too many new accounts")
	e.mustNotExist(t, accountOf(t, late))
	// returning logins are not held back, however many
	for i := range 5 {
		e.connect(t, fmt.Sprintf("back%d", i), key(fmt.Sprintf("create-%d", i%2)))
	}
}

// TestAlreadyLoggedInCreatesNothing: on a connection logged in as one
// account, a login with a new key is refused with 907 without creating
// its account, and counts as a failed attempt (the third disconnects).
func TestAlreadyLoggedInCreatesNothing(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true})
	c := e.connect(t, "alice", key("alice"))
	for i := range 3 {
		fresh := key(fmt.Sprintf("second-%d", i))
		if got := saslNumerics(c.authenticate(fresh, e.ep)); !slices.Equal(got, []string{"907"}) {
			t.Fatalf("new key on a logged-in connection: %v, want [907]", got)
		}
		if i == 2 {
			if find(c.expectClosed(), "ERROR", nil) == nil {
				t.Fatal("no ERROR after the third 907")
			}
		}
		e.mustNotExist(t, accountOf(t, fresh))
	}
}

// TestUnusedAccountsExpire: accounts that hold nothing expire
// ExpireUnused after their last login (on the fake clock), swept in the
// background; a claimed nick, kept modes or a tag keep an account.
func TestUnusedAccountsExpire(t *testing.T) {
	staff := key("expire-staff")
	e := startEnv(t, envOptions{
		noSync: true,
		policy: accounts.Policy{Staff: map[string]bool{accountOf(t, staff): true}},
		acfg: func(c *accounts.Config) {
			c.ExpireUnused, c.ExpireEvery, c.ExpireBatch = 24*time.Hour, 5*time.Millisecond, 2
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.svc.RunExpiry(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	once, claimer, moder := key("expire-once"), key("expire-claim"), key("expire-modes")
	e.connect(t, "once", once).send("QUIT")
	cl := e.connect(t, "claimer", claimer)
	mustContain(t, "CLAIM", cl.nickServ("PRIVMSG NickServ :CLAIM"), "now claimed")
	md := e.connect(t, "moder", moder)
	md.send("MODE moder +T")
	md.expect("MODE", func(m *irc.Message) bool { return m.Param(1) == "+T" })
	md.collect()
	e.connect(t, "staffer", staff)

	time.Sleep(50 * time.Millisecond) // sweeps before the deadline remove nothing
	if _, err := e.db.GetAccount(accountOf(t, once)); err != nil {
		t.Fatalf("account expired early: %v", err)
	}
	e.clock.Advance(25 * time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := e.db.GetAccount(accountOf(t, once)); errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the unused account did not expire")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // more passes over the whole store
	for _, k := range []string{accountOf(t, claimer), accountOf(t, moder), accountOf(t, staff)} {
		if _, err := e.db.GetAccount(k); err != nil {
			t.Fatalf("account %s that holds something expired: %v", k, err)
		}
	}
}
