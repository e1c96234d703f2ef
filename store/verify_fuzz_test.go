package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FuzzVerifyFile: no input may make the verifier panic, hang or return an
// error other than ErrCorrupt. Seeds are a real database and damaged copies.
// FuzzVerifyWritten holds the other half: good files verify clean.
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

// FuzzVerifyWritten: every file bbolt itself writes, from a fuzzed program
// of puts, deletes, nested buckets, big (overflow) values and commits,
// verifies clean, so a verifier that calls good files corrupt fails here.
// (Its inputs are kept apart from FuzzVerifyFile's: minimizing a pair with
// a whole database in it stalls the fuzzer for a minute at a time.)
func FuzzVerifyWritten(f *testing.F) {
	var many []byte // 60 keys, some values on overflow pages
	for k := range byte(60) {
		many = append(many, 0, k, 2*k)
	}
	nested := []byte{ // three buckets deep, each too big to be inline, then churn
		1, 1, 0, 3, 200, 1, 2, 0, 4, 200, 1, 6, 0, 7, 200, 0, 8, 1, 2, 2,
		0, 5, 3, 4, 3, 5, 1, 9, 5, 1}
	churn := append(append(bytes.Repeat([]byte{0, 9, 255, 4}, 8), bytes.Repeat([]byte{3, 9, 4}, 8)...), 0, 1, 1)
	f.Add(many)
	f.Add(nested)
	f.Add(churn)
	f.Add(append([]byte{1}, churn...)) // odd first byte: no freelist page
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, prog []byte) {
		p := filepath.Join(t.TempDir(), "w.db")
		if err := writeBoltProgram(p, prog); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		st, err := fh.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if err := verifyFile(context.Background(), fh, st.Size(), true, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatalf("a file bbolt wrote (program %x) does not verify: %v", prog, err)
		}
	})
}

// writeBoltProgram writes a bbolt file (1 KiB pages, no fsync) by running
// prog, one operation per byte with its arguments in the following bytes,
// all in one write transaction until a commit starts the next:
//
//	0 k n  put key k, a value of 9*n bytes (n ≥ 114 spills to overflow pages)
//	1 k    create (or enter) bucket k and descend into it
//	2      ascend one bucket (top level: no-op)
//	3 k    delete key k
//	4      commit, start a new transaction at the top level
//	5 k    delete bucket k
//
// The first byte, when odd, turns off freelist sync (no freelist page).
// Bucket nesting stops at 16 (the store's schema is flat; the verifier's
// depth bound is 64) and programs past 512 bytes are cut. Refusals bbolt
// reports for a valid call on the wrong kind of key are skipped.
func writeBoltProgram(path string, prog []byte) error {
	noFreelist := len(prog) > 0 && prog[0]&1 == 1
	if len(prog) > 512 {
		prog = prog[:512]
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{PageSize: 1024, NoSync: true, NoFreelistSync: noFreelist})
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer bdb.Close()
	tx, err := bdb.Begin(true)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	root, err := tx.CreateBucketIfNotExists([]byte("root"))
	if err != nil {
		return fmt.Errorf("root bucket: %w", err)
	}
	stack := []*bolt.Bucket{root}
	arg := func(i *int) byte {
		*i++
		if *i < len(prog) {
			return prog[*i]
		}
		return 0
	}
	skip := func(err error) error {
		switch {
		case err == nil, errors.Is(err, berrors.ErrIncompatibleValue), errors.Is(err, berrors.ErrBucketNotFound):
			return nil
		}
		return err
	}
	for i := 0; i < len(prog); i++ {
		b := stack[len(stack)-1]
		op := prog[i] % 6
		switch op {
		case 0:
			k := arg(&i)
			v := bytes.Repeat([]byte{k}, 9*int(arg(&i)))
			err = skip(b.Put([]byte{'k', k}, v))
		case 1:
			k := arg(&i)
			if len(stack) < 16 {
				var nb *bolt.Bucket
				nb, err = b.CreateBucketIfNotExists([]byte{'k', k})
				if err == nil {
					stack = append(stack, nb)
				}
				err = skip(err)
			}
		case 2:
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case 3:
			err = skip(b.Delete([]byte{'k', arg(&i)}))
		case 4:
			if err = tx.Commit(); err != nil {
				return fmt.Errorf("commit: %w", err)
			}
			if tx, err = bdb.Begin(true); err != nil {
				return fmt.Errorf("begin: %w", err)
			}
			stack = []*bolt.Bucket{tx.Bucket([]byte("root"))}
		case 5:
			err = skip(b.DeleteBucket([]byte{'k', arg(&i)}))
		}
		if err != nil {
			return fmt.Errorf("op %d: %w", op, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return bdb.Close()
}
