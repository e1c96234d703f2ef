package store

import (
	"bytes"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// historyCheckSample is how many of the newest entries of each target
// checkHistory decodes.
const historyCheckSample = 8

// checkHistory checks the history buckets at Open (when the file is small
// enough for the full check) at a cost that grows with the number of
// targets, not of messages: every target's metadata matches its bucket
// and its by-time index rows, its latest entry has the recorded time, and
// its newest historyCheckSample entries decode and are indexed by msgid;
// every index row names a target with that latest time; every read marker
// is well-formed. Older entries are decoded when a query reads them, and a
// damaged one then fails that query with ErrCorrupt (the decoder is fuzzed:
// no bytes make it panic); the page structure of the whole file is still
// walked by the verifier.
func checkHistory(tx *bolt.Tx) error {
	h, err := openHistTx(tx)
	if err != nil {
		return err
	}
	if err := h.hist.ForEach(func(k, v []byte) error {
		if v != nil || h.meta.Get(k) == nil {
			return corruptf("history target %q has no bucket or no metadata", k)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := forEachHistMeta(tx, func(c HistoryCount) error {
		if err := checkTarget(c.Target); err != nil {
			return corruptf("history target %q: %v", c.Target, err)
		}
		st, err := h.target(c.Target, false)
		if err != nil {
			return err
		}
		if st.count <= 0 {
			return corruptf("history target %q has count %d", c.Target, st.count)
		}
		if !h.hasIndexRows(st.name, st.last) {
			return corruptf("history target %q is missing from the by-time index", c.Target)
		}
		cur := st.b.Cursor()
		n := 0
		for k, v := cur.Last(); k != nil && n < historyCheckSample; k, v = cur.Prev() {
			if n == 0 && (len(k) != histKeyLen || int64(binary.BigEndian.Uint64(k)) != st.last) {
				return corruptf("history target %q: latest entry does not match its metadata", c.Target)
			}
			e, err := decodeHistory(st.name, k, v)
			if err != nil {
				return err
			}
			iv := h.ids.Get([]byte(e.MsgID))
			if iv == nil {
				return corruptf("history entry %q is missing from the msgid index", e.MsgID)
			}
			t, ik, err := parseIDValue(iv)
			if err != nil {
				return err
			}
			if t != st.name || !bytes.Equal(ik, k) {
				return corruptf("msgid index row of %q points elsewhere", e.MsgID)
			}
			n++
		}
		if n == 0 {
			return corruptf("history target %q has metadata but no entries", c.Target)
		}
		return nil
	}); err != nil {
		return err
	}
	rowCheck := func(b *bolt.Bucket, private bool) error {
		return b.ForEach(func(k, _ []byte) error {
			rest := k
			if private {
				i := bytes.IndexByte(k, 0)
				if i <= 0 {
					return corruptf("malformed private history index row")
				}
				rest = k[i+1:]
			}
			if len(rest) <= 8 {
				return corruptf("malformed history index row")
			}
			target := rest[8:]
			v := h.meta.Get(target)
			if v == nil || len(v) != 16 || !bytes.Equal(v[8:], rest[:8]) {
				return corruptf("history index row for %q does not match its metadata", target)
			}
			if _, _, ok := ParsePrivateTarget(string(target)); ok != private {
				return corruptf("history index row for %q is in the wrong index", target)
			}
			return nil
		})
	}
	if err := rowCheck(h.recent, false); err != nil {
		return err
	}
	if err := rowCheck(h.peer, true); err != nil {
		return err
	}
	markers, err := bucket(tx, bucketReadMarkers)
	if err != nil {
		return err
	}
	return markers.ForEach(func(k, v []byte) error {
		if i := bytes.IndexByte(k, 0); i <= 0 || i == len(k)-1 {
			return corruptf("read marker key %q is malformed", k)
		}
		_, _, err := markerValue(v)
		return err
	})
}

// hasIndexRows reports whether target's by-time index rows exist for last.
func (h histTx) hasIndexRows(target string, last int64) bool {
	if a, b, ok := ParsePrivateTarget(target); ok {
		return hasKey(h.peer, peerKey(a, last, target)) && hasKey(h.peer, peerKey(b, last, target))
	}
	return hasKey(h.recent, recentKey(last, target))
}

// hasKey reports whether b holds key k (with any value, empty included).
func hasKey(b *bolt.Bucket, k []byte) bool {
	got, _ := b.Cursor().Seek(k)
	return got != nil && bytes.Equal(got, k)
}
