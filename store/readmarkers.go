package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Read markers (draft/read-marker): per account and target, the time up to
// which the account has read. Stored as read_markers[account NUL target] =
// unix nanoseconds (8, big-endian), millisecond precision. A marker only
// ever moves forward.

// MaxReadMarkers bounds the read markers of one account: a marker for a
// further target is refused with ErrListFull.
const MaxReadMarkers = 4096

func checkMarker(account, target string) error {
	if err := checkKey("account", account); err != nil {
		return err
	}
	return checkTarget(target)
}

// SetReadMarker moves the read marker of account on target to t if t is
// later than the stored one, and returns the marker in effect afterwards
// (the stored one when t is not later): the value to send to the
// account's sessions.
func (db *DB) SetReadMarker(account, target string, t time.Time) (time.Time, error) {
	if err := checkMarker(account, target); err != nil {
		return time.Time{}, fmt.Errorf("store: set read marker: %w", err)
	}
	if t.Before(minHistoryTime) || t.After(maxHistoryTime) {
		return time.Time{}, fmt.Errorf("store: set read marker: %w: time %s out of range", ErrInvalid, t)
	}
	ns := storedTime(t).UnixNano()
	var eff int64
	err := db.batch(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketReadMarkers)
		if err != nil {
			return err
		}
		key := pairKey(account, target)
		cur, found, err := markerValue(b.Get(key))
		if err != nil {
			return err
		}
		if found && cur >= ns {
			eff = cur
			return nil
		}
		if !found && countPairs(b, account, MaxReadMarkers) >= MaxReadMarkers {
			return fmt.Errorf("%w: an account keeps at most %d read markers", ErrListFull, MaxReadMarkers)
		}
		eff = ns
		return b.Put(key, binary.BigEndian.AppendUint64(nil, uint64(ns)))
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("store: set read marker: %w", err)
	}
	return time.Unix(0, eff).UTC(), nil
}

// ReadMarker returns the read marker of account on target, or the zero
// time when none is set (sent as "*").
func (db *DB) ReadMarker(account, target string) (time.Time, error) {
	if err := checkMarker(account, target); err != nil {
		return time.Time{}, fmt.Errorf("store: read marker: %w", err)
	}
	var ns int64
	var found bool
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketReadMarkers)
		if err != nil {
			return err
		}
		ns, found, err = markerValue(b.Get(pairKey(account, target)))
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("store: read marker: %w", err)
	}
	if !found {
		return time.Time{}, nil
	}
	return time.Unix(0, ns).UTC(), nil
}

func markerValue(v []byte) (int64, bool, error) {
	if v == nil {
		return 0, false, nil
	}
	if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) < 0 {
		return 0, false, fmt.Errorf("%w: read marker is malformed", ErrCorrupt)
	}
	return int64(binary.BigEndian.Uint64(v)), true, nil
}

// deleteReadMarkers removes every read marker and every recorded join
// time (hist_joined) of account: an expired account's name may be taken
// by a new account, which must not inherit them.
func deleteReadMarkers(tx *bolt.Tx, account string) error {
	for _, name := range [][]byte{bucketReadMarkers, bucketHistJoined} {
		if err := deletePairs(tx, name, account); err != nil {
			return err
		}
	}
	return nil
}

// deletePairs removes every account NUL item row of account in bucket name.
func deletePairs(tx *bolt.Tx, name []byte, account string) error {
	b, err := bucket(tx, name)
	if err != nil {
		return err
	}
	var keys [][]byte
	scanPairs(b, account, func(item []byte) bool {
		keys = append(keys, pairKey(account, string(item)))
		return true
	})
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
