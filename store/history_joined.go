package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/thorchat/thorchat/record"
)

// Join times for the "joined" history policy: per account and channel
// target, the first time the account was seen joining it. Stored as
// hist_joined[account NUL target] = unix nanoseconds (8, big-endian). A
// join time only ever moves back (the earliest is kept), so an account
// reads a "joined" channel from its first join on, across reconnects and
// restarts.

// MarkJoined records the join times in marks in one transaction, keeping
// for each account and target the earliest one stored. Invalid marks are
// refused with ErrInvalid before anything is written.
func (db *DB) MarkJoined(marks []record.Joined) error {
	if len(marks) == 0 {
		return nil
	}
	for i, m := range marks {
		if err := checkMarker(m.Account, m.Target); err != nil {
			return fmt.Errorf("store: mark joined: entry %d: %w", i, err)
		}
		if m.Time.Before(minHistoryTime) || m.Time.After(maxHistoryTime) {
			return fmt.Errorf("store: mark joined: entry %d: %w: time out of range", i, ErrInvalid)
		}
	}
	err := db.update(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketHistJoined)
		if err != nil {
			return err
		}
		for _, m := range marks {
			ns := storedTime(m.Time).UnixNano()
			key := pairKey(m.Account, m.Target)
			cur, found, err := markerValue(b.Get(key))
			if err != nil {
				return err
			}
			if found && cur <= ns {
				continue
			}
			if err := b.Put(key, binary.BigEndian.AppendUint64(nil, uint64(ns))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: mark joined: %w", err)
	}
	return nil
}

// JoinedAt returns the first recorded join of account to target; ok is
// false when none is recorded.
func (db *DB) JoinedAt(account, target string) (t time.Time, ok bool, err error) {
	if err := checkMarker(account, target); err != nil {
		return time.Time{}, false, fmt.Errorf("store: joined at: %w", err)
	}
	var ns int64
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketHistJoined)
		if err != nil {
			return err
		}
		ns, ok, err = markerValue(b.Get(pairKey(account, target)))
		return err
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: joined at: %w", err)
	}
	if !ok {
		return time.Time{}, false, nil
	}
	return time.Unix(0, ns).UTC(), true, nil
}
