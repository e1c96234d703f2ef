// Package record holds the values ircd hands its host to keep: the record
// of a registered channel and the letters of the user modes an account
// keeps. It depends on nothing, so ircd (which must not import bbolt) and
// store (which encodes these records as JSON in bbolt) share one
// definition.
package record

import "time"

// KeptUserModes are the user modes an account keeps across logins, in
// this order: caller ID (g), invisible (i), registered-only private
// messages (R), no CTCP (T) and wallops (w). Operator status is never
// kept.
const KeptUserModes = "giRTw"

// Access levels of AccessEntry.Level.
const (
	LevelFounder = "founder"
	LevelOp      = "op"
	LevelVoice   = "voice"
)

// ListEntry is one entry of a channel ban (+b), exception (+e) or
// invite-exception (+I) list.
type ListEntry struct {
	Mask  string    `json:"mask"`
	SetBy string    `json:"set_by"`
	SetAt time.Time `json:"set_at"`
}

// AccessEntry grants an account a level on a registered channel.
type AccessEntry struct {
	Account string `json:"account"`
	Level   string `json:"level"` // LevelFounder, LevelOp or LevelVoice
}

// Channel is everything kept of a registered channel. Name is the
// casefolded key the store files it under; DisplayName is the name as
// users wrote it. Strings are stored as JSON: invalid UTF-8 in fields
// other than Name is replaced by U+FFFD.
type Channel struct {
	Name         string        `json:"name"`
	DisplayName  string        `json:"display_name"`
	Founder      string        `json:"founder"`
	Registered   time.Time     `json:"registered"`
	Modes        string        `json:"modes"` // flag letters, e.g. "+ntR"
	Key          string        `json:"key,omitempty"`
	Limit        int           `json:"limit,omitempty"`
	Topic        string        `json:"topic,omitempty"`
	TopicSetBy   string        `json:"topic_set_by,omitempty"`
	TopicSetAt   time.Time     `json:"topic_set_at"`
	Bans         []ListEntry   `json:"bans,omitempty"`
	Excepts      []ListEntry   `json:"excepts,omitempty"`
	Invex        []ListEntry   `json:"invex,omitempty"`
	Access       []AccessEntry `json:"access,omitempty"`
	JoinThrottle string        `json:"join_throttle,omitempty"` // "count:seconds" or ""
	// History is the channel's history policy (HistoryWorld,
	// HistoryJoined, HistoryOff; "": the default for its modes).
	History string `json:"history,omitempty"`
}
