package ircd

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"
)

// Limits bounds every per-client and per-server resource. It is the one
// definition of these limits: the daemon's configuration decodes its
// [limits] section into it (the toml tags are the configuration keys), its
// defaults are the default tags (DefaultLimits), and ValidateLimits checks
// the range tags ("min,max"; either may be empty). New fills the fields a
// caller left at zero with their defaults.
type Limits struct {
	MaxClients           int           `toml:"max_clients" default:"10000" range:"1,1048576"`
	MaxChannels          int           `toml:"max_channels" default:"5000" range:"1,1048576"`
	MaxChannelsPerClient int           `toml:"max_channels_per_client" default:"50" range:"1,10000"`
	MaxMembersPerChannel int           `toml:"max_members_per_channel" default:"10000" range:"1,1048576"`
	MaxTargets           int           `toml:"max_targets" default:"4" range:"1,100"`
	MaxListEntries       int           `toml:"max_list_entries" default:"100" range:"1,10000"`
	LineBytes            int           `toml:"line_bytes" default:"512" range:"512,16384"` // message part, including CR LF
	TagBytes             int           `toml:"tag_bytes" default:"8191" range:"0,8191"`    // tag part, including '@' and the space; New: 0 is the default, negative none
	SendQBytes           int           `toml:"sendq_bytes" default:"262144" range:"4096,67108864"`
	NickLen              int           `toml:"nick_len" default:"32" range:"9,64"`
	UserLen              int           `toml:"user_len" default:"16" range:"1,64"`
	RealnameLen          int           `toml:"realname_len" default:"100" range:"1,390"`
	ChannelLen           int           `toml:"channel_len" default:"50" range:"2,64"`
	TopicLen             int           `toml:"topic_len" default:"390" range:"1,390"`
	KickLen              int           `toml:"kick_len" default:"255" range:"1,390"`
	AwayLen              int           `toml:"away_len" default:"200" range:"1,390"`
	KeyLen               int           `toml:"key_len" default:"32" range:"1,64"`
	ModesPerCommand      int           `toml:"modes_per_command" default:"6" range:"1,20"`
	MaxWhoReplies        int           `toml:"max_who_replies" default:"500" range:"1,100000"`
	PreRegLines          int           `toml:"prereg_lines" default:"32" range:"4,1000"`
	MaxPerCircuit        int           `toml:"max_per_circuit" default:"4" range:"1,1000"`           // connections from one origin (Listener.Origin)
	OriginConnRate       float64       `toml:"origin_conn_rate" default:"0.5" range:"0.001,1000000"` // new connections per second from one origin (Listener.RateOrigin)
	OriginConnBurst      int           `toml:"origin_conn_burst" default:"6" range:"1,1000000"`      // new connections from one origin at once
	RegistrationTimeout  time.Duration `toml:"registration_timeout" default:"30s" range:"1ms,"`
	PingInterval         time.Duration `toml:"ping_interval" default:"30s" range:"1ms,"`
	PingTimeout          time.Duration `toml:"ping_timeout" default:"60s" range:"1ms,"`
	ShutdownTimeout      time.Duration `toml:"shutdown_timeout" default:"4s" range:"1ms,"`
	MaxMonitor           int           `toml:"max_monitor" default:"100" range:"1,10000"`            // a client's MONITOR list (MONITOR= in 005)
	MultilineMaxBytes    int           `toml:"multiline_max_bytes" default:"4096" range:"512,65536"` // a draft/multiline batch's max-bytes (history keeps up to 64 KiB)
	MultilineMaxLines    int           `toml:"multiline_max_lines" default:"24" range:"2,1000"`      // a draft/multiline batch's max-lines
	MultilineTimeout     time.Duration `toml:"multiline_timeout" default:"30s" range:"1ms,"`         // an unfinished batch is dropped after this
}

// DefaultLimits returns the limits used when a field is zero.
func DefaultLimits() Limits {
	var l Limits
	eachLimit(&l, func(f reflect.StructField, v reflect.Value) {
		mustSet(v, f.Tag.Get("default"))
	})
	return l
}

// LimitError is a limit out of its range; Key is its configuration key.
type LimitError struct {
	Key string
	Msg string
}

func (e *LimitError) Error() string { return e.Key + ": " + e.Msg }

// ValidateLimits checks every limit against its range.
func ValidateLimits(l Limits) error {
	var err error
	eachLimit(&l, func(f reflect.StructField, v reflect.Value) {
		if err != nil {
			return
		}
		key := f.Tag.Get("toml")
		lo, hi, _ := cut(f.Tag.Get("range"))
		switch v.Kind() {
		case reflect.Int:
			min, max := parseBound(lo, -1<<62), parseBound(hi, 1<<62)
			if n := v.Int(); n < min || n > max {
				err = &LimitError{Key: key, Msg: fmt.Sprintf("must be between %d and %d, got %d", min, max, n)}
			}
		case reflect.Float64:
			min, max := parseFloatBound(lo, 0), parseFloatBound(hi, math.MaxFloat64)
			if f := v.Float(); !(f >= min && f <= max) {
				err = &LimitError{Key: key, Msg: fmt.Sprintf("must be between %g and %g, got %g", min, max, f)}
			}
		case reflect.Int64: // time.Duration
			min, _ := time.ParseDuration(lo)
			if d := time.Duration(v.Int()); d < min {
				err = &LimitError{Key: key, Msg: fmt.Sprintf("must be a positive duration of at least %v, got %v", min, d)}
			}
		}
	})
	return err
}

// fillLimits gives every field left at zero its default; a negative
// TagBytes means no tags at all.
func fillLimits(l Limits) Limits {
	noTags := l.TagBytes < 0
	d := DefaultLimits()
	dv := reflect.ValueOf(&d).Elem()
	eachLimit(&l, func(f reflect.StructField, v reflect.Value) {
		if v.Kind() == reflect.Float64 && !(v.Float() > 0) || v.Kind() != reflect.Float64 && v.Int() <= 0 {
			v.Set(dv.FieldByIndex(f.Index))
		}
	})
	if noTags {
		l.TagBytes = 0
	}
	return l
}

func eachLimit(l *Limits, fn func(reflect.StructField, reflect.Value)) {
	v := reflect.ValueOf(l).Elem()
	t := v.Type()
	for i := range t.NumField() {
		fn(t.Field(i), v.Field(i))
	}
}

func mustSet(v reflect.Value, s string) {
	if v.Type() == reflect.TypeOf(time.Duration(0)) {
		d, err := time.ParseDuration(s)
		if err != nil {
			panic("ircd: bad default tag " + s)
		}
		v.SetInt(int64(d))
		return
	}
	if v.Kind() == reflect.Float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			panic("ircd: bad default tag " + s)
		}
		v.SetFloat(f)
		return
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic("ircd: bad default tag " + s)
	}
	v.SetInt(n)
}

func cut(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func parseFloatBound(s string, def float64) float64 {
	if s == "" {
		return def
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return def
	}
	return f
}

func parseBound(s string, def int64) int64 {
	if s == "" {
		return def
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return def
	}
	return n
}
