package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DB is an open ThorChat database. It is safe for concurrent use.
type DB struct {
	bolt *bolt.DB
	opts Options
	log  *slog.Logger
}

// Open opens (creating if missing, mode 0600) the database at path, checks
// its structure and schema, and runs pending migrations.
//
// It fails with ErrLocked if another process holds the file (after
// Options.LockTimeout), ErrCorrupt if the file is damaged, truncated or not
// a ThorChat database, and ErrSchemaTooNew if a newer binary wrote it. In
// those cases the file is not modified. ctx bounds the wait for the lock and
// the verification.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	return openWith(ctx, path, opts, migrations)
}

func openWith(ctx context.Context, path string, opts Options, migs []migration) (*DB, error) {
	opts = opts.withDefaults()
	start := time.Now()
	full, err := precheck(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	remaining := opts.LockTimeout - time.Since(start)
	if remaining < 50*time.Millisecond {
		remaining = 50 * time.Millisecond
	}
	bdb, err := openBolt(path, remaining, opts.NoSync)
	if err != nil {
		return nil, err
	}
	db := &DB{bolt: bdb, opts: opts, log: opts.Logger}
	if err := db.migrate(migs); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	if full {
		if err := db.checkContent(); err != nil {
			_ = bdb.Close()
			return nil, fmt.Errorf("store: %s: %w", path, err)
		}
	}
	db.log.Debug("store: opened", "took", time.Since(start))
	return db, nil
}

// precheck verifies an existing file under a shared lock, before bbolt maps
// it, and tightens its permissions to 0600. full reports whether the whole
// file was walked (and so whether records should be checked too).
func precheck(ctx context.Context, path string, opts Options) (full bool, err error) {
	f, err := openShared(ctx, path, opts.LockTimeout)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // bbolt creates it
	}
	if err != nil {
		if errors.Is(err, ErrLocked) || ctx.Err() != nil {
			return false, err
		}
		return false, fmt.Errorf("store: open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("store: stat %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return false, fmt.Errorf("%w: %s is not a regular file", ErrInvalid, path)
	}
	if st.Size() == 0 {
		// bbolt would silently initialise it; an empty file where a
		// database is expected more likely means lost data.
		return false, corruptf("%s exists but is empty (remove it to start a new database)", path)
	}
	full = opts.Verify == VerifyFull || opts.Verify == VerifyAuto && st.Size() <= opts.VerifyMaxBytes
	if err := verifyFile(ctx, f, st.Size(), full, opts.Logger); err != nil {
		return false, fmt.Errorf("store: %s: %w", path, err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		opts.Logger.Warn("store: database file was readable by others; setting mode 0600", "mode", perm.String())
		if err := os.Chmod(path, 0o600); err != nil {
			return false, fmt.Errorf("store: chmod %s: %w", path, err)
		}
	}
	return full, nil
}

// openBolt opens the verified file with bbolt. bbolt panics on some damage
// the verifier cannot see; such a panic, or a memory fault in this
// goroutine, is turned into ErrCorrupt.
func openBolt(path string, lockTimeout time.Duration, noSync bool) (bdb *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if bdb != nil {
				_ = bdb.Close()
			}
			bdb, err = nil, corruptf("bbolt failed opening %s: %v", path, r)
		}
	}()
	bdb, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      lockTimeout,
		NoSync:       noSync,
		FreelistType: bolt.FreelistMapType,
	})
	switch {
	case err == nil:
		return bdb, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("%w (waited %s)", ErrLocked, lockTimeout)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch):
		return nil, corruptf("bbolt refused %s: %v", path, err)
	default:
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
}

// Close closes the database, waiting for running transactions.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Path returns the database file path.
func (db *DB) Path() string { return db.bolt.Path() }
