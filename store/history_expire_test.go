package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestRedactHistory(t *testing.T) {
	path := dbPath(t)
	db := mustOpen(t, path, Options{})
	e := histEntry("#chan", "r1", 1)
	e.Tags = map[string]string{"+draft/reply": "r0"}
	e.Text = "a mistaken paste: secret-token"
	mustAppend(t, db, e, histEntry("#chan", "r2", 2), histEntry("#other", "o1", 3))

	got, err := db.HistoryEntryByID("r1")
	if err != nil || got.Account != acctName(1) || got.Prefix != e.Prefix || got.Target != "#chan" {
		t.Fatalf("HistoryEntryByID before redaction: %+v, %v", got, err)
	}
	for _, tc := range []struct{ target, msgid string }{{"#other", "r1"}, {"#chan", "nope"}, {"#chan", ""}} {
		if _, err := db.RedactHistory(tc.target, tc.msgid); !errors.Is(err, ErrNotFound) {
			t.Fatalf("RedactHistory(%q, %q) = %v, want ErrNotFound", tc.target, tc.msgid, err)
		}
	}
	tomb, err := db.RedactHistory("#chan", "r1")
	if err != nil {
		t.Fatal(err)
	}
	want := HistoryEntry{Target: "#chan", MsgID: "r1", Time: e.Time, Kind: KindPrivmsg, Prefix: e.Prefix,
		Account: e.Account, To: e.To, Redacted: true}
	if !reflect.DeepEqual(tomb, want) {
		t.Fatalf("tombstone %+v\nwant %+v", tomb, want)
	}
	if again, err := db.RedactHistory("#chan", "r1"); err != nil || !reflect.DeepEqual(again, want) {
		t.Fatalf("second redaction: %+v, %v", again, err)
	}
	mustClose(t, db)
	db = mustOpen(t, path, Options{Verify: VerifyFull})
	defer mustClose(t, db)
	es, err := db.HistoryLatest(HistoryQuery{Target: "#chan", Limit: 10}, HistoryRef{})
	if err != nil || len(es) != 2 || !reflect.DeepEqual(es[0], want) || es[1].Text != "hello r2" {
		t.Fatalf("after reopen: %+v, %v", es, err)
	}
}

// expireFixture: #old has entries at 0..9 s, #big 20 entries at 100.., a
// private conversation entries at 0..4 s.
func expireFixture(t *testing.T, db *DB) string {
	t.Helper()
	priv := PrivateTarget(acctName(1), acctName(2))
	var es []HistoryEntry
	for i := range 10 {
		es = append(es, histEntry("#old", fmt.Sprintf("old%02d", i), float64(i)))
	}
	for i := range 20 {
		es = append(es, histEntry("#big", fmt.Sprintf("big%02d", i), float64(100+i)))
	}
	for i := range 5 {
		es = append(es, histEntry(priv, fmt.Sprintf("prv%02d", i), float64(i)))
	}
	mustAppend(t, db, es...)
	return priv
}

func countsOf(t *testing.T, db *DB) map[string]int64 {
	t.Helper()
	cs, err := db.HistoryCounts()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, c := range cs {
		m[c.Target] = c.Messages
	}
	return m
}

