package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// histFill is the fill percent of entry and msgid buckets: their keys
// mostly grow (time-ordered keys, time-ordered msgids), so pages split
// full instead of half full.
const histFill = 0.95

// AppendHistory stores entries in one transaction, durable (fsynced)
// before it returns: either all are stored or none is. Entries of one
// target are ordered by time and, for equal times, by their order in
// entries and across calls. It fails with ErrInvalid (naming the entry's
// index) if an entry does not pass ValidateHistoryEntry or its msgid is
// already stored. The lane calls it with whatever arrived in a few
// milliseconds (at most MaxHistoryBatch entries).
func (db *DB) AppendHistory(entries []HistoryEntry) error {
	if len(entries) == 0 {
		return nil
	}
	if len(entries) > MaxHistoryBatch {
		return fmt.Errorf("store: append history: %w: %d entries, at most %d per batch", ErrInvalid, len(entries), MaxHistoryBatch)
	}
	vals := make([][]byte, len(entries))
	for i := range entries {
		if err := ValidateHistoryEntry(&entries[i]); err != nil {
			return fmt.Errorf("store: append history: entry %d: %w", i, err)
		}
		vals[i] = encodeHistory(&entries[i])
	}
	err := db.update(func(tx *bolt.Tx) error {
		h, err := openHistTx(tx)
		if err != nil {
			return err
		}
		states := map[string]*histTarget{}
		for i := range entries {
			e := &entries[i]
			st := states[e.Target]
			if st == nil {
				if st, err = h.target(e.Target, true); err != nil {
					return err
				}
				states[e.Target] = st
			}
			if h.ids.Get([]byte(e.MsgID)) != nil {
				return fmt.Errorf("entry %d: %w: msgid %q is already stored", i, ErrInvalid, e.MsgID)
			}
			seq, err := st.b.NextSequence()
			if err != nil {
				return err
			}
			ns := storedTime(e.Time).UnixNano()
			k := histKey(ns, seq)
			key := k[:]
			if err := st.b.Put(key, vals[i]); err != nil {
				return err
			}
			if err := h.ids.Put([]byte(e.MsgID), idValue(e.Target, key)); err != nil {
				return err
			}
			st.count++
			st.last = max(st.last, ns)
		}
		for _, st := range states {
			if err := h.saveMeta(st); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: append %d history entries: %w", len(entries), err)
	}
	return nil
}

// histTx groups the history buckets of one transaction.
type histTx struct {
	hist, meta, ids, recent, peer *bolt.Bucket
}

func openHistTx(tx *bolt.Tx) (histTx, error) {
	var h histTx
	for _, p := range []struct {
		b    **bolt.Bucket
		name []byte
	}{{&h.hist, bucketHist}, {&h.meta, bucketHistMeta}, {&h.ids, bucketHistIDs}, {&h.recent, bucketHistRecent}, {&h.peer, bucketHistPeer}} {
		b, err := bucket(tx, p.name)
		if err != nil {
			return h, err
		}
		*p.b = b
	}
	h.ids.FillPercent = histFill
	return h, nil
}

// histTarget is a target's bucket and metadata within a transaction.
type histTarget struct {
	name  string
	b     *bolt.Bucket // nil when the target has no history
	count int64
	last  int64 // unix nanos of the latest entry
	// stored metadata, to update the indexes
	had      bool
	lastSeen int64
}

// target opens a target's bucket and metadata, creating the bucket when
// create is set.
func (h histTx) target(name string, create bool) (*histTarget, error) {
	st := &histTarget{name: name}
	if v := h.meta.Get([]byte(name)); v != nil {
		if len(v) != 16 {
			return nil, fmt.Errorf("%w: history metadata of %q is %d bytes", ErrCorrupt, name, len(v))
		}
		st.count = int64(binary.BigEndian.Uint64(v))
		st.last = int64(binary.BigEndian.Uint64(v[8:]))
		st.had, st.lastSeen = true, st.last
	}
	st.b = h.hist.Bucket([]byte(name))
	if st.had != (st.b != nil) {
		return nil, fmt.Errorf("%w: history of %q has metadata without entries or entries without metadata", ErrCorrupt, name)
	}
	if st.b == nil && create {
		var err error
		if st.b, err = h.hist.CreateBucket([]byte(name)); err != nil {
			return nil, fmt.Errorf("create history bucket: %w", err)
		}
	}
	if st.b != nil {
		st.b.FillPercent = histFill
	}
	return st, nil
}

// saveMeta writes st's metadata and index rows, or removes them all (and
// the bucket) when the target has no entries left.
func (h histTx) saveMeta(st *histTarget) error {
	name := []byte(st.name)
	if st.had && (st.count == 0 || st.last != st.lastSeen) {
		if err := h.indexRows(st.name, st.lastSeen, false); err != nil {
			return err
		}
	}
	if st.count <= 0 {
		if st.b != nil {
			if err := h.hist.DeleteBucket(name); err != nil {
				return err
			}
			st.b = nil
		}
		if st.had {
			return h.meta.Delete(name)
		}
		return nil
	}
	var v [16]byte
	binary.BigEndian.PutUint64(v[:8], uint64(st.count))
	binary.BigEndian.PutUint64(v[8:], uint64(st.last))
	if err := h.meta.Put(name, v[:]); err != nil {
		return err
	}
	if !st.had || st.last != st.lastSeen {
		if err := h.indexRows(st.name, st.last, true); err != nil {
			return err
		}
	}
	st.had, st.lastSeen = true, st.last
	return nil
}

// indexRows puts (or deletes) the by-latest-time index rows of a target:
// one in hist_recent for a channel, one per account in hist_peer for a
// private conversation.
func (h histTx) indexRows(target string, last int64, put bool) error {
	var keys [][]byte
	if a, b, ok := ParsePrivateTarget(target); ok {
		keys = [][]byte{peerKey(a, last, target), peerKey(b, last, target)}
		return applyRows(h.peer, keys, put)
	}
	return applyRows(h.recent, [][]byte{recentKey(last, target)}, put)
}

func applyRows(b *bolt.Bucket, keys [][]byte, put bool) error {
	for _, k := range keys {
		var err error
		if put {
			err = b.Put(k, []byte{})
		} else {
			err = b.Delete(k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func recentKey(last int64, target string) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(target)), uint64(last))
	return append(k, target...)
}

func peerKey(account string, last int64, target string) []byte {
	k := make([]byte, 0, len(account)+1+8+len(target))
	k = append(k, account...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, uint64(last))
	return append(k, target...)
}

// idValue is the msgid index value: uvarint len(target) ‖ target ‖ entry key.
func idValue(target string, key []byte) []byte {
	v := binary.AppendUvarint(make([]byte, 0, 2+len(target)+len(key)), uint64(len(target)))
	v = append(v, target...)
	return append(v, key...)
}

func parseIDValue(v []byte) (target string, key []byte, err error) {
	n, w := binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)-w) || uint64(len(v)-w)-n != histKeyLen {
		return "", nil, fmt.Errorf("%w: malformed msgid index entry", ErrCorrupt)
	}
	return string(v[w : w+int(n)]), v[w+int(n):], nil
}
