package store

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// update runs fn in a read-write transaction and reports how long the
// transaction took, commit and fsync included, to Options.CommitObserver.
func (db *DB) update(fn func(*bolt.Tx) error) error {
	start := time.Now()
	err := db.bolt.Update(fn)
	db.observeCommit(start)
	return err
}

// batch is update through bbolt's Batch: concurrent callers share one
// commit, and each observes its own wait for it.
func (db *DB) batch(fn func(*bolt.Tx) error) error {
	start := time.Now()
	err := db.bolt.Batch(fn)
	db.observeCommit(start)
	return err
}

func (db *DB) observeCommit(start time.Time) {
	if f := db.opts.CommitObserver; f != nil {
		f(time.Since(start))
	}
}
