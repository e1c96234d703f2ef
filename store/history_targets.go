package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// HistoryTarget is a target with the time of its latest stored entry.
type HistoryTarget struct {
	Target string // ChannelTarget or PrivateTarget
	// Peer is, for a private conversation, the other account than
	// TargetsQuery.Account ("" for a channel).
	Peer string
	Last time.Time
}

// TargetsQuery selects targets for CHATHISTORY TARGETS.
type TargetsQuery struct {
	// Account includes the private conversations of this account ("": none).
	Account string
	// Channel includes the channel targets it returns true for (nil: no
	// channels). It runs inside a read transaction: it must be quick and
	// must not call the DB.
	Channel func(target string) bool
	// From and To are exclusive bounds on the latest entry's time, in
	// either order, with BETWEEN's semantics: the Limit targets nearest to
	// From are returned.
	From, To time.Time
	Limit    int
}

// HistoryTargets returns the targets whose latest entry lies strictly
// between q.From and q.To, oldest latest entry first (equal times by
// target). It reads the by-latest-time indexes, never the entries: the
// cost grows with the number of targets in the range, not with history.
func (db *DB) HistoryTargets(q TargetsQuery) ([]HistoryTarget, error) {
	if q.Account != "" {
		if err := checkKey("account", q.Account); err != nil {
			return nil, fmt.Errorf("store: history targets: %w", err)
		}
	}
	limit := min(q.Limit, MaxHistoryQuery)
	from, to := timeNanos(q.From), timeNanos(q.To)
	if limit <= 0 || from == to {
		return nil, nil
	}
	backward := from > to
	lo, hi := from+1, to // times in [lo, hi)
	if backward {
		lo, hi = to+1, from
	}
	var out []HistoryTarget
	err := db.bolt.View(func(tx *bolt.Tx) error {
		h, err := openHistTx(tx)
		if err != nil {
			return err
		}
		if q.Channel != nil {
			got, err := scanTimeIndex(h.recent, nil, lo, hi, limit, backward, func(target string) (HistoryTarget, bool) {
				return HistoryTarget{Target: target}, q.Channel(target)
			})
			if err != nil {
				return err
			}
			out = append(out, got...)
		}
		if q.Account != "" {
			got, err := scanTimeIndex(h.peer, pairKey(q.Account, ""), lo, hi, limit, backward, func(target string) (HistoryTarget, bool) {
				a, b, ok := ParsePrivateTarget(target)
				if !ok {
					return HistoryTarget{}, false
				}
				peer := a
				if a == q.Account {
					peer = b
				}
				return HistoryTarget{Target: target, Peer: peer}, true
			})
			if err != nil {
				return err
			}
			out = append(out, got...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: history targets: %w", err)
	}
	byTime := func(a, b HistoryTarget) int {
		return cmp.Or(a.Last.Compare(b.Last), cmp.Compare(a.Target, b.Target))
	}
	slices.SortFunc(out, byTime)
	if len(out) > limit {
		if backward {
			out = out[len(out)-limit:]
		} else {
			out = out[:limit]
		}
	}
	return out, nil
}

// scanTimeIndex walks index rows prefix ‖ last (8) ‖ target with last in
// [lo, hi), from lo up or from hi down, keeping up to limit rows that keep
// accepts.
func scanTimeIndex(b *bolt.Bucket, prefix []byte, lo, hi int64, limit int, backward bool,
	keep func(target string) (HistoryTarget, bool)) ([]HistoryTarget, error) {
	bound := func(ns int64) []byte {
		return binary.BigEndian.AppendUint64(bytes.Clone(prefix), uint64(ns))
	}
	loKey, hiKey := bound(lo), bound(hi)
	c := b.Cursor()
	var k []byte
	if backward {
		if k, _ = c.Seek(hiKey); k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
	} else {
		k, _ = c.Seek(loKey)
	}
	var out []HistoryTarget
	for ; k != nil && len(out) < limit; k, _ = stepKey(c, backward) {
		if bytes.Compare(k, loKey) < 0 || bytes.Compare(k, hiKey) >= 0 {
			break
		}
		rest := k[len(prefix):]
		if len(rest) <= 8 {
			return nil, fmt.Errorf("%w: malformed history index row", ErrCorrupt)
		}
		t, ok := keep(string(rest[8:]))
		if !ok {
			continue
		}
		t.Last = time.Unix(0, int64(binary.BigEndian.Uint64(rest))).UTC()
		out = append(out, t)
	}
	return out, nil
}

func stepKey(c *bolt.Cursor, backward bool) ([]byte, []byte) {
	if backward {
		return c.Prev()
	}
	return c.Next()
}

// HistoryCount is the size of one target's stored history (never its text).
type HistoryCount struct {
	Target   string
	Messages int64
	Last     time.Time
}

// HistoryCounts returns every target with its number of stored entries
// and the time of its latest one, in target order.
func (db *DB) HistoryCounts() ([]HistoryCount, error) {
	var out []HistoryCount
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return forEachHistMeta(tx, func(c HistoryCount) error {
			out = append(out, c)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: history counts: %w", err)
	}
	return out, nil
}

func forEachHistMeta(tx *bolt.Tx, fn func(HistoryCount) error) error {
	meta, err := bucket(tx, bucketHistMeta)
	if err != nil {
		return err
	}
	return meta.ForEach(func(k, v []byte) error {
		if len(v) != 16 {
			return fmt.Errorf("%w: history metadata of %q is %d bytes", ErrCorrupt, k, len(v))
		}
		return fn(HistoryCount{
			Target:   string(k),
			Messages: int64(binary.BigEndian.Uint64(v)),
			Last:     time.Unix(0, int64(binary.BigEndian.Uint64(v[8:]))).UTC(),
		})
	})
}
