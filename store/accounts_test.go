package store

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoginAccountLifecycle(t *testing.T) {
	path := dbPath(t)
	db := mustOpen(t, path, Options{})
	steps := []struct {
		name         string
		now          time.Time
		wantCreated  bool
		wantLastSeen time.Time
	}{
		{"first login creates", t0, true, t0},
		{"returning within resolution is read-only", t0.Add(30 * time.Second), false, t0},
		{"returning after resolution updates LastSeen", t0.Add(2 * time.Minute), false, t0.Add(2 * time.Minute)},
		{"clock going backwards never rewinds LastSeen", t0.Add(-time.Hour), false, t0.Add(2 * time.Minute)},
	}
	for _, s := range steps {
		a, created, err := db.LoginAccount(testKey(1), acctName(1), s.now)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if created != s.wantCreated || !a.LastSeen.Equal(s.wantLastSeen) || !a.Created.Equal(t0) {
			t.Fatalf("%s: created=%v lastSeen=%v created-at=%v", s.name, created, a.LastSeen, a.Created)
		}
		got, err := db.GetAccount(acctName(1))
		if err != nil || !got.LastSeen.Equal(s.wantLastSeen) {
			t.Fatalf("%s: GetAccount = %+v, %v", s.name, got, err)
		}
	}
	mustClose(t, db)

	db = mustOpen(t, path, Options{})
	defer mustClose(t, db)
	a, err := db.GetAccount(acctName(1))
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != acctName(1) || !bytes.Equal(a.PubKey, testKey(1)) || !a.Created.Equal(t0) ||
		!a.LastSeen.Equal(t0.Add(2*time.Minute)) || a.Created.Location() != time.UTC {
		t.Fatalf("after reopen: %+v", a)
	}
	if _, created, err := db.LoginAccount(testKey(1), acctName(1), t0.Add(3*time.Minute)); err != nil || created {
		t.Fatalf("login after reopen: created=%v err=%v", created, err)
	}
	if n, err := db.CountAccounts(); err != nil || n != 1 {
		t.Fatalf("CountAccounts = %d, %v", n, err)
	}
}

func TestLoginAccountRejects(t *testing.T) {
	db := mustOpen(t, dbPath(t), Options{})
	defer mustClose(t, db)
	mustLogin(t, db, 1, t0)
	cases := []struct {
		name string
		pub  []byte
		acct string
		want error
	}{
		{"other key for existing name", testKey(2), acctName(1), ErrKeyMismatch},
		{"empty name", testKey(1), "", ErrInvalid},
		{"NUL in name", testKey(1), "thor1\x00x", ErrInvalid},
		{"invalid UTF-8 name", testKey(1), "thor1\xff", ErrInvalid},
		{"name too long", testKey(1), strings.Repeat("a", MaxKeyLen+1), ErrInvalid},
		{"short key", testKey(1)[:32], acctName(3), ErrInvalid},
		{"nil key", nil, acctName(3), ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := db.LoginAccount(c.pub, c.acct, t0.Add(time.Hour))
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	if n, err := db.CountAccounts(); err != nil || n != 1 {
		t.Fatalf("rejected logins created accounts: %d, %v", n, err)
	}
	if _, err := db.GetAccount(acctName(3)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetAccount(missing) = %v", err)
	}
}

func TestSetAccountFlags(t *testing.T) {
	db := mustOpen(t, dbPath(t), Options{})
	defer mustClose(t, db)
	mustLogin(t, db, 1, t0)
	const other = 1 << 5
	steps := []struct {
		set, clear, want uint32
	}{
		{FlagBanned, 0, FlagBanned},
		{other, 0, FlagBanned | other},
		{0, FlagBanned, other},
		{FlagBanned, FlagBanned, other}, // clear wins
		{0, 0, other},
	}
	for i, s := range steps {
		a, err := db.SetAccountFlags(acctName(1), s.set, s.clear)
		if err != nil || a.Flags != s.want {
			t.Fatalf("step %d: flags=%#x err=%v, want %#x", i, a.Flags, err, s.want)
		}
		if g, err := db.GetAccount(acctName(1)); err != nil || g.Flags != s.want {
			t.Fatalf("step %d: stored flags %#x, %v", i, g.Flags, err)
		}
	}
	if _, err := db.SetAccountFlags(acctName(9), FlagBanned, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing account: %v", err)
	}
}

func TestSetUserModes(t *testing.T) {
	path := dbPath(t)
	db := mustOpen(t, path, Options{})
	mustLogin(t, db, 1, t0)
	tests := []struct {
		name  string
		acct  string
		modes string
		want  error
	}{
		{"all", acctName(1), "giRTw", nil},
		{"none", acctName(1), "", nil},
		{"some", acctName(1), "Rg", nil},
		{"operator", acctName(1), "o", ErrInvalid},
		{"twice", acctName(1), "RR", ErrInvalid},
		{"with a sign", acctName(1), "+R", ErrInvalid},
		{"unknown account", acctName(9), "R", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := db.GetAccount(acctName(1))
			if err != nil {
				t.Fatal(err)
			}
			err = db.SetUserModes(tt.acct, tt.modes)
			if !errors.Is(err, tt.want) {
				t.Fatalf("SetUserModes(%q) = %v, want %v", tt.modes, err, tt.want)
			}
			a, err := db.GetAccount(acctName(1))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.want == nil && tt.acct == acctName(1) && a.UModes != tt.modes:
				t.Fatalf("stored %q, want %q", a.UModes, tt.modes)
			case tt.want != nil && a.UModes != before.UModes:
				t.Fatalf("a refused change was stored: %q", a.UModes)
			}
		})
	}
	// kept across a reopen, and by a later login
	mustClose(t, db)
	db = mustOpen(t, path, Options{})
	defer mustClose(t, db)
	if a := mustLogin(t, db, 1, t0.Add(time.Hour)); a.UModes != "Rg" {
		t.Fatalf("after reopen and login: %q", a.UModes)
	}
}

func TestLoginConcurrency(t *testing.T) {
	db := mustOpen(t, dbPath(t), Options{})
	defer mustClose(t, db)
	const (
		distinct = 300
		workers  = 30
		sameName = 40 // goroutines racing to create one account
	)
	var createdDistinct, createdSame atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, distinct+sameName)
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := w; i < distinct; i += workers {
				_, c, err := db.LoginAccount(testKey(i), acctName(i), t0)
				if err != nil {
					errs <- err
				}
				if c {
					createdDistinct.Add(1)
				}
			}
		})
	}
	for range sameName {
		wg.Go(func() {
			a, c, err := db.LoginAccount(testKey(-1), acctName(-1), t0)
			if err != nil || a.Name != acctName(-1) {
				errs <- err
			}
			if c {
				createdSame.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if createdDistinct.Load() != distinct || createdSame.Load() != 1 {
		t.Fatalf("created %d distinct (want %d), %d same (want 1)", createdDistinct.Load(), distinct, createdSame.Load())
	}
	// Returning logins, concurrently, some within and some past the resolution.
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := w; i < distinct; i += workers {
				now := t0.Add(time.Duration(i%2) * 2 * time.Minute)
				a, c, err := db.LoginAccount(testKey(i), acctName(i), now)
				if err != nil || c || !a.LastSeen.Equal(now) {
					t.Errorf("returning %d: created=%v lastSeen=%v err=%v", i, c, a.LastSeen, err)
				}
			}
		})
	}
	wg.Wait()
	if n, err := db.CountAccounts(); err != nil || n != distinct+1 {
		t.Fatalf("CountAccounts = %d, %v", n, err)
	}
}
