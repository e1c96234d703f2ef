package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// seedDatabase runs the daemon once so that its store holds an account
// and a registered channel, and returns the file's bytes.
func seedDatabase(t *testing.T) []byte {
	t.Helper()
	tc := newTestConfig(t)
	d := startDaemon(t, tc.write(t))
	a := dial(t, d.addr, "alice", newKey(t))
	a.join("#seed", "")
	a.expectChanServ("REGISTER #seed", "is now registered")
	a.expectSelfEcho("TOPIC #seed :seeded")
	d.stop()
	b, err := os.ReadFile(tc.dbPath())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// usedBytes is how much of the bbolt file b its newest meta page says is in
// use: the high-water page ID times the page size. A meta page is a 16-byte
// page header, then magic, version and page size (4 bytes each), flags (4),
// the root bucket (16), the freelist page (8), the high-water mark (8) and
// the transaction ID (8), little-endian.
func usedBytes(t *testing.T, b []byte) int {
	t.Helper()
	le := binary.LittleEndian
	psize := int(le.Uint32(b[24:28]))
	var hwm, txid uint64
	for _, off := range []int{0, psize} {
		m := b[off+16:]
		if tx := le.Uint64(m[48:56]); tx >= txid {
			hwm, txid = le.Uint64(m[40:48]), tx
		}
	}
	if hwm < 4 || int(hwm)*psize > len(b) {
		t.Fatalf("meta page: high-water mark %d with page size %d in a %d-byte file", hwm, psize, len(b))
	}
	return int(hwm) * psize
}

// TestDamagedDatabaseRefusesToStart: with a truncated, overwritten, empty,
// foreign or too new database file, the daemon exits 1 with a message
// naming the file, opens no listener, and leaves the file byte for byte as
// it was.
func TestDamagedDatabaseRefusesToStart(t *testing.T) {
	good := seedDatabase(t)
	junk := make([]byte, 64<<10)
	rand.Read(junk)
	cases := []struct {
		name   string
		damage func(t *testing.T, path string)
		want   string // in the daemon's error output
	}{
		{"truncated to half of the pages in use", func(t *testing.T, path string) {
			// bbolt sizes the file ahead of its pages in use: cutting the
			// file in half may only drop free space, so cut what is used
			writeBytes(t, path, good[:usedBytes(t, good)/2])
		}, "corrupt"},
		{"truncated to one page", func(t *testing.T, path string) {
			writeBytes(t, path, good[:4096])
		}, "corrupt"},
		{"truncated inside the first page", func(t *testing.T, path string) {
			writeBytes(t, path, good[:100])
		}, "corrupt"},
		{"both meta pages overwritten", func(t *testing.T, path string) {
			b := bytes.Clone(good)
			copy(b[16:4096], junk)
			copy(b[4096+16:8192], junk)
			writeBytes(t, path, b)
		}, "corrupt"},
		{"data pages overwritten", func(t *testing.T, path string) {
			b := bytes.Clone(good)
			copy(b[8192:], junk[:len(b)-8192])
			writeBytes(t, path, b)
		}, "corrupt"},
		{"empty file", func(t *testing.T, path string) {
			writeBytes(t, path, nil)
		}, "empty"},
		{"not a database", func(t *testing.T, path string) {
			writeBytes(t, path, junk)
		}, "corrupt"},
		{"schema newer than the binary", func(t *testing.T, path string) {
			writeBytes(t, path, good)
			db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error {
				var v [8]byte
				binary.BigEndian.PutUint64(v[:], 1000)
				return tx.Bucket([]byte("meta")).Put([]byte("schema"), v[:])
			})
			if cerr := db.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
		}, "newer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc := newTestConfig(t)
			cfgPath := tc.write(t)
			c.damage(t, tc.dbPath())
			before := readBytes(t, tc.dbPath())
			var stdout, stderr syncBuffer
			done := make(chan int, 1)
			go func() { done <- run([]string{"-config", cfgPath}, &stdout, &stderr) }()
			var code int
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the daemon did not give up within 30s")
			}
			msg := stderr.String()
			if code != 1 {
				t.Fatalf("exit code %d, want 1; stderr:\n%s", code, msg)
			}
			if !strings.Contains(msg, tc.dbPath()) || !strings.Contains(msg, c.want) {
				t.Fatalf("the message should name %s and say %q:\n%s", tc.dbPath(), c.want, msg)
			}
			t.Logf("the daemon said: %s", strings.TrimSpace(msg))
			if after := readBytes(t, tc.dbPath()); !bytes.Equal(before, after) {
				t.Fatalf("the file was changed (%d bytes before, %d after)", len(before), len(after))
			}
			if conn, err := net.DialTimeout("tcp", tc.addr(), time.Second); err == nil {
				conn.Close()
				t.Fatal("a listener was opened")
			}
			if _, err := os.Stat(adminSocketPath(tc)); err == nil {
				t.Fatal("the admin socket was created")
			}
		})
	}
}

func adminSocketPath(tc testConfig) string { return filepath.Join(tc.Dir, "admin.sock") }

func writeBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
