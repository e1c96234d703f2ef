package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Bucket names. Composite keys join their parts with a NUL byte, which
// validated names never contain.
var (
	bucketMeta       = []byte("meta")
	bucketAccounts   = []byte("accounts")    // account name -> JSON Account
	bucketNicks      = []byte("nicks")       // folded nick -> account name
	bucketAcctNicks  = []byte("acct_nicks")  // account NUL folded nick -> empty
	bucketChannels   = []byte("channels")    // folded channel -> JSON ChannelRecord
	bucketAccept     = []byte("accept")      // account NUL entry -> empty
	keySchema        = []byte("schema")      // uint64 big-endian
	keyApp           = []byte("application") // appName
	appName          = []byte("thorchat")
	allDataBuckets   = [][]byte{bucketAccounts, bucketNicks, bucketAcctNicks, bucketChannels, bucketAccept}
	errSchemaMissing = fmt.Errorf("%w: meta bucket has no schema version", ErrCorrupt)
)

// migration upgrades the schema from its index to index+1. It runs in its
// own read-write transaction, in which the version is bumped too.
type migration struct {
	name string
	fn   func(tx *bolt.Tx) error
}

// migrations is the ordered schema history; SchemaVersion is its length.
// Append only: never edit or reorder a released migration.
var migrations = []migration{
	{name: "create buckets", fn: func(tx *bolt.Tx) error {
		for _, b := range allDataBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	}},
	{name: "device credentials", fn: func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketCreds); err != nil {
			return fmt.Errorf("create bucket %s: %w", bucketCreds, err)
		}
		return nil
	}},
	{name: "linked keys", fn: func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketKeyAccounts, bucketAcctKeys} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	}},
	{name: "message history", fn: func(tx *bolt.Tx) error {
		for _, b := range historyBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	}},
}

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int { return len(migrations) }

// readSchema returns the stored schema version (0 for a new, empty file).
func readSchema(tx *bolt.Tx) (uint64, error) {
	mb := tx.Bucket(bucketMeta)
	if mb == nil {
		foreign := false
		_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			foreign = true
			return nil
		})
		if foreign {
			return 0, fmt.Errorf("%w: bbolt file without a ThorChat meta bucket", ErrCorrupt)
		}
		return 0, nil
	}
	if app := mb.Get(keyApp); string(app) != string(appName) {
		return 0, fmt.Errorf("%w: meta bucket names application %q", ErrCorrupt, app)
	}
	v := mb.Get(keySchema)
	if v == nil {
		return 0, errSchemaMissing
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: schema version is %d bytes", ErrCorrupt, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func writeSchema(tx *bolt.Tx, v uint64) error {
	mb, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return fmt.Errorf("create meta bucket: %w", err)
	}
	if err := mb.Put(keyApp, appName); err != nil {
		return err
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return mb.Put(keySchema, b[:])
}

// migrate refuses newer schemas and applies pending migrations in order.
func (db *DB) migrate(migs []migration) error {
	var cur uint64
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		cur, err = readSchema(tx)
		return err
	}); err != nil {
		return fmt.Errorf("store: read schema: %w", err)
	}
	known := uint64(len(migs))
	if cur > known {
		return fmt.Errorf("%w (file has schema %d, this binary knows up to %d)", ErrSchemaTooNew, cur, known)
	}
	for v := cur; v < known; v++ {
		m := migs[v]
		err := db.update(func(tx *bolt.Tx) error {
			got, err := readSchema(tx)
			if err != nil {
				return err
			}
			if got != v {
				return fmt.Errorf("schema changed concurrently (%d, expected %d)", got, v)
			}
			if err := m.fn(tx); err != nil {
				return err
			}
			return writeSchema(tx, v+1)
		})
		if err != nil {
			return fmt.Errorf("store: migration %d (%s): %w", v+1, m.name, err)
		}
		db.log.Info("store: schema migrated", "version", v+1, "migration", m.name)
	}
	return nil
}