func TestExpireHistory(t *testing.T) {
	now := t0.Add(200 * time.Second) // the fake clock
	tests := []struct {
		name                  string
		expire, privateExpire time.Duration
		max, budget           int
		wantDeleted           []int // per call, until more is false
		wantCounts            func(priv string) map[string]int64
		gone                  []string // msgids no longer stored
		kept                  []string
	}{
		{"age, budget 4", 195 * time.Second, 0, 0, 4, []int{4, 1},
			func(p string) map[string]int64 { return map[string]int64{"#old": 5, "#big": 20, p: 5} },
			[]string{"old00", "old04"}, []string{"old05", "prv00", "big00"}},
		{"age removes a whole target", 150 * time.Second, 0, 0, 100, []int{10},
			func(p string) map[string]int64 { return map[string]int64{"#big": 20, p: 5} },
			[]string{"old09"}, []string{"prv00"}},
		{"private expire is separate", 0, 197 * time.Second, 0, 100, []int{3},
			func(p string) map[string]int64 { return map[string]int64{"#old": 10, "#big": 20, p: 2} },
			[]string{"prv02"}, []string{"prv03", "old00"}},
		{"count", 0, 0, 15, 100, []int{5},
			func(p string) map[string]int64 { return map[string]int64{"#old": 10, "#big": 15, p: 5} },
			[]string{"big04"}, []string{"big05", "old00"}},
		{"count and age with a small budget", 195 * time.Second, 198 * time.Second, 8, 3, []int{3, 3, 3, 3, 3, 3, 1},
			func(p string) map[string]int64 { return map[string]int64{"#old": 5, "#big": 8, p: 3} },
			[]string{"old04", "big11", "prv01"}, []string{"old05", "big12", "prv02"}},
		{"nothing to do", time.Hour, time.Hour, 100, 10, []int{0},
			func(p string) map[string]int64 { return map[string]int64{"#old": 10, "#big": 20, p: 5} }, nil, []string{"old00"}},
		{"budget 0", time.Second, time.Second, 1, 0, []int{0},
			func(p string) map[string]int64 { return map[string]int64{"#old": 10, "#big": 20, p: 5} }, nil, []string{"old00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := dbPath(t)
			db := mustOpen(t, path, Options{NoSync: true})
			priv := expireFixture(t, db)
			var got []int
			for i := 0; ; i++ {
				n, more, err := db.ExpireHistory(now, tt.expire, tt.privateExpire, tt.max, tt.budget)
				if err != nil {
					t.Fatal(err)
				}
				if n > max(tt.budget, 0) {
					t.Fatalf("deleted %d with budget %d", n, tt.budget)
				}
				got = append(got, n)
				if !more || i > 50 {
					break
				}
			}
			// A trailing empty call is allowed when the budget ran out exactly.
			if len(got) > 1 && got[len(got)-1] == 0 && !slices.Equal(got, tt.wantDeleted) {
				got = got[:len(got)-1]
			}
			if !slices.Equal(got, tt.wantDeleted) {
				t.Fatalf("deleted per call %v, want %v", got, tt.wantDeleted)
			}
			if c := countsOf(t, db); !reflect.DeepEqual(c, tt.wantCounts(priv)) {
				t.Fatalf("counts %v, want %v", c, tt.wantCounts(priv))
			}
			for _, id := range tt.gone {
				if _, err := db.HistoryEntryByID(id); !errors.Is(err, ErrNotFound) {
					t.Fatalf("%s still indexed: %v", id, err)
				}
			}
			for _, id := range tt.kept {
				if _, err := db.HistoryEntryByID(id); err != nil {
					t.Fatalf("%s: %v", id, err)
				}
			}
			// Targets lists only what is left; the file stays consistent.
			ts, err := db.HistoryTargets(TargetsQuery{Account: acctName(1), Channel: func(string) bool { return true },
				From: t0.Add(-time.Hour), To: t0.Add(time.Hour), Limit: 10})
			if err != nil || len(ts) != len(tt.wantCounts(priv)) {
				t.Fatalf("targets after expiry: %+v, %v", ts, err)
			}
			mustClose(t, db)
			db = mustOpen(t, path, Options{Verify: VerifyFull})
			mustClose(t, db)
		})
	}
}

func TestDropHistory(t *testing.T) {
	db := mustOpen(t, dbPath(t), Options{NoSync: true})
	defer mustClose(t, db)
	priv := expireFixture(t, db)
	var calls []int
	for {
		n, more, err := db.DropHistory("#big", 7)
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, n)
		if !more {
			break
		}
	}
	if !slices.Equal(calls, []int{7, 7, 6}) {
		t.Fatalf("calls %v", calls)
	}
	if c := countsOf(t, db); !reflect.DeepEqual(c, map[string]int64{"#old": 10, priv: 5}) {
		t.Fatalf("counts %v", c)
	}
	if n, more, err := db.DropHistory("#big", 7); n != 0 || more || err != nil {
		t.Fatalf("drop of nothing: %d %v %v", n, more, err)
	}
	if _, err := db.HistoryEntryByID("big19"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("dropped msgid still indexed: %v", err)
	}
	// The target can be written again afterwards.
	mustAppend(t, db, histEntry("#big", "again", 500))
	if c := countsOf(t, db); c["#big"] != 1 {
		t.Fatalf("counts %v", c)
	}
	if _, _, err := db.DropHistory("", 1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid target: %v", err)
	}
}

