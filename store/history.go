package store

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/thorchat/thorchat/record"
)

// Message history.
//
// Layout (all created by the "message history" migration):
//
//	hist          target -> sub-bucket of that target's entries,
//	              key = unix-nanos (8, big-endian) ‖ sequence (8, big-endian),
//	              value = encodeHistory (history_codec.go)
//	hist_meta     target -> count (8) ‖ last entry unix-nanos (8)
//	hist_ids      msgid -> uvarint len(target) ‖ target ‖ entry key (16)
//	hist_recent   channel targets by latest message: last unix-nanos (8) ‖ target -> empty
//	hist_peer     private targets by account and latest message:
//	              account NUL last unix-nanos (8) ‖ target -> empty (one row per side)
//	read_markers  account NUL target -> unix-nanos (8)
//	hist_joined   account NUL channel target -> unix-nanos (8) of the first join
//
// Entry keys order a target's history by time and, for equal times, by the
// order in which AppendHistory stored them (the sequence comes from the
// target's sub-bucket), so every query is a cursor range scan and the order
// is the same for every reader and across restarts.

var (
	bucketHist        = []byte("hist")
	bucketHistMeta    = []byte("hist_meta")
	bucketHistIDs     = []byte("hist_ids")
	bucketHistRecent  = []byte("hist_recent")
	bucketHistPeer    = []byte("hist_peer")
	bucketReadMarkers = []byte("read_markers")
	bucketHistJoined  = []byte("hist_joined")
	historyBuckets    = [][]byte{bucketHist, bucketHistMeta, bucketHistIDs, bucketHistRecent, bucketHistPeer, bucketReadMarkers, bucketHistJoined}
)

// Limits of one history entry. The configuration bounds what clients may
// send well below these; the store refuses anything larger with ErrInvalid.
const (
	// MaxMsgIDLen bounds HistoryEntry.MsgID (ircd's are 26 bytes).
	MaxMsgIDLen = 64
	// MaxHistoryText bounds HistoryEntry.Text (a multiline message included).
	MaxHistoryText = 64 << 10
	// MaxHistoryTags bounds the number of client tags of one entry.
	MaxHistoryTags = 64
	// MaxHistoryTagBytes bounds the client tags of one entry, keys and values together.
	MaxHistoryTagBytes = 8191
	// MaxHistoryParams bounds HistoryEntry.Params.
	MaxHistoryParams = 16
	// MaxHistoryParamLen bounds each of Params, Prefix and To.
	MaxHistoryParamLen = 512
	// MaxHistoryQuery bounds the limit of one history query.
	MaxHistoryQuery = 10000
	// MaxHistoryBatch bounds the entries of one AppendHistory call.
	MaxHistoryBatch = 10000
)

// HistoryKind is the IRC command an entry replays as (record.MessageKind).
type HistoryKind = record.MessageKind

// History entry kinds. PRIVMSG, NOTICE and TAGMSG (reacts and unreacts) are
// messages; the others are draft/event-playback events.
const (
	KindPrivmsg = record.KindPrivmsg
	KindNotice  = record.KindNotice
	KindTagmsg  = record.KindTagmsg
	KindJoin    = record.KindJoin
	KindPart    = record.KindPart
	KindQuit    = record.KindQuit
	KindKick    = record.KindKick
	KindMode    = record.KindMode
	KindTopic   = record.KindTopic
	KindNick    = record.KindNick

	kindEnd = KindNick + 1 // one past the last valid kind
)

// KindMask selects entry kinds in a query: bit 1<<kind. Zero selects every kind.
type KindMask uint32

// Kinds returns the mask selecting the given kinds.
func Kinds(ks ...HistoryKind) KindMask {
	var m KindMask
	for _, k := range ks {
		m |= 1 << k
	}
	return m
}

// KindsMessages selects PRIVMSG and NOTICE: what a client without
// draft/event-playback may be sent.
var KindsMessages = Kinds(KindPrivmsg, KindNotice)

func (m KindMask) has(k HistoryKind) bool { return m == 0 || m&(1<<k) != 0 }

