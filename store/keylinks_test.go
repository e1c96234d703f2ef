package store

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func testPub(b byte) []byte {
	p := bytes.Repeat([]byte{b}, PubKeyLen)
	p[0] = 2
	return p
}

// TestKeyLinks walks an account through linking a second key, logging in
// with it, and unlinking the first, with the refusals on the way; then it
// reopens the file with a full check.
func TestKeyLinks(t *testing.T) {
	path := dbPath(t)
	var commits atomic.Int64
	db := mustOpen(t, path, Options{CommitObserver: func(d time.Duration) {
		if d < 0 {
			t.Errorf("negative commit time %v", d)
		}
		commits.Add(1)
	}})
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	oldK, newK, thirdK, fourthK, busyK, bannedK := testPub(1), testPub(2), testPub(3), testPub(4), testPub(5), testPub(6)
	for _, a := range []struct {
		pub  []byte
		name string
	}{{oldK, "thor1old"}, {newK, "thor1new"}, {busyK, "thor1busy"}, {bannedK, "thor1banned"}} {
		if _, _, err := db.LoginKey(a.pub, a.name, now, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.ClaimNick("busy", "thor1busy"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetAccountFlags("thor1banned", FlagBanned, 0); err != nil {
		t.Fatal(err)
	}
	before := commits.Load()
	if before == 0 {
		t.Fatal("CommitObserver never called")
	}
	steps := []struct {
		name string
		fn   func() error
		want error
	}{
		{"old key signs for an unknown account", func() error { return db.LinkKey("thor1nobody", oldK, newK, "thor1new", 3, now) }, ErrNotFound},
		{"old key is not the account's", func() error { return db.LinkKey("thor1old", thirdK, newK, "thor1new", 3, now) }, ErrNotLinked},
		{"account's own key again", func() error { return db.LinkKey("thor1old", oldK, oldK, "thor1old", 3, now) }, ErrKeyInUse},
		{"new key's account holds a nick", func() error { return db.LinkKey("thor1old", oldK, busyK, "thor1busy", 3, now) }, ErrKeyInUse},
		{"new key's account is banned", func() error { return db.LinkKey("thor1old", oldK, bannedK, "thor1banned", 3, now) }, ErrKeyInUse},
		{"link", func() error { return db.LinkKey("thor1old", oldK, newK, "thor1new", 3, now) }, nil},
		{"link twice", func() error { return db.LinkKey("thor1old", oldK, newK, "thor1new", 3, now) }, ErrKeyInUse},
		{"new key's own account cannot link it away", func() error { return db.LinkKey("thor1new", newK, thirdK, "thor1third", 3, now) }, ErrNotLinked},
		{"third by the new key", func() error { return db.LinkKey("thor1old", newK, thirdK, "thor1third", 3, now) }, nil},
		{"full", func() error { return db.LinkKey("thor1old", newK, fourthK, "thor1fourth", 3, now) }, ErrListFull},
		{"a key cannot unlink itself", func() error { return db.UnlinkKey("thor1old", oldK, oldK) }, ErrInvalid},
		{"unlink by a stranger", func() error { return db.UnlinkKey("thor1old", oldK, busyK) }, ErrNotLinked},
		{"unlink the old key", func() error { return db.UnlinkKey("thor1old", oldK, newK) }, nil},
		{"unlink it again", func() error { return db.UnlinkKey("thor1old", oldK, newK) }, ErrNotLinked},
		{"unlink the third", func() error { return db.UnlinkKey("thor1old", thirdK, newK) }, nil},
		{"an unlinked key cannot unlink", func() error { return db.UnlinkKey("thor1old", newK, thirdK) }, ErrNotLinked},
		{"the last key stays", func() error { return db.UnlinkKey("thor1old", newK, newK) }, ErrLastKey},
		{"the only key of an account never linked stays", func() error { return db.UnlinkKey("thor1busy", busyK, busyK) }, ErrLastKey},
	}
	for _, st := range steps {
		err := st.fn()
		if st.want == nil && err != nil || st.want != nil && !errors.Is(err, st.want) {
			t.Fatalf("%s: got %v, want %v", st.name, err, st.want)
		}
	}
	// a fourth key, linked by the last one, takes over
	if err := db.LinkKey("thor1old", newK, fourthK, "thor1fourth", 3, now); err != nil {
		t.Fatal(err)
	}
	if err := db.UnlinkKey("thor1old", newK, fourthK); err != nil {
		t.Fatal(err)
	}
	if err := db.UnlinkKey("thor1old", fourthK, fourthK); !errors.Is(err, ErrLastKey) {
		t.Fatalf("last key: %v", err)
	}
	logins := []struct {
		name     string
		pub      []byte
		ownName  string
		wantAcct string
		want     error
	}{
		{"linked key lands in the old account", fourthK, "thor1fourth", "thor1old", nil},
		{"unlinked original key is refused", oldK, "thor1old", "", ErrKeyUnlinked},
		{"unlinked linked key gets its own account", thirdK, "thor1third", "thor1third", nil},
		{"unrelated key", busyK, "thor1busy", "thor1busy", nil},
	}
	check := func(db *DB) {
		t.Helper()
		for _, l := range logins {
			a, _, err := db.LoginKey(l.pub, l.ownName, now.Add(time.Hour), nil)
			if l.want != nil {
				if !errors.Is(err, l.want) {
					t.Fatalf("%s: err %v, want %v", l.name, err, l.want)
				}
				continue
			}
			if err != nil || a.Name != l.wantAcct {
				t.Fatalf("%s: account %q, %v; want %q", l.name, a.Name, err, l.wantAcct)
			}
		}
		keys, err := db.AccountKeys("thor1old")
		if err != nil || len(keys) != 1 || !bytes.Equal(keys[0].PubKey, fourthK) {
			t.Fatalf("AccountKeys = %+v, %v; want the fourth key only", keys, err)
		}
		keys, err = db.AccountKeys("thor1busy")
		if err != nil || len(keys) != 1 || !bytes.Equal(keys[0].PubKey, busyK) {
			t.Fatalf("AccountKeys(unlinked account) = %+v, %v", keys, err)
		}
	}
	check(db)
	if a, err := db.GetAccount("thor1old"); err != nil || !a.LastSeen.Equal(now.Add(time.Hour)) {
		t.Fatalf("linked login did not record LastSeen: %+v, %v", a, err)
	}
	mustClose(t, db)
	db2 := mustOpen(t, path, Options{Verify: VerifyFull})
	defer db2.Close()
	check(db2)
	var dump bytes.Buffer
	if err := db2.Dump(&dump, DumpOptions{}); err != nil || !bytes.Contains(dump.Bytes(), []byte(`"key_links":[`)) {
		t.Fatalf("Dump: %v\n%s", err, dump.Bytes())
	}
}

// TestKeyLinksMigration: a file written at the previous schema gets the
// key-link buckets.
func TestKeyLinksMigration(t *testing.T) {
	path := dbPath(t)
	old, err := openWith(context.Background(), path, Options{}, migrations[:len(migrations)-1])
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := old.LoginAccount(testPub(1), "thor1old", time.Now()); err != nil {
		t.Fatal(err)
	}
	mustClose(t, old)
	db := mustOpen(t, path, Options{})
	defer db.Close()
	if err := db.LinkKey("thor1old", testPub(1), testPub(2), "thor1new", 8, time.Now()); err != nil {
		t.Fatalf("LinkKey after migration: %v", err)
	}
	if a, _, err := db.LoginKey(testPub(2), "thor1new", time.Now(), nil); err != nil || a.Name != "thor1old" {
		t.Fatalf("LoginKey = %q, %v", a.Name, err)
	}
}
