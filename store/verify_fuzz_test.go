package store

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// FuzzVerifyFile: no input may make the verifier panic, hang or return an
// error other than ErrCorrupt. Seeds are a real database and damaged copies.
func FuzzVerifyFile(f *testing.F) {
	path := dbPath(f)
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{PageSize: 1024}) // small pages, small inputs
	if err != nil {
		f.Fatal(err)
	}
	_ = bdb.Close()
	db := mustOpen(f, path, Options{})
	populate(f, db, 12, 2)
	mustClose(f, db)
	clean, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	meta, err := pickMeta(bytes.NewReader(clean), int64(len(clean)))
	if err != nil {
		f.Fatal(err)
	}
	clean = clean[:meta.hwm*uint64(meta.pageSize)] // drop preallocated tail
	f.Add(clean)
	f.Add(clean[:len(clean)/2])
	f.Add(clean[:4096])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		err := verifyFile(context.Background(), bytes.NewReader(data), int64(len(data)), true, slog.New(slog.DiscardHandler))
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}
