package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestOpenFileMode(t *testing.T) {
	path := dbPath(t)
	db := mustOpen(t, path, Options{})
	mustClose(t, db)
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("new file mode %v, %v", st.Mode(), err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, path, Options{})
	mustClose(t, db)
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode not tightened: %v", st.Mode())
	}
}

// setRawSchema rewrites the stored schema version with raw bbolt.
func setRawSchema(t *testing.T, path string, v uint64) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	if err := bdb.Update(func(tx *bolt.Tx) error {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], v)
		return tx.Bucket(bucketMeta).Put(keySchema, b[:])
	}); err != nil {
		t.Fatal(err)
	}
}

func TestSchemaTooNewRefused(t *testing.T) {
	path := dbPath(t)
	db := mustOpen(t, path, Options{})
	mustLogin(t, db, 1, t0)
	mustClose(t, db)
	setRawSchema(t, path, uint64(SchemaVersion()+1))
	before := fileHash(t, path)
	_, err := Open(context.Background(), path, Options{})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("err = %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("schema %d", SchemaVersion()+1)) {
		t.Fatalf("error does not name the versions: %v", err)
	}
	if fileHash(t, path) != before {
		t.Fatal("refused file was modified")
	}
}

func TestMigrationsRunInOrder(t *testing.T) {
	var ran []int
	mk := func(n int, fail bool) migration {
		return migration{name: fmt.Sprint("m", n), fn: func(tx *bolt.Tx) error {
			// Each migration sees the previous one committed.
			if v, err := readSchema(tx); err != nil || v != uint64(n-1) {
				return fmt.Errorf("m%d saw schema %d, %v", n, v, err)
			}
			ran = append(ran, n)
			b, err := tx.CreateBucketIfNotExists([]byte("mig"))
			if err != nil {
				return err
			}
			if err := b.Put([]byte(fmt.Sprint(n)), []byte("x")); err != nil {
				return err
			}
			if fail {
				return errors.New("planned failure")
			}
			return nil
		}}
	}
	base := append([]migration(nil), migrations...)
	n0 := len(base)
	m := func(extra ...migration) []migration { return append(slices.Clone(base), extra...) }
	path := dbPath(t)
	steps := []struct {
		name       string
		migs       []migration
		wantErr    bool
		wantRan    []int
		wantSchema uint64
	}{
		{"fresh file runs all in order", m(mk(n0+1, false), mk(n0+2, false)), false, []int{n0 + 1, n0 + 2}, uint64(n0 + 2)},
		{"reopen runs nothing", m(mk(n0+1, false), mk(n0+2, false)), false, nil, uint64(n0 + 2)},
		{"only pending ones run; a failure stops and rolls back that one",
			m(mk(n0+1, false), mk(n0+2, false), mk(n0+3, false), mk(n0+4, true), mk(n0+5, false)),
			true, []int{n0 + 3, n0 + 4}, uint64(n0 + 3)},
		{"fixed migration resumes", m(mk(n0+1, false), mk(n0+2, false), mk(n0+3, false), mk(n0+4, false)),
			false, []int{n0 + 4}, uint64(n0 + 4)},
	}
	for _, s := range steps {
		ran = nil
		db, err := openWith(context.Background(), path, Options{}, s.migs)
		if (err != nil) != s.wantErr || !slices.Equal(ran, s.wantRan) {
			t.Fatalf("%s: err=%v ran=%v, want err=%v ran=%v", s.name, err, ran, s.wantErr, s.wantRan)
		}
		if err == nil {
			mustClose(t, db)
		}
		bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		var v uint64
		var keys []string
		_ = bdb.View(func(tx *bolt.Tx) error {
			v, _ = readSchema(tx)
			return tx.Bucket([]byte("mig")).ForEach(func(k, _ []byte) error { keys = append(keys, string(k)); return nil })
		})
		_ = bdb.Close()
		if v != s.wantSchema || len(keys) != int(s.wantSchema)-n0 {
			t.Fatalf("%s: schema %d with writes %v, want schema %d", s.name, v, keys, s.wantSchema)
		}
	}
	// The real binary does not know these versions.
	if _, err := Open(context.Background(), path, Options{}); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("real Open of a newer file: %v", err)
	}
}

func TestForeignBoltFileRefused(t *testing.T) {
	path := dbPath(t)
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err }); err != nil {
		t.Fatal(err)
	}
	_ = bdb.Close()
	before := fileHash(t, path)
	if _, err := Open(context.Background(), path, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
	if fileHash(t, path) != before {
		t.Fatal("foreign file modified")
	}
}

