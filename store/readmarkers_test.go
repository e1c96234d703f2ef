package store

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/thorchat/thorchat/record"
)

func readFile(path string) ([]byte, error)     { return os.ReadFile(path) }
func writeFile(path string, data []byte) error { return os.WriteFile(path, data, 0o600) }

func TestReadMarkers(t *testing.T) {
	path := dbPath(t)
	db := mustOpen(t, path, Options{})
	a, b := acctName(1), acctName(2)
	priv := PrivateTarget(a, b)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	steps := []struct {
		name    string
		account string
		target  string
		set     time.Time
		want    time.Time
	}{
		{"first marker", a, "#chan", ms(1000), ms(1000)},
		{"forward", a, "#chan", ms(2000), ms(2000)},
		{"backward is ignored", a, "#chan", ms(1500), ms(2000)},
		{"equal is ignored", a, "#chan", ms(2000), ms(2000)},
		{"sub-millisecond is truncated", a, "#chan", ms(3000).Add(999 * time.Microsecond), ms(3000)},
		{"other target is separate", a, "#other", ms(10), ms(10)},
		{"other account is separate", b, "#chan", ms(5), ms(5)},
		{"private conversation", a, priv, ms(7), ms(7)},
	}
	for _, s := range steps {
		got, err := db.SetReadMarker(s.account, s.target, s.set)
		if err != nil || !got.Equal(s.want) {
			t.Fatalf("%s: SetReadMarker = %v, %v; want %v", s.name, got, err, s.want)
		}
	}
	check := func(db *DB) {
		for _, c := range []struct {
			account, target string
			want            time.Time
		}{{a, "#chan", ms(3000)}, {a, "#other", ms(10)}, {b, "#chan", ms(5)}, {a, priv, ms(7)}, {b, priv, time.Time{}}, {b, "#none", time.Time{}}} {
			got, err := db.ReadMarker(c.account, c.target)
			if err != nil || !got.Equal(c.want) {
				t.Fatalf("ReadMarker(%s, %q) = %v, %v; want %v", c.account, c.target, got, err, c.want)
			}
		}
	}
	check(db)
	mustClose(t, db)
	db = mustOpen(t, path, Options{Verify: VerifyFull})
	defer mustClose(t, db)
	check(db)
	if got, err := db.SetReadMarker(a, "#chan", ms(2500)); err != nil || !got.Equal(ms(3000)) {
		t.Fatalf("after reopen the marker still only moves forward: %v, %v", got, err)
	}
	for _, bad := range []struct {
		account, target string
		t               time.Time
	}{{"", "#c", t0}, {a, "", t0}, {a, "#c\x00", t0}, {a, "#c", time.Unix(-1, 0)}} {
		if _, err := db.SetReadMarker(bad.account, bad.target, bad.t); !errors.Is(err, ErrInvalid) {
			t.Fatalf("SetReadMarker(%q, %q, %v) = %v, want ErrInvalid", bad.account, bad.target, bad.t, err)
		}
	}
	if _, err := db.ReadMarker("", "#c"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ReadMarker without account: %v", err)
	}
}

// TestReadMarkersGoWithExpiredAccount: read markers and join times do not
// keep an unused account, and go with it.
func TestReadMarkersGoWithExpiredAccount(t *testing.T) {
	db := mustOpen(t, dbPath(t), Options{NoSync: true})
	defer mustClose(t, db)
	gone, stays := mustLogin(t, db, 1, t0).Name, mustLogin(t, db, 2, t0.Add(48*time.Hour)).Name
	for _, a := range []string{gone, stays} {
		for _, target := range []string{"#a", "#b", PrivateTarget(gone, stays)} {
			if _, err := db.SetReadMarker(a, target, t0); err != nil {
				t.Fatal(err)
			}
		}
	}
	var joins []record.Joined
	for _, a := range []string{gone, stays} {
		for _, target := range []string{"#a", "#b"} {
			joins = append(joins, record.Joined{Account: a, Target: target, Time: t0})
		}
	}
	if err := db.MarkJoined(joins); err != nil {
		t.Fatal(err)
	}
	if n, _, err := db.ExpireAccounts(t0.Add(24*time.Hour), "", 10, nil); err != nil || n != 1 {
		t.Fatalf("ExpireAccounts = %d, %v", n, err)
	}
	for _, target := range []string{"#a", "#b"} {
		if _, ok, err := db.JoinedAt(gone, target); err != nil || ok {
			t.Fatalf("join time of the expired account on %q: %v, %v", target, ok, err)
		}
		if j, ok, err := db.JoinedAt(stays, target); err != nil || !ok || !j.Equal(t0) {
			t.Fatalf("join time of the other account on %q: %v, %v, %v", target, j, ok, err)
		}
	}
	for _, target := range []string{"#a", "#b", PrivateTarget(gone, stays)} {
		if m, err := db.ReadMarker(gone, target); err != nil || !m.IsZero() {
			t.Fatalf("marker of the expired account on %q: %v, %v", target, m, err)
		}
		if m, err := db.ReadMarker(stays, target); err != nil || !m.Equal(t0) {
			t.Fatalf("marker of the other account on %q: %v, %v", target, m, err)
		}
	}
}
