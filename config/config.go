// Package config loads and validates the daemon's TOML configuration.
//
// Every key has a default (see Default), so an almost empty file is a valid
// configuration. Unknown keys are errors, and every error names the key and,
// where the key appears in the file, its line.
package config

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/thorchat/thorchat/ircd"
)

// Config is the whole daemon configuration.
type Config struct {
	Server    Server    `toml:"server"`
	Listen    Listen    `toml:"listen"`
	Limits    Limits    `toml:"limits"`
	Tor       Tor       `toml:"tor"`
	Store     Store     `toml:"store"`
	Accounts  Accounts  `toml:"accounts"`
	Flood     Flood     `toml:"flood"`
	Operators Operators `toml:"operators"`
	Staff     Staff     `toml:"staff"`
	Opers     Opers     `toml:"opers"`
	ChanServ  ChanServ  `toml:"chanserv"`
	Channels  []Channel `toml:"channel"`
	Whowas    Whowas    `toml:"whowas"`
	History   History   `toml:"history"`
	Metrics   Metrics   `toml:"metrics"`
	Web       Web       `toml:"web"`

	// Path is the file the configuration was read from ("" for defaults).
	Path string `toml:"-"`
}

// Server holds the server's public identity.
type Server struct {
	Name     string `toml:"name"`
	Network  string `toml:"network"`
	MOTD     string `toml:"motd"`
	MOTDFile string `toml:"motd_file"`
	DataDir  string `toml:"data_dir"`
	LogLevel string `toml:"log_level"`
}

// Listen lists the listeners the daemon opens.
type Listen struct {
	DevTCP      []string `toml:"dev_tcp"`
	Unix        []string `toml:"unix"`
	Onion       bool     `toml:"onion"`
	OnionPort   int      `toml:"onion_port"`
	OnionSocket string   `toml:"onion_socket"`
}

// Limits is the [limits] section: the IRC server's limits, defined once
// in ircd.Limits (keys, defaults and ranges in its struct tags), and the
// connection and account settings that sit beside them.
type Limits struct {
	ircd.Limits
	MaxAccept          int     `toml:"max_accept"`
	MaxUnauthenticated int     `toml:"max_unauthenticated"`
	ConnRate           float64 `toml:"conn_rate"`
	ConnBurst          int     `toml:"conn_burst"`
	RequireSASL        bool    `toml:"require_sasl"`
}

// Tor configures the onion service.
type Tor struct {
	Mode            string `toml:"mode"`
	Binary          string `toml:"binary"`
	DataDir         string `toml:"data_dir"`
	ExtraTorrc      string `toml:"extra_torrc"`
	Control         string `toml:"control"`
	ControlPassword string `toml:"control_password"`
	KeyDir          string `toml:"key_dir"`

	IntroDoSDefense     bool `toml:"intro_dos_defense"`
	IntroDoSRatePerSec  int  `toml:"intro_dos_rate"`
	IntroDoSBurstPerSec int  `toml:"intro_dos_burst"`
	PoWDefenses         bool `toml:"pow_defenses"`
	PoWQueueRate        int  `toml:"pow_queue_rate"`
	PoWQueueBurst       int  `toml:"pow_queue_burst"`
	MaxStreams          int  `toml:"max_streams"`
	MaxStreamsClose     bool `toml:"max_streams_close_circuit"`
	ExportCircuitID     bool `toml:"export_circuit_id"`
}

// Metrics configures the Prometheus metrics endpoint: a unix socket only
// (mode 0600), never the onion service; TCP only on an explicit loopback
// address for development.
type Metrics struct {
	Enabled bool   `toml:"enabled"`
	Socket  string `toml:"socket"`  // default <data_dir>/metrics.sock
	DevTCP  string `toml:"dev_tcp"` // loopback host:port, off by default
	// DescriptorGrace is how long status tolerates an onion descriptor
	// that was never uploaded (or not re-uploaded) before it reports the
	// daemon unhealthy.
	DescriptorGrace Duration `toml:"descriptor_grace"`
}

// Web configures the browser client: served over the onion service itself
// on a second virtual port (OnionPort) forwarding to <data_dir>/http.sock,
// and on DevTCP (loopback only) for development.
type Web struct {
	Enabled         bool     `toml:"enabled"`
	OnionPort       int      `toml:"onion_port"`
	DevTCP          []string `toml:"dev_tcp"`
	DefaultChannels []string `toml:"default_channels"`
	// Socket is derived, not a key: <data_dir>/http.sock.
	Socket string `toml:"-"`
}

// Store configures the bbolt database.
type Store struct {
	Path string `toml:"path"`
}

// Accounts configures pubkey identities.
type Accounts struct {
	HRP          string   `toml:"hrp"`
	PubKeyHRP    string   `toml:"pubkey_hrp"`
	LoginRate    float64  `toml:"login_rate"`
	LoginBurst   int      `toml:"login_burst"`
	KeyCache     int      `toml:"key_cache"`
	SASLTimeout  Duration `toml:"sasl_timeout"`
	SASLFailures int      `toml:"sasl_max_failures"`
	// CreateRate (accounts per minute) and CreateBurst bound first-time
	// account creation server-wide; ExpireUnused deletes accounts that
	// hold nothing this long after their last login (0: never).
	CreateRate   float64  `toml:"create_rate"`
	CreateBurst  int      `toml:"create_burst"`
	ExpireUnused Duration `toml:"expire_unused"`
}

