package record

import (
	"strings"
	"time"
)

// MessageKind is the IRC command a stored message replays as.
type MessageKind uint8

// Message kinds. PRIVMSG, NOTICE and TAGMSG (reacts and unreacts) are
// messages; the others are draft/event-playback events.
const (
	KindPrivmsg MessageKind = iota + 1
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
func (k MessageKind) String() string {
	if k >= kindEnd {
		return ""
	}
	return kindNames[k]
}

// Valid reports whether k is one of the defined kinds.
func (k MessageKind) Valid() bool { return k > 0 && k < kindEnd }

// IsEvent reports whether k is a draft/event-playback event (not PRIVMSG,
// NOTICE or TAGMSG).
func (k MessageKind) IsEvent() bool { return k >= KindJoin && k < kindEnd }

// Message is one stored message or event of a channel or of a private
// conversation between two accounts (message history).
type Message struct {
	// Target is the storage target: ChannelTarget(folded name) or
	// PrivateTarget(account, account).
	Target string
	// MsgID is the message's msgid tag: opaque, unique in the store.
	MsgID string
	// Time is the server-time of the message (kept with millisecond
	// precision, the precision of the server-time tag).
	Time time.Time
	Kind MessageKind
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
	// Tags are the message's client-only tags (+draft/react, ...), keys
	// with their leading '+'. Server tags (time, msgid, account, batch)
	// are not kept here.
	Tags map[string]string
	// Text is the trailing parameter: the message text, or the reason of
	// PART/QUIT/KICK, or the topic. A draft/multiline message is one
	// Message whose lines are joined with "\n".
	Text string
	// Redacted marks a tombstone left by a redaction: Text and Tags are empty.
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

// History policies of a channel (record.Channel.History, [[channel]]
// history, ChanServ SET HISTORY).
const (
	// HistoryWorld: anyone who may join the channel reads its whole
	// retained history.
	HistoryWorld = "world"
	// HistoryJoined: an account reads from the time it first joined; a
	// guest only what was said while it was there.
	HistoryJoined = "joined"
	// HistoryOff: nothing is stored.
	HistoryOff = "off"
)

// ValidHistoryPolicy reports whether p is a policy ("" means the default).
func ValidHistoryPolicy(p string) bool {
	return p == "" || p == HistoryWorld || p == HistoryJoined || p == HistoryOff
}

// Joined records that an account joined a channel at a time: the "joined"
// policy lets it read the channel's history from the first such time on.
type Joined struct {
	Account string
	Target  string // ChannelTarget
	Time    time.Time
}
