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
		{"truncated to half", func(t *testing.T, path string) {
			writeBytes(t, path, good[:len(good)/2])
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