// HistoryEntry is one stored message or event: record.Message, the one
// type ircd builds and the store keeps (see its fields).
type HistoryEntry = record.Message

// ChannelTarget is the history target of a channel: its case-folded name.
func ChannelTarget(folded string) string { return record.ChannelTarget(folded) }

// PrivateTarget is the history target of the private conversation between
// two accounts; either order gives the same target. It contains NUL bytes,
// which names never contain, so it never equals a channel target.
func PrivateTarget(a, b string) string { return record.PrivateTarget(a, b) }

// ParsePrivateTarget returns the two accounts (sorted) of a private target,
// or ok = false for a channel target.
func ParsePrivateTarget(target string) (a, b string, ok bool) {
	return record.ParsePrivateTarget(target)
}

// checkTarget validates a history target (ChannelTarget or PrivateTarget).
func checkTarget(target string) error {
	if a, b, ok := ParsePrivateTarget(target); ok {
		if err := checkKey("account", a); err != nil {
			return err
		}
		if err := checkKey("account", b); err != nil {
			return err
		}
		if b < a {
			return fmt.Errorf("%w: private target accounts out of order (use PrivateTarget)", ErrInvalid)
		}
		return nil
	}
	return checkKey("history target", target)
}

// storedTime truncates t to what the store keeps (milliseconds).
func storedTime(t time.Time) time.Time { return t.Truncate(time.Millisecond) }

// minHistoryTime and maxHistoryTime bound entry times so that unix
// nanoseconds fit a non-negative int64.
var (
	minHistoryTime = time.Unix(0, 0)
	maxHistoryTime = time.Unix(0, math.MaxInt64)
)

// ValidateHistoryEntry reports whether AppendHistory would accept e (apart
// from msgid uniqueness, which only the transaction can see): the lane can
// drop a bad entry before it joins a batch, so one bad entry never fails
// the others.
func ValidateHistoryEntry(e *HistoryEntry) error {
	if err := checkTarget(e.Target); err != nil {
		return err
	}
	switch {
	case e.MsgID == "" || len(e.MsgID) > MaxMsgIDLen:
		return fmt.Errorf("%w: msgid must be 1..%d bytes", ErrInvalid, MaxMsgIDLen)
	case !e.Kind.Valid():
		return fmt.Errorf("%w: history kind %d", ErrInvalid, e.Kind)
	case e.Time.Before(minHistoryTime) || e.Time.After(maxHistoryTime):
		return fmt.Errorf("%w: history time %s out of range", ErrInvalid, e.Time)
	case len(e.Prefix) > MaxHistoryParamLen || len(e.To) > MaxHistoryParamLen:
		return fmt.Errorf("%w: prefix or target longer than %d bytes", ErrInvalid, MaxHistoryParamLen)
	case len(e.Account) > MaxKeyLen:
		return fmt.Errorf("%w: account longer than %d bytes", ErrInvalid, MaxKeyLen)
	case len(e.Text) > MaxHistoryText:
		return fmt.Errorf("%w: text longer than %d bytes", ErrInvalid, MaxHistoryText)
	case len(e.Params) > MaxHistoryParams:
		return fmt.Errorf("%w: more than %d params", ErrInvalid, MaxHistoryParams)
	case len(e.Tags) > MaxHistoryTags:
		return fmt.Errorf("%w: more than %d tags", ErrInvalid, MaxHistoryTags)
	}
	for _, p := range e.Params {
		if len(p) > MaxHistoryParamLen {
			return fmt.Errorf("%w: param longer than %d bytes", ErrInvalid, MaxHistoryParamLen)
		}
	}
	n := 0
	for k, v := range e.Tags {
		if k == "" {
			return fmt.Errorf("%w: empty tag key", ErrInvalid)
		}
		n += len(k) + len(v)
	}
	if n > MaxHistoryTagBytes {
		return fmt.Errorf("%w: tags longer than %d bytes", ErrInvalid, MaxHistoryTagBytes)
	}
	if !utf8.ValidString(e.MsgID) {
		return fmt.Errorf("%w: msgid is not valid UTF-8", ErrInvalid)
	}
	return nil
}
