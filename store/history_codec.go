package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// Entry values: a compact binary encoding, versioned by its first byte.
//
//	[0]    format version (historyFormat)
//	[1]    flags (histRedacted)
//	[2]    kind
//	then   msgid, prefix, account, to: each uvarint length ‖ bytes
//	then   uvarint param count, each param uvarint length ‖ bytes
//	then   uvarint tag count, each key and value uvarint length ‖ bytes, keys sorted
//	rest   text
//
// The time and the order come from the key: 8-byte big-endian unix
// nanoseconds ‖ 8-byte big-endian sequence.

const (
	historyFormat = 1
	histRedacted  = 0x01
	histKeyLen    = 16
	histHeaderLen = 3
)

// histKey builds an entry key.
func histKey(ns int64, seq uint64) [histKeyLen]byte {
	var k [histKeyLen]byte
	binary.BigEndian.PutUint64(k[:8], uint64(ns))
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}

// keyTime returns the time of an entry key.
func keyTime(k []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))).UTC()
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeHistory encodes e (already validated) without its time and target.
func encodeHistory(e *HistoryEntry) []byte {
	n := histHeaderLen + 4*2 + len(e.MsgID) + len(e.Prefix) + len(e.Account) + len(e.To) + 2 + len(e.Text)
	for _, p := range e.Params {
		n += 2 + len(p)
	}
	for k, v := range e.Tags {
		n += 4 + len(k) + len(v)
	}
	b := make([]byte, histHeaderLen, n)
	b[0] = historyFormat
	if e.Redacted {
		b[1] = histRedacted
	}
	b[2] = byte(e.Kind)
	b = appendString(b, e.MsgID)
	b = appendString(b, e.Prefix)
	b = appendString(b, e.Account)
	b = appendString(b, e.To)
	b = binary.AppendUvarint(b, uint64(len(e.Params)))
	for _, p := range e.Params {
		b = appendString(b, p)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Tags)))
	keys := make([]string, 0, len(e.Tags))
	for k := range e.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, e.Tags[k])
	}
	return append(b, e.Text...)
}

// histReader decodes the fields of a value, remembering the first error.
type histReader struct {
	b   []byte
	err error
}

func (r *histReader) uvarint(max uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > max {
		r.err = fmt.Errorf("bad length")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *histReader) str(max int) string {
	n := r.uvarint(uint64(max))
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("field runs past the end")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// histHead reads the flags and kind of a value without decoding it, for
// cheap filtering during scans.
func histHead(v []byte) (kind HistoryKind, redacted, ok bool) {
	if len(v) < histHeaderLen || v[0] != historyFormat {
		return 0, false, false
	}
	return HistoryKind(v[2]), v[1]&histRedacted != 0, true
}

// decodeHistory decodes the value v stored under key k of target. Damaged
// bytes give ErrCorrupt, never a panic.
func decodeHistory(target string, k, v []byte) (HistoryEntry, error) {
	e, err := decodeHistoryValue(v)
	if err != nil {
		return HistoryEntry{}, fmt.Errorf("%w: history entry in %q: %v", ErrCorrupt, target, err)
	}
	if len(k) != histKeyLen {
		return HistoryEntry{}, fmt.Errorf("%w: history key in %q is %d bytes", ErrCorrupt, target, len(k))
	}
	e.Target = target
	e.Time = keyTime(k)
	return e, nil
}

func decodeHistoryValue(v []byte) (HistoryEntry, error) {
	var e HistoryEntry
	if len(v) < histHeaderLen {
		return e, fmt.Errorf("value is %d bytes", len(v))
	}
	if v[0] != historyFormat {
		return e, fmt.Errorf("unknown format %d", v[0])
	}
	if v[1]&^histRedacted != 0 {
		return e, fmt.Errorf("unknown flags %#x", v[1])
	}
	e.Redacted = v[1]&histRedacted != 0
	e.Kind = HistoryKind(v[2])
	if !e.Kind.Valid() {
		return e, fmt.Errorf("unknown kind %d", v[2])
	}
	r := histReader{b: v[histHeaderLen:]}
	e.MsgID = r.str(MaxMsgIDLen)
	e.Prefix = r.str(MaxHistoryParamLen)
	e.Account = r.str(MaxKeyLen)
	e.To = r.str(MaxHistoryParamLen)
	if np := r.uvarint(MaxHistoryParams); np > 0 {
		e.Params = make([]string, 0, np)
		for range np {
			e.Params = append(e.Params, r.str(MaxHistoryParamLen))
		}
	}
	if nt := r.uvarint(MaxHistoryTags); nt > 0 {
		e.Tags = make(map[string]string, nt)
		for range nt {
			k := r.str(MaxHistoryTagBytes)
			e.Tags[k] = r.str(MaxHistoryTagBytes)
		}
	}
	if r.err != nil {
		return HistoryEntry{}, r.err
	}
	if e.MsgID == "" {
		return HistoryEntry{}, fmt.Errorf("empty msgid")
	}
	if len(r.b) > MaxHistoryText {
		return HistoryEntry{}, fmt.Errorf("text is %d bytes", len(r.b))
	}
	e.Text = string(r.b)
	return e, nil
}
