package store

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
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
	historyBuckets    = [][]byte{bucketHist, bucketHistMeta, bucketHistIDs, bucketHistRecent, bucketHistPeer, bucketReadMarkers}
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

// HistoryKind is the IRC command an entry replays as.
type HistoryKind uint8

// History entry kinds. PRIVMSG, NOTICE and TAGMSG (reacts and unreacts) are
// messages; the others are draft/event-playback events.
const (
	KindPrivmsg HistoryKind = iota + 1
	KindNotice
	KindTagmsg
	KindJoin
	KindPart
	KindQuit
	KindKick
	KindMode
	KindTopic
	KindNick
	kindEnd // one past the last valid kind
)

var kindNames = [kindEnd]string{"", "PRIVMSG", "NOTICE", "TAGMSG", "JOIN", "PART", "QUIT", "KICK", "MODE", "TOPIC", "NICK"}

// String returns the IRC command name of k ("" for an invalid kind).
func (k HistoryKind) String() string {
	if k >= kindEnd {
		return ""
	}
	return kindNames[k]
}

// Valid reports whether k is one of the defined kinds.
func (k HistoryKind) Valid() bool { return k > 0 && k < kindEnd }

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

// HistoryEntry is one stored message or event.
type HistoryEntry struct {
	// Target is the storage target: ChannelTarget(folded name) or
	// PrivateTarget(account, account).
	Target string
	// MsgID is the message's msgid tag: opaque, 1..MaxMsgIDLen bytes,
	// unique in the store.
	MsgID string
	// Time is the server-time of the message. The store keeps it with
	// millisecond precision, the precision of the server-time tag, so that
	// timestamp= references compare exactly with what clients were shown.
	Time time.Time
	Kind HistoryKind
	// Prefix is the source as shown to clients (nick!user@host with the
	// cloaked host, never an address).
	Prefix string
	// Account is the sender's account ("" for a guest).
	Account string
	// To is the target parameter as the client saw it (#Channel, or the
	// recipient's nick for a private message).
	To string
	// Params are the middle parameters after To that some events need:
	// KICK: [victim]; MODE: [modes, args...]; NICK: [new nick]. Empty for
	// messages.
	Params []string
	// Tags are the message's client-only tags (+draft/react, +draft/reply,
	// +typing is never stored...), keys with their leading '+'. Server tags
	// (time, msgid, account, batch) are not stored here.
	Tags map[string]string
	// Text is the trailing parameter: the message text, or the reason of
	// PART/QUIT/KICK, or the topic. A draft/multiline message is stored as
	// one entry whose lines are joined with "\n" (a line sent with
	// draft/multiline-concat is joined to the previous one without "\n").
	Text string
	// Redacted marks a tombstone left by RedactHistory: Text and Tags are empty.
	Redacted bool
}

// ChannelTarget is the history target of a channel: its case-folded name.
func ChannelTarget(folded string) string { return folded }

// PrivateTarget is the history target of the private conversation between
// two accounts; either order gives the same target. It contains NUL bytes,
// which names never contain, so it never equals a channel target.
func PrivateTarget(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return "\x00" + a + "\x00" + b
}

// ParsePrivateTarget returns the two accounts (sorted) of a private target,
// or ok = false for a channel target.
func ParsePrivateTarget(target string) (a, b string, ok bool) {
	if !strings.HasPrefix(target, "\x00") {
		return "", "", false
	}
	a, b, ok = strings.Cut(target[1:], "\x00")
	return a, b, ok && a != "" && b != ""
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