// populate fills a database with enough records for a multi-level tree.
func populate(t testing.TB, db *DB, accounts, channels int) {
	t.Helper()
	// Concurrent logins share batched commits; one at a time each waits
	// for the batch delay.
	var wg sync.WaitGroup
	const workers = 64
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := w; i < accounts; i += workers {
				if _, _, err := db.LoginAccount(testKey(i), acctName(i), t0); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for i := 0; i < accounts; i += 7 {
		if err := db.ClaimNick(fmt.Sprintf("nick%d", i), acctName(i)); err != nil {
			t.Fatal(err)
		}
		if err := db.AcceptAdd(acctName(i), "friend", 10); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < channels; i++ {
		if err := db.PutChannel(sampleChannel(fmt.Sprintf("#chan%05d", i))); err != nil {
			t.Fatal(err)
		}
	}
}

// reachablePages returns the tree and freelist pages (id >= 2) of a
// clean file, and its page size.
func reachablePages(t *testing.T, data []byte) (ids []uint64, pageSize int64, hwm uint64) {
	t.Helper()
	r := bytes.NewReader(data)
	meta, err := pickMeta(r, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	v := &verifier{ctx: context.Background(), r: r, size: int64(len(data)), pageSize: int64(meta.pageSize), meta: meta,
		reachable: newBitset(meta.hwm), freed: newBitset(meta.hwm), elems: uint64(len(data))}
	if err := v.checkFreelist(); err != nil {
		t.Fatal(err)
	}
	if err := v.walk(meta.root, 0); err != nil {
		t.Fatal(err)
	}
	for i := uint64(2); i < meta.hwm; i++ {
		if v.reachable.has(i) {
			ids = append(ids, i)
		}
	}
	return ids, int64(meta.pageSize), meta.hwm
}

func TestCorruptFilesRefused(t *testing.T) {
	src := dbPath(t)
	db := mustOpen(t, src, Options{})
	populate(t, db, 400, 60)
	mustClose(t, db)
	clean, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	pages, ps, hwm := reachablePages(t, clean)
	used := int64(hwm) * ps // bbolt preallocates: bytes past this are unused
	if len(pages) < 10 {
		t.Fatalf("test database too small: %d pages", len(pages))
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d bytes, %d reachable pages of %d", seed, len(clean), len(pages), ps)
	rng := rand.New(rand.NewPCG(seed, 1))
	garble := func(b []byte) {
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
	}
	type mutation struct {
		name string
		mut  func([]byte) []byte
	}
	cases := []mutation{
		{"empty file", func([]byte) []byte { return nil }},
		{"100 bytes", func(b []byte) []byte { return b[:100] }},
		{"truncated to 3 pages", func(b []byte) []byte { return b[:3*ps] }},
		{"truncated to half", func(b []byte) []byte { return b[:len(b)/2/int(ps)*int(ps)] }},
		{"last used page cut", func(b []byte) []byte { return b[:used-ps] }},
		{"one byte short of the last used page", func(b []byte) []byte { return b[:used-1] }},
		{"random bytes", func(b []byte) []byte { garble(b); return b }},
		{"both meta pages garbage", func(b []byte) []byte { garble(b[:2*ps]); return b }},
		{"metas kept, everything else random", func(b []byte) []byte { garble(b[2*ps:]); return b }},
		{"account JSON damaged", func(b []byte) []byte {
			i := bytes.Index(b, []byte(`{"name":"`+acctName(123)+`"`))
			if i < 0 {
				t.Fatal("account record not found in file")
			}
			b[i] = 0xff
			return b
		}},
		{"nick owner damaged", func(b []byte) []byte {
			i := bytes.Index(b, []byte("nick147"+acctName(147)))
			if i < 0 {
				t.Fatal("nick record not found in file")
			}
			b[i+len("nick147")+5] ^= 0x20
			return b
		}},
	}
	rng.Shuffle(len(pages), func(i, j int) { pages[i], pages[j] = pages[j], pages[i] })
	for _, id := range pages[:min(len(pages), 30)] {
		off := int64(id) * ps
		cases = append(cases,
			mutation{fmt.Sprintf("page %d all garbage", id), func(b []byte) []byte { garble(b[off : off+ps]); return b }},
			mutation{fmt.Sprintf("page %d body garbage", id), func(b []byte) []byte { garble(b[off+16 : off+ps]); return b }},
		)
	}
	dir := t.TempDir()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := fmt.Sprintf("%s/c%d.db", dir, i)
			if err := os.WriteFile(path, c.mut(bytes.Clone(clean)), 0o600); err != nil {
				t.Fatal(err)
			}
			before := fileHash(t, path)
			db, err := Open(context.Background(), path, Options{LockTimeout: 100 * time.Millisecond})
			if err == nil {
				db.Close()
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
			if fileHash(t, path) != before {
				t.Fatal("refused file was modified")
			}
		})
	}
	// The clean copy still opens, so the cases above failed for their damage.
	db = mustOpen(t, src, Options{})
	mustClose(t, db)
}

func TestLockedInProcess(t *testing.T) {
	path := dbPath(t)
	db := mustOpen(t, path, Options{})
	defer mustClose(t, db)
	start := time.Now()
	_, err := Open(context.Background(), path, Options{LockTimeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "in use by a running daemon") {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	if el := time.Since(start); el < 150*time.Millisecond || el > 2*time.Second {
		t.Fatalf("gave up after %v, want about 200ms", el)
	}
}

func TestLockedByOtherProcess(t *testing.T) {
	path := dbPath(t)
	db := mustOpen(t, path, Options{})
	mustLogin(t, db, 1, t0)
	mustClose(t, db)
	cmd, stdin, out := startHelper(t, "hold", path)
	line, err := out.ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	start := time.Now()
	_, err = Open(context.Background(), path, Options{}) // default 1s timeout
	el := time.Since(start)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	if el < 900*time.Millisecond || el > 3*time.Second {
		t.Fatalf("gave up after %v, want about %v", el, DefaultLockTimeout)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Open(ctx, path, Options{LockTimeout: time.Hour}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Open = %v", err)
	}
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	db = mustOpen(t, path, Options{})
	defer mustClose(t, db)
	if _, err := db.GetAccount(acctName(1)); err != nil {
		t.Fatal(err)
	}
}
