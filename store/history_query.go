package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// HistoryRef points into a target's history, as a CHATHISTORY reference
// does: a stored message (msgid=) or a point in time (timestamp=). The zero
// HistoryRef is "*" (no reference), accepted only by HistoryLatest.
type HistoryRef struct {
	MsgID string    // a stored message, or ""
	Time  time.Time // used when MsgID is ""
}

// RefMsgID returns a reference to the stored message msgid.
func RefMsgID(msgid string) HistoryRef { return HistoryRef{MsgID: msgid} }

// RefTime returns a reference to the point in time t.
func RefTime(t time.Time) HistoryRef { return HistoryRef{Time: t} }

// IsZero reports whether r is "*" (no reference).
func (r HistoryRef) IsZero() bool { return r.MsgID == "" && r.Time.IsZero() }

// HistoryQuery holds what every history query shares. Results are always
// in the store's order (time, then storage order for equal times), oldest
// first, at most Limit entries.
type HistoryQuery struct {
	// Target is ChannelTarget(folded) or PrivateTarget(a, b).
	Target string
	// Limit bounds the result (clamped to MaxHistoryQuery); <= 0 returns nothing.
	Limit int
	// NotBefore hides entries older than it (the "joined" policy: an
	// account reads only from when it joined). Zero: no bound.
	NotBefore time.Time
	// Kinds selects entry kinds (KindsMessages for clients without
	// draft/event-playback); zero selects all. Entries left out do not
	// count towards Limit.
	Kinds KindMask
	// SkipRedacted leaves redaction tombstones out.
	SkipRedacted bool
}

// histRange is a key range: lo inclusive, hi exclusive (nil: no upper end).
type histRange struct{ lo, hi []byte }