// Flood configures per-connection command throttling: the top-level keys
// are the class of ordinary registered clients.
type Flood struct {
	FloodClass
	Operators    FloodClass `toml:"operators"`    // logged-in node operators and staff
	Unregistered FloodClass `toml:"unregistered"` // before registration completes
}

// FloodClass is one token bucket: Rate commands per second earned (0 turns
// throttling off), Burst at once, Excess owed commands at which the client
// is disconnected.
type FloodClass struct {
	Rate   float64 `toml:"rate"`
	Burst  int     `toml:"burst"`
	Excess int     `toml:"excess"`
}

// Operators lists the node operators' keys or addresses.
type Operators struct {
	Keys     []string `toml:"keys"`
	File     string   `toml:"file"`
	Statuses []string `toml:"statuses"`
}

// Staff lists accounts of core community members.
type Staff struct {
	Accounts []string `toml:"accounts"`
}

// Opers lists accounts that get IRC operator privileges on login, and
// (off unless set) classic OPER names with bcrypt password hashes.
type Opers struct {
	Accounts  []string          `toml:"accounts"`
	Passwords map[string]string `toml:"passwords"`
	// OperRate (per minute) and OperBurst bound classic OPER password
	// checks server-wide, OperSlots how many run at once; OperClasses
	// limits OPER to sessions of these classes (empty: every user logged
	// in with the account's own key).
	OperRate    float64  `toml:"oper_rate"`
	OperBurst   int      `toml:"oper_burst"`
	OperSlots   int      `toml:"oper_slots"`
	OperClasses []string `toml:"oper_classes"`
}

// ChanServ bounds channel registration (ChanServ REGISTER).
type ChanServ struct {
	MaxPerAccount int      `toml:"max_per_account"` // channels one account may register; staff and IRC operators: no limit
	MinAccountAge Duration `toml:"min_account_age"` // younger accounts may not register (node operators, staff and IRC operators may); "0s": no minimum
	MaxRegistered int      `toml:"max_registered"`  // registered channels on the server (apart from limits.max_channels)
}

// Channel is a channel declared in the configuration.
type Channel struct {
	Name  string `toml:"name"`
	Topic string `toml:"topic"`
	Modes string `toml:"modes"`
	Speak string `toml:"speak"`
	// History is the channel's history policy: HistoryWorld, HistoryJoined
	// or HistoryOff; "" takes the default (world for channels anyone may
	// join, joined for +i, +k, +s or +p channels).
	History string `toml:"history"`
}

// Channel history policies ([[channel]] history).
const (
	// HistoryWorld: anyone who may join reads the whole retained history.
	HistoryWorld = "world"
	// HistoryJoined: an account reads from when it joined; a guest only
	// what was said while it was there.
	HistoryJoined = "joined"
	// HistoryOff: nothing is stored.
	HistoryOff = "off"
)

// History configures message history (IRCv3 draft/chathistory, replay on
// JOIN, read markers), kept in the database.
type History struct {
	// Enabled false stores nothing.
	Enabled bool `toml:"enabled"`
	// Expire deletes channel entries older than this (0: no age limit).
	Expire Duration `toml:"expire"`
	// MaxPerTarget keeps at most this many entries per channel or private
	// conversation, the oldest deleted first.
	MaxPerTarget int `toml:"max_per_target"`
	// Private stores private conversations between two logged-in accounts
	// (never guests'). Off by default: whoever takes over the server
	// could read them.
	Private bool `toml:"private"`
	// PrivateExpire is Expire for private conversations.
	PrivateExpire Duration `toml:"private_expire"`
	// ReplayLines is how many lines a client without draft/chathistory
	// gets replayed on JOIN (0: none).
	ReplayLines int `toml:"replay_lines"`
	// MaxQuery is CHATHISTORY=<max> in 005: messages per CHATHISTORY request.
	MaxQuery int `toml:"max_query"`
	// Queue bounds the messages waiting for their group commit; a client
	// whose message finds it full is told to try again.
	Queue int `toml:"queue"`
}

// Whowas bounds the WHOWAS history of recently quit nicks, which is kept
// in memory only.
type Whowas struct {
	Length int      `toml:"length"` // entries kept, the oldest dropped first
	TTL    Duration `toml:"ttl"`    // how long an entry is kept
}

// Duration is a time.Duration written as a string ("30s", "2m").
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (e.g. \"30s\"): %q", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Error is a configuration error that names a key and, when known, a line.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// Load reads, defaults and validates the configuration file at path.
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, raw)
}

// Parse decodes, defaults and validates a configuration held in memory;
// name is used in error messages.
func Parse(name string, raw []byte) (*Config, error) {
	c := Default()
	c.Path = name
	md, err := toml.Decode(string(raw), c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{File: name, Line: pe.Position.Line, Msg: pe.Message}
		}
		return nil, &Error{File: name, Msg: err.Error()}
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return nil, &Error{File: name, Line: keyLine(raw, k), Key: k.String(), Msg: "unknown key"}
	}
	if err := c.validate(); err != nil {
		var ve *Error
		if errors.As(err, &ve) {
			ve.File = name
			if ve.Line == 0 {
				ve.Line = keyLine(raw, splitKey(ve.Key))
			}
		}
		return nil, err
	}
	return c, nil
}