func TestHistoryDumpCounts(t *testing.T) {
	db := mustOpen(t, dbPath(t), Options{NoSync: true})
	defer mustClose(t, db)
	priv := expireFixture(t, db)
	raw, doc := dump(t, db)
	a, b, _ := ParsePrivateTarget(priv)
	want := []DumpHistory{
		{Channel: "#big", Messages: 20, Last: t0.Add(119 * time.Second)},
		{Channel: "#old", Messages: 10, Last: t0.Add(9 * time.Second)},
		{Accounts: []string{a, b}, Messages: 5, Last: t0.Add(4 * time.Second)},
	}
	slices.SortFunc(doc.History, func(x, y DumpHistory) int { return strings.Compare(x.Channel, y.Channel) })
	slices.SortFunc(want, func(x, y DumpHistory) int { return strings.Compare(x.Channel, y.Channel) })
	if !reflect.DeepEqual(doc.History, want) {
		t.Fatalf("history section %+v\nwant %+v", doc.History, want)
	}
	if bytes.Contains(raw, []byte("hello")) || bytes.Contains(raw, []byte("old01")) {
		t.Fatal("dump contains message text or msgids")
	}
}

func TestHistoryMigrationFromSchema3(t *testing.T) {
	path := dbPath(t)
	old := migrations[:3]
	db, err := openWith(context.Background(), path, Options{}, old)
	if err != nil {
		t.Fatal(err)
	}
	mustLogin(t, db, 1, t0)
	if err := db.PutChannel(sampleChannel("#kept")); err != nil {
		t.Fatal(err)
	}
	mustClose(t, db)
	// The old file has no history buckets.
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = bdb.View(func(tx *bolt.Tx) error {
		if v, _ := readSchema(tx); v != 3 || tx.Bucket(bucketHist) != nil {
			t.Fatalf("old file: schema %d, hist bucket %v", v, tx.Bucket(bucketHist) != nil)
		}
		return nil
	})
	_ = bdb.Close()

	db = mustOpen(t, path, Options{Verify: VerifyFull})
	if _, err := db.GetAccount(acctName(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetChannel("#kept"); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, db, histEntry("#kept", "h1", 1))
	if _, err := db.SetReadMarker(acctName(1), "#kept", t0); err != nil {
		t.Fatal(err)
	}
	mustClose(t, db)
	db = mustOpen(t, path, Options{Verify: VerifyFull})
	defer mustClose(t, db)
	_, doc := dump(t, db)
	if doc.Schema != SchemaVersion() || SchemaVersion() != 4 || len(doc.History) != 1 || doc.History[0].Messages != 1 {
		t.Fatalf("after migration: schema %d (binary %d), history %+v", doc.Schema, SchemaVersion(), doc.History)
	}
}

// TestHistoryDamageRefused: Open's content check finds history whose
// metadata, indexes or newest entries disagree.
func TestHistoryDamageRefused(t *testing.T) {
	src := dbPath(t)
	db := mustOpen(t, src, Options{})
	priv := expireFixture(t, db)
	mustClose(t, db)
	tests := []struct {
		name string
		mut  func(tx *bolt.Tx) error
	}{
		{"newest entry undecodable", func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketHist).Bucket([]byte("#old"))
			k, _ := b.Cursor().Last()
			return b.Put(bytes.Clone(k), []byte{historyFormat, 0, byte(KindPrivmsg), 200})
		}},
		{"msgid index row missing", func(tx *bolt.Tx) error { return tx.Bucket(bucketHistIDs).Delete([]byte("big19")) }},
		{"metadata missing", func(tx *bolt.Tx) error { return tx.Bucket(bucketHistMeta).Delete([]byte("#big")) }},
		{"metadata malformed", func(tx *bolt.Tx) error { return tx.Bucket(bucketHistMeta).Put([]byte("#big"), []byte{1}) }},
		{"channel index row missing", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketHistRecent).Delete(recentKey(t0.Add(9*time.Second).UnixNano(), "#old"))
		}},
		{"private index row missing", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketHistPeer).Delete(peerKey(acctName(2), t0.Add(4*time.Second).UnixNano(), priv))
		}},
		{"stale index row", func(tx *bolt.Tx) error { return tx.Bucket(bucketHistRecent).Put(recentKey(5, "#old"), []byte{}) }},
		{"read marker malformed", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketReadMarkers).Put(pairKey(acctName(1), "#old"), []byte{1, 2})
		}},
	}
	clean, err := readFile(src)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := fmt.Sprintf("%s/d%d.db", t.TempDir(), i)
			if err := writeFile(path, clean); err != nil {
				t.Fatal(err)
			}
			bdb, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := bdb.Update(tt.mut); err != nil {
				t.Fatal(err)
			}
			_ = bdb.Close()
			db, err := Open(context.Background(), path, Options{Verify: VerifyFull})
			if err == nil {
				db.Close()
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
		})
	}
}