// timeNanos maps t to unix nanoseconds clamped to [0, MaxInt64].
func timeNanos(t time.Time) int64 {
	switch {
	case t.Before(minHistoryTime):
		return 0
	case t.After(maxHistoryTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// timeKey is the first possible key at unix nanos ns (sequences start at 1).
func timeKey(ns int64) []byte {
	k := histKey(ns, 0)
	return k[:]
}

// keySucc returns the key right after k (k is a 16-byte key whose time
// fits an int64, so it never overflows).
func keySucc(k []byte) []byte {
	n := bytes.Clone(k)
	for i := len(n) - 1; i >= 0; i-- {
		n[i]++
		if n[i] != 0 {
			break
		}
	}
	return n
}

// resolved is a reference turned into a position in a target's keys.
type resolved struct {
	key   []byte // msgid: the entry's key; time: timeKey(t)
	msgid bool
}

// after is the inclusive lower bound of "after and excluding r".
func (r resolved) after() []byte {
	if r.msgid {
		return keySucc(r.key)
	}
	ns := int64(binary.BigEndian.Uint64(r.key))
	if ns == math.MaxInt64 {
		return keySucc(r.key[:8:8]) // past every key
	}
	return timeKey(ns + 1)
}

// before is the exclusive upper bound of "before and excluding r".
func (r resolved) before() []byte { return r.key }

// resolve turns ref into a position in target. A msgid that is not stored
// in this target's history gives ErrNotFound.
func resolve(ids *bolt.Bucket, target string, ref HistoryRef) (resolved, error) {
	if ref.MsgID == "" {
		return resolved{key: timeKey(timeNanos(ref.Time))}, nil
	}
	v := ids.Get([]byte(ref.MsgID))
	if v == nil {
		return resolved{}, fmt.Errorf("%w: msgid %q", ErrNotFound, ref.MsgID)
	}
	t, k, err := parseIDValue(v)
	if err != nil {
		return resolved{}, err
	}
	if t != target {
		return resolved{}, fmt.Errorf("%w: msgid %q is not in this target's history", ErrNotFound, ref.MsgID)
	}
	return resolved{key: bytes.Clone(k), msgid: true}, nil
}

// histView runs fn on the target's bucket (nil when it has no history) in
// a read transaction.
func (db *DB) histView(q *HistoryQuery, what string, fn func(h histTx, b *bolt.Bucket) error) error {
	if err := checkTarget(q.Target); err != nil {
		return fmt.Errorf("store: history %s: %w", what, err)
	}
	q.Limit = min(q.Limit, MaxHistoryQuery)
	err := db.bolt.View(func(tx *bolt.Tx) error {
		h, err := openHistTx(tx)
		if err != nil {
			return err
		}
		return fn(h, h.hist.Bucket([]byte(q.Target)))
	})
	if err != nil {
		return fmt.Errorf("store: history %s: %w", what, err)
	}
	return nil
}

// clampLo raises r.lo to the query's NotBefore.
func (q *HistoryQuery) clampLo(r *histRange) {
	if q.NotBefore.IsZero() {
		return
	}
	if nb := timeKey(timeNanos(q.NotBefore)); r.lo == nil || bytes.Compare(nb, r.lo) > 0 {
		r.lo = nb
	}
}

// match reports whether the value v passes the query's filters.
func (q *HistoryQuery) match(v []byte) (bool, error) {
	kind, redacted, ok := histHead(v)
	if !ok {
		return false, fmt.Errorf("%w: history entry in %q has a bad header", ErrCorrupt, q.Target)
	}
	return q.Kinds.has(kind) && !(redacted && q.SkipRedacted), nil
}

// scan collects up to n matching entries in r, forwards from r.lo or
// backwards from r.hi; backward results are returned newest first.
func (q *HistoryQuery) scan(b *bolt.Bucket, r histRange, n int, backward bool) ([]HistoryEntry, error) {
	if b == nil || n <= 0 || r.hi != nil && r.lo != nil && bytes.Compare(r.lo, r.hi) >= 0 {
		return nil, nil
	}
	var out []HistoryEntry
	c := b.Cursor()
	var k, v []byte
	switch {
	case !backward && r.lo == nil:
		k, v = c.First()
	case !backward:
		k, v = c.Seek(r.lo)
	case r.hi == nil:
		k, v = c.Last()
	default:
		if k, _ = c.Seek(r.hi); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	for ; k != nil && len(out) < n; k, v = step(c, backward) {
		if !backward && r.hi != nil && bytes.Compare(k, r.hi) >= 0 ||
			backward && r.lo != nil && bytes.Compare(k, r.lo) < 0 {
			break
		}
		if v == nil {
			return nil, fmt.Errorf("%w: nested bucket in the history of %q", ErrCorrupt, q.Target)
		}
		ok, err := q.match(v)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		e, err := decodeHistory(q.Target, k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func step(c *bolt.Cursor, backward bool) ([]byte, []byte) {
	if backward {
		return c.Prev()
	}
	return c.Next()
}

func reversed(es []HistoryEntry) []HistoryEntry {
	slices.Reverse(es)
	return es
}

// HistoryLatest returns the latest q.Limit entries (CHATHISTORY LATEST),
// restricted to those after and excluding after unless after is zero ("*").
func (db *DB) HistoryLatest(q HistoryQuery, after HistoryRef) ([]HistoryEntry, error) {
	var out []HistoryEntry
	err := db.histView(&q, "latest", func(h histTx, b *bolt.Bucket) error {
		var r histRange
		if !after.IsZero() {
			p, err := resolve(h.ids, q.Target, after)
			if err != nil {
				return err
			}
			r.lo = p.after()
		}
		q.clampLo(&r)
		es, err := q.scan(b, r, q.Limit, true)
		out = reversed(es)
		return err
	})
	return out, err
}

// HistoryBefore returns up to q.Limit entries before and excluding ref, the
// nearest to ref (CHATHISTORY BEFORE).
func (db *DB) HistoryBefore(q HistoryQuery, ref HistoryRef) ([]HistoryEntry, error) {
	var out []HistoryEntry
	err := db.histView(&q, "before", func(h histTx, b *bolt.Bucket) error {
		p, err := resolveSet(h, q.Target, ref)
		if err != nil {
			return err
		}
		r := histRange{hi: p.before()}
		q.clampLo(&r)
		es, err := q.scan(b, r, q.Limit, true)
		out = reversed(es)
		return err
	})
	return out, err
}

// HistoryAfter returns up to q.Limit entries after and excluding ref, the
// nearest to ref (CHATHISTORY AFTER).
func (db *DB) HistoryAfter(q HistoryQuery, ref HistoryRef) ([]HistoryEntry, error) {
	var out []HistoryEntry
	err := db.histView(&q, "after", func(h histTx, b *bolt.Bucket) error {
		p, err := resolveSet(h, q.Target, ref)
		if err != nil {
			return err
		}
		r := histRange{lo: p.after()}
		q.clampLo(&r)
		out, err = q.scan(b, r, q.Limit, false)
		return err
	})
	return out, err
}

// HistoryAround returns up to q.Limit entries centred on ref (CHATHISTORY
// AROUND): Limit/2 before it and the rest from it on (a msgid reference's
// own message included, as the first of the later half). Near either end
// of the history the other side makes up the difference.
func (db *DB) HistoryAround(q HistoryQuery, ref HistoryRef) ([]HistoryEntry, error) {
	var out []HistoryEntry
	err := db.histView(&q, "around", func(h histTx, b *bolt.Bucket) error {
		p, err := resolveSet(h, q.Target, ref)
		if err != nil {
			return err
		}
		lower := histRange{hi: p.key}
		q.clampLo(&lower)
		back, err := q.scan(b, lower, q.Limit, true)
		if err != nil {
			return err
		}
		upper := histRange{lo: p.key}
		q.clampLo(&upper)
		fwd, err := q.scan(b, upper, q.Limit-min(len(back), q.Limit/2), false)
		if err != nil {
			return err
		}
		back = back[:min(len(back), q.Limit-len(fwd))]
		out = append(reversed(back), fwd...)
		return nil
	})
	return out, err
}

// HistoryBetween returns up to q.Limit entries strictly between from and to
// (CHATHISTORY BETWEEN), counted from from: forwards in time when from is
// earlier than to, backwards (the Limit entries nearest to from) when it
// is later. The result is oldest first either way; equal references give
// nothing.
func (db *DB) HistoryBetween(q HistoryQuery, from, to HistoryRef) ([]HistoryEntry, error) {
	var out []HistoryEntry
	err := db.histView(&q, "between", func(h histTx, b *bolt.Bucket) error {
		pf, err := resolveSet(h, q.Target, from)
		if err != nil {
			return err
		}
		pt, err := resolveSet(h, q.Target, to)
		if err != nil {
			return err
		}
		switch c := bytes.Compare(pf.key, pt.key); {
		case c < 0:
			r := histRange{lo: pf.after(), hi: pt.before()}
			q.clampLo(&r)
			out, err = q.scan(b, r, q.Limit, false)
		case c > 0:
			r := histRange{lo: pt.after(), hi: pf.before()}
			q.clampLo(&r)
			var es []HistoryEntry
			es, err = q.scan(b, r, q.Limit, true)
			out = reversed(es)
		}
		return err
	})
	return out, err
}

// resolveSet resolves a reference that must be given.
func resolveSet(h histTx, target string, ref HistoryRef) (resolved, error) {
	if ref.IsZero() {
		return resolved{}, fmt.Errorf("%w: a msgid or timestamp reference is required", ErrInvalid)
	}
	return resolve(h.ids, target, ref)
}

// HistoryEntryByID returns the stored entry with msgid (with its Target),
// or ErrNotFound: the caller checks who sent it before RedactHistory.
func (db *DB) HistoryEntryByID(msgid string) (HistoryEntry, error) {
	var e HistoryEntry
	err := db.bolt.View(func(tx *bolt.Tx) error {
		h, err := openHistTx(tx)
		if err != nil {
			return err
		}
		e, _, err = h.byID(msgid)
		return err
	})
	if err != nil {
		return HistoryEntry{}, fmt.Errorf("store: history entry %q: %w", msgid, err)
	}
	return e, nil
}

// byID finds msgid's entry and its key.
func (h histTx) byID(msgid string) (HistoryEntry, []byte, error) {
	if msgid == "" || len(msgid) > MaxMsgIDLen {
		return HistoryEntry{}, nil, ErrNotFound
	}
	v := h.ids.Get([]byte(msgid))
	if v == nil {
		return HistoryEntry{}, nil, ErrNotFound
	}
	target, key, err := parseIDValue(v)
	if err != nil {
		return HistoryEntry{}, nil, err
	}
	b := h.hist.Bucket([]byte(target))
	var ev []byte
	if b != nil {
		ev = b.Get(key)
	}
	if ev == nil {
		return HistoryEntry{}, nil, fmt.Errorf("%w: msgid index points at a missing entry", ErrCorrupt)
	}
	e, err := decodeHistory(target, key, ev)
	if err != nil {
		return HistoryEntry{}, nil, err
	}
	if e.MsgID != msgid {
		return HistoryEntry{}, nil, fmt.Errorf("%w: msgid index points at another entry", ErrCorrupt)
	}
	return e, bytes.Clone(key), nil
}
