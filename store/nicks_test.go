package store

import (
	"errors"
	"slices"
	"testing"
)

func TestNickClaimRules(t *testing.T) {
	path := dbPath(t)
	db := mustOpen(t, path, Options{MaxNicksPerAccount: 3})
	a, b := acctName(1), acctName(2)
	mustLogin(t, db, 1, t0)
	mustLogin(t, db, 2, t0)
	steps := []struct {
		name    string
		op      func() error
		want    error
		owner   string // expected owner of "thor" afterwards ("" = none)
		nicksOf []string
	}{
		{"claim free nick", func() error { return db.ClaimNick("thor", a) }, nil, a, []string{"thor"}},
		{"reclaim own nick is a no-op", func() error { return db.ClaimNick("thor", a) }, nil, a, []string{"thor"}},
		{"other account cannot claim", func() error { return db.ClaimNick("thor", b) }, ErrNickTaken, a, []string{"thor"}},
		{"unknown account cannot claim", func() error { return db.ClaimNick("odin", acctName(9)) }, ErrNotFound, a, []string{"thor"}},
		{"second nick", func() error { return db.ClaimNick("loki", a) }, nil, a, []string{"loki", "thor"}},
		{"third nick", func() error { return db.ClaimNick("freya", a) }, nil, a, []string{"freya", "loki", "thor"}},
		{"fourth nick over the limit", func() error { return db.ClaimNick("odin", a) }, ErrTooManyNicks, a, []string{"freya", "loki", "thor"}},
		{"non-owner cannot release", func() error { return db.ReleaseNick("thor", b) }, ErrNotOwner, a, []string{"freya", "loki", "thor"}},
		{"release unregistered", func() error { return db.ReleaseNick("odin", a) }, ErrNotFound, a, []string{"freya", "loki", "thor"}},
		{"owner releases", func() error { return db.ReleaseNick("thor", a) }, nil, "", []string{"freya", "loki"}},
		{"now free for others", func() error { return db.ClaimNick("thor", b) }, nil, b, []string{"freya", "loki"}},
		{"released slot is reusable", func() error { return db.ClaimNick("odin", a) }, nil, b, []string{"freya", "loki", "odin"}},
		{"empty nick", func() error { return db.ClaimNick("", a) }, ErrInvalid, b, []string{"freya", "loki", "odin"}},
		{"NUL in nick", func() error { return db.ClaimNick("a\x00b", a) }, ErrInvalid, b, []string{"freya", "loki", "odin"}},
	}
	check := func(stage string, db *DB, owner string, nicks []string) {
		t.Helper()
		got, ok, err := db.NickOwner("thor")
		if err != nil || ok != (owner != "") || got != owner {
			t.Fatalf("%s: NickOwner = %q, %v, %v; want %q", stage, got, ok, err, owner)
		}
		ns, err := db.NicksOf(a)
		if err != nil || !slices.Equal(ns, nicks) {
			t.Fatalf("%s: NicksOf = %v, %v; want %v", stage, ns, err, nicks)
		}
	}
	for _, s := range steps {
		if err := s.op(); !errors.Is(err, s.want) {
			t.Fatalf("%s: err = %v, want %v", s.name, err, s.want)
		}
		check(s.name, db, s.owner, s.nicksOf)
	}
	mustClose(t, db)

	db = mustOpen(t, path, Options{MaxNicksPerAccount: 3})
	defer mustClose(t, db)
	check("after reopen", db, b, []string{"freya", "loki", "odin"})
	if ns, err := db.NicksOf(b); err != nil || !slices.Equal(ns, []string{"thor"}) {
		t.Fatalf("NicksOf(b) = %v, %v", ns, err)
	}
	// An account name that is a prefix of another must not see its nicks.
	if ns, err := db.NicksOf(a[:len(a)-1]); err != nil || len(ns) != 0 {
		t.Fatalf("NicksOf(prefix) = %v, %v", ns, err)
	}
}

func TestAllNicks(t *testing.T) {
	db := mustOpen(t, dbPath(t), Options{})
	a, b := acctName(1), acctName(2)
	mustLogin(t, db, 1, t0)
	mustLogin(t, db, 2, t0)
	for _, c := range []struct{ nick, acct string }{{"thor", a}, {"loki", a}, {"odin", b}} {
		if err := db.ClaimNick(c.nick, c.acct); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.ReleaseNick("loki", a); err != nil {
		t.Fatal(err)
	}
	got, err := db.AllNicks()
	if err != nil || len(got) != 2 || got["thor"] != a || got["odin"] != b {
		t.Fatalf("AllNicks = %v, %v", got, err)
	}
}
