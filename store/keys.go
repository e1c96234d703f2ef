package store

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// checkKey validates a name used as (part of) a key: non-empty, at most
// MaxKeyLen bytes, valid UTF-8 (records are JSON, which would rewrite
// invalid bytes and break the key/record match), no NUL byte (the
// composite-key separator).
func checkKey(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	case len(s) > MaxKeyLen:
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, what, MaxKeyLen)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w: %s contains a NUL byte", ErrInvalid, what)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, what)
	}
	return nil
}

// pairKey builds the composite key owner NUL item.
func pairKey(owner, item string) []byte {
	k := make([]byte, 0, len(owner)+1+len(item))
	k = append(k, owner...)
	k = append(k, 0)
	return append(k, item...)
}

// scanPairs calls fn with the item part of every key under owner, in key
// order, stopping early when fn returns false.
func scanPairs(b *bolt.Bucket, owner string, fn func(item []byte) bool) {
	prefix := pairKey(owner, "")
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if !fn(k[len(prefix):]) {
			return
		}
	}
}

// countPairs counts the items under owner, stopping at limit.
func countPairs(b *bolt.Bucket, owner string, limit int) int {
	n := 0
	scanPairs(b, owner, func([]byte) bool {
		n++
		return n < limit
	})
	return n
}

// listPairs returns the items under owner, in key order.
func listPairs(b *bolt.Bucket, owner string) []string {
	var out []string
	scanPairs(b, owner, func(item []byte) bool {
		out = append(out, string(item))
		return true
	})
	return out
}

// bucket returns a bucket created by the migrations; its absence means the
// file was damaged after Open checked the schema.
func bucket(tx *bolt.Tx, name []byte) (*bolt.Bucket, error) {
	b := tx.Bucket(name)
	if b == nil {
		return nil, fmt.Errorf("%w: bucket %s missing", ErrCorrupt, name)
	}
	return b, nil
}
