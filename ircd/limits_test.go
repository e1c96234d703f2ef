package ircd

import (
	"errors"
	"testing"
	"time"
)

// TestLimitsDefaultsAndRanges: the tags are the one definition of the
// limits; the defaults are the documented values, are valid, and fill a
// zero Limits; the ranges refuse what is out of them with the key.
func TestLimitsDefaultsAndRanges(t *testing.T) {
	want := Limits{
		MaxClients: 10000, MaxChannels: 5000, MaxChannelsPerClient: 50,
		MaxMembersPerChannel: 10000, MaxTargets: 4, MaxListEntries: 100,
		LineBytes: 512, TagBytes: 8191, SendQBytes: 256 << 10,
		NickLen: 32, UserLen: 16, RealnameLen: 100, ChannelLen: 50,
		TopicLen: 390, KickLen: 255, AwayLen: 200, KeyLen: 32,
		ModesPerCommand: 6, MaxWhoReplies: 500, PreRegLines: 32, MaxPerCircuit: 4,
		OriginConnRate: 0.5, OriginConnBurst: 6,
		RegistrationTimeout: 30 * time.Second, PingInterval: 30 * time.Second,
		PingTimeout: 60 * time.Second, ShutdownTimeout: 4 * time.Second,
		MaxMonitor: 100, MultilineMaxBytes: 4096, MultilineMaxLines: 24,
		MultilineTimeout: 30 * time.Second,
	}
	if got := DefaultLimits(); got != want {
		t.Fatalf("DefaultLimits() = %+v, want %+v", got, want)
	}
	if err := ValidateLimits(want); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if got := fillLimits(Limits{NickLen: 20, TagBytes: -1}); got.NickLen != 20 || got.TagBytes != 0 || got.MaxClients != 10000 || got.PingTimeout != time.Minute || got.OriginConnRate != 0.5 {
		t.Fatalf("fillLimits: %+v", got)
	}
	tests := []struct {
		name   string
		mutate func(*Limits)
		key    string
	}{
		{"nick_len too small", func(l *Limits) { l.NickLen = 8 }, "nick_len"},
		{"line_bytes too large", func(l *Limits) { l.LineBytes = 16385 }, "line_bytes"},
		{"tag_bytes negative", func(l *Limits) { l.TagBytes = -1 }, "tag_bytes"},
		{"zero duration", func(l *Limits) { l.PingTimeout = 0 }, "ping_timeout"},
		{"integer seconds are nanoseconds", func(l *Limits) { l.ShutdownTimeout = 30 }, "shutdown_timeout"},
		{"origin_conn_rate zero", func(l *Limits) { l.OriginConnRate = 0 }, "origin_conn_rate"},
		{"origin_conn_rate too large", func(l *Limits) { l.OriginConnRate = 2e6 }, "origin_conn_rate"},
		{"origin_conn_burst zero", func(l *Limits) { l.OriginConnBurst = 0 }, "origin_conn_burst"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := DefaultLimits()
			tt.mutate(&l)
			var le *LimitError
			if err := ValidateLimits(l); !errors.As(err, &le) || le.Key != tt.key {
				t.Fatalf("ValidateLimits = %v, want an error for %s", err, tt.key)
			}
		})
	}
}
