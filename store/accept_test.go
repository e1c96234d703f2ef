package store

import (
	"errors"
	"slices"
	"testing"
)

func TestAcceptList(t *testing.T) {
	path := dbPath(t)
	db := mustOpen(t, path, Options{})
	a, b := acctName(1), acctName(2)
	mustLogin(t, db, 1, t0)
	mustLogin(t, db, 2, t0)
	const max = 3
	steps := []struct {
		name string
		op   func() error
		want error
		list []string // a's list afterwards
	}{
		{"add", func() error { return db.AcceptAdd(a, "loki", max) }, nil, []string{"loki"}},
		{"add duplicate is a no-op", func() error { return db.AcceptAdd(a, "loki", max) }, nil, []string{"loki"}},
		{"add second", func() error { return db.AcceptAdd(a, b, max) }, nil, []string{"loki", b}},
		{"add third", func() error { return db.AcceptAdd(a, "freya", max) }, nil, []string{"freya", "loki", b}},
		{"fourth is refused", func() error { return db.AcceptAdd(a, "odin", max) }, ErrListFull, []string{"freya", "loki", b}},
		{"duplicate at the limit is fine", func() error { return db.AcceptAdd(a, "freya", max) }, nil, []string{"freya", "loki", b}},
		{"zero max", func() error { return db.AcceptAdd(b, "x", 0) }, ErrListFull, []string{"freya", "loki", b}},
		{"unknown account", func() error { return db.AcceptAdd(acctName(9), "x", max) }, ErrNotFound, []string{"freya", "loki", b}},
		{"empty entry", func() error { return db.AcceptAdd(a, "", max) }, ErrInvalid, []string{"freya", "loki", b}},
		{"other account's list is separate", func() error { return db.AcceptAdd(b, "thor", max) }, nil, []string{"freya", "loki", b}},
		{"delete", func() error { return db.AcceptDel(a, "loki") }, nil, []string{"freya", b}},
		{"delete missing", func() error { return db.AcceptDel(a, "loki") }, ErrNotFound, []string{"freya", b}},
		{"room again", func() error { return db.AcceptAdd(a, "odin", max) }, nil, []string{"freya", "odin", b}},
	}
	for _, s := range steps {
		if err := s.op(); !errors.Is(err, s.want) {
			t.Fatalf("%s: err = %v, want %v", s.name, err, s.want)
		}
		if l, err := db.AcceptList(a); err != nil || !slices.Equal(l, s.list) {
			t.Fatalf("%s: list = %v, %v; want %v", s.name, l, err, s.list)
		}
	}
	mustClose(t, db)

	db = mustOpen(t, path, Options{})
	defer mustClose(t, db)
	if l, err := db.AcceptList(a); err != nil || !slices.Equal(l, []string{"freya", "odin", b}) {
		t.Fatalf("after reopen: %v, %v", l, err)
	}
	if err := db.AcceptClear(a); err != nil {
		t.Fatal(err)
	}
	if l, err := db.AcceptList(a); err != nil || len(l) != 0 {
		t.Fatalf("after clear: %v, %v", l, err)
	}
	if l, err := db.AcceptList(b); err != nil || !slices.Equal(l, []string{"thor"}) {
		t.Fatalf("clear touched another account: %v, %v", l, err)
	}
}
