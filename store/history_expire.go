package store

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// RedactHistory removes the text, params and client tags of the entry
// msgid in target and marks it redacted (draft/message-redaction), keeping
// a tombstone (msgid, time, kind, sender) so that history shows that a
// message was there. It returns the tombstone. ErrNotFound if msgid is not
// in target's history. Redacting a tombstone again changes nothing.
// Permission is the caller's to check first (HistoryEntryByID).
//
// The text is gone from everything the store answers, but bbolt never
// rewrites a page in place: the page that held it is freed, not zeroed,
// and its bytes stay in the file (and in any backup, which copies free
// pages too) until a later write reuses the page.
func (db *DB) RedactHistory(target, msgid string) (HistoryEntry, error) {
	var e HistoryEntry
	err := db.update(func(tx *bolt.Tx) error {
		h, err := openHistTx(tx)
		if err != nil {
			return err
		}
		var key []byte
		e, key, err = h.byID(msgid)
		if err != nil {
			return err
		}
		if e.Target != target {
			return ErrNotFound
		}
		if e.Redacted {
			return nil
		}
		e.Redacted, e.Text, e.Tags, e.Params = true, "", nil, nil
		return h.hist.Bucket([]byte(target)).Put(key, encodeHistory(&e))
	})
	if err != nil {
		return HistoryEntry{}, fmt.Errorf("store: redact %q: %w", msgid, err)
	}
	return e, nil
}

// ExpireHistory deletes, oldest first, the entries older than expire
// (privateExpire for private conversations) before now and those beyond
// the newest maxPerTarget of each target, at most budget of them in one
// short write transaction: the caller calls it again while more is true,
// so appends never wait long. expire, privateExpire or maxPerTarget <= 0
// turn that limit off. The msgid index, the metadata and the by-time
// indexes stay consistent; a target left empty disappears.
//
// Candidates are chosen in a read transaction (one metadata row and one
// cursor seek per target) and checked again before they are deleted.
func (db *DB) ExpireHistory(now time.Time, expire, privateExpire time.Duration, maxPerTarget, budget int) (deleted int, more bool, err error) {
	if budget <= 0 {
		return 0, false, nil
	}
	cutoff := func(target string) int64 {
		d := expire
		if _, _, ok := ParsePrivateTarget(target); ok {
			d = privateExpire
		}
		if d <= 0 {
			return 0
		}
		return timeNanos(now.Add(-d))
	}
	// expirable counts how many of the oldest entries of st qualify, up to max.
	expirable := func(st *histTarget, max int) int {
		excess := 0
		if maxPerTarget > 0 && st.count > int64(maxPerTarget) {
			excess = int(min(st.count-int64(maxPerTarget), int64(max)))
		}
		cut := cutoff(st.name)
		n := 0
		c := st.b.Cursor()
		for k, _ := c.First(); k != nil && n < max; k, _ = c.Next() {
			if n >= excess && (len(k) != histKeyLen || timeNanos(keyTime(k)) >= cut) {
				break
			}
			n++
		}
		return n
	}
	type planned struct {
		target string
		n      int
	}
	var plan []planned
	err = db.bolt.View(func(tx *bolt.Tx) error {
		h, err := openHistTx(tx)
		if err != nil {
			return err
		}
		left := budget
		c := h.meta.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if left == 0 {
				more = true
				return nil
			}
			st, err := h.target(string(k), false)
			if err != nil {
				return err
			}
			if n := expirable(st, left); n > 0 {
				plan = append(plan, planned{st.name, n})
				left -= n
			}
		}
		return nil
	})
	if err != nil || len(plan) == 0 {
		return 0, false, wrapHistExpire(err)
	}
	err = db.update(func(tx *bolt.Tx) error {
		h, err := openHistTx(tx)
		if err != nil {
			return err
		}
		deleted = 0
		for _, p := range plan {
			st, err := h.target(p.target, false)
			if err != nil {
				return err
			}
			if st.b == nil {
				continue
			}
			n, err := h.deleteOldest(st, expirable(st, p.n))
			deleted += n
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, false, wrapHistExpire(err)
	}
	return deleted, more || deleted == budget, nil
}

func wrapHistExpire(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: expire history: %w", err)
}

// DropHistory deletes up to budget of the oldest entries of target (all of
// it, over as many calls as it takes while more is true), for a channel
// whose history policy became "off". A target without history gives 0,
// false.
func (db *DB) DropHistory(target string, budget int) (deleted int, more bool, err error) {
	if err := checkTarget(target); err != nil {
		return 0, false, fmt.Errorf("store: drop history: %w", err)
	}
	if budget <= 0 {
		return 0, false, nil
	}
	err = db.update(func(tx *bolt.Tx) error {
		h, err := openHistTx(tx)
		if err != nil {
			return err
		}
		st, err := h.target(target, false)
		if err != nil || st.b == nil {
			return err
		}
		deleted, err = h.deleteOldest(st, budget)
		more = err == nil && st.count > 0
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("store: drop history %q: %w", target, err)
	}
	return deleted, more, nil
}

// deleteOldest deletes the n oldest entries of st with their msgid index
// rows and updates its metadata (removing the target when it empties).
func (h histTx) deleteOldest(st *histTarget, n int) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	var keys, ids [][]byte
	c := st.b.Cursor()
	for k, v := c.First(); k != nil && len(keys) < n; k, v = c.Next() {
		id, err := histMsgID(v)
		if err != nil {
			return 0, fmt.Errorf("history of %q: %w", st.name, err)
		}
		keys = append(keys, bytes.Clone(k))
		ids = append(ids, bytes.Clone(id))
	}
	for i, k := range keys {
		if err := st.b.Delete(k); err != nil {
			return 0, err
		}
		// Only remove an index row that points here (a damaged duplicate
		// must not take another entry's row with it).
		if v := h.ids.Get(ids[i]); v != nil {
			if t, ik, err := parseIDValue(v); err == nil && t == st.name && bytes.Equal(ik, k) {
				if err := h.ids.Delete(ids[i]); err != nil {
					return 0, err
				}
			}
		}
	}
	st.count -= int64(len(keys))
	if st.count < 0 || len(keys) < n && st.count != 0 {
		return 0, fmt.Errorf("%w: history count of %q disagrees with its entries", ErrCorrupt, st.name)
	}
	if st.count == 0 {
		if k, _ := st.b.Cursor().First(); k != nil {
			return 0, fmt.Errorf("%w: history count of %q disagrees with its entries", ErrCorrupt, st.name)
		}
	}
	return len(keys), h.saveMeta(st)
}

// histMsgID reads the msgid of an entry value without decoding the rest.
func histMsgID(v []byte) ([]byte, error) {
	if _, _, ok := histHead(v); !ok {
		return nil, fmt.Errorf("%w: history entry has a bad header", ErrCorrupt)
	}
	r := histReader{b: v[histHeaderLen:]}
	n := r.uvarint(MaxMsgIDLen)
	if r.err != nil || n == 0 || n > uint64(len(r.b)) {
		return nil, fmt.Errorf("%w: history entry has a bad msgid", ErrCorrupt)
	}
	return r.b[:n], nil
}
