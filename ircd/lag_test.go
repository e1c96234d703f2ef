package ircd

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// runClock moves the fake clock forward by step every few real
// milliseconds until the test ends, so that fake lag passes on its own
// (the server's tick resumes held clients).
func (ts *testServer) runClock(step time.Duration) {
	ts.t.Helper()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				ts.clock.Advance(step)
			}
		}
	}()
	ts.t.Cleanup(func() { close(stop); <-done })
}

// TestFakeLagBeforeRegistration: a client that sends more lines than the
// [flood.unregistered] burst before it registers is slowed down, not
// stalled: its lines are handled at the configured rate and it registers
// (the lag used to hold CAP END's registration for good, until the
// registration timeout closed the connection).
func TestFakeLagBeforeRegistration(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	capReqs := func(n int) []string {
		var out []string
		for range n {
			out = append(out, "CAP REQ :x")
		}
		return out
	}
	tests := []struct {
		name  string
		lines []string
		want  []string // numerics, in order
	}{
		{
			name:  "CAP, NICK, USER, ten CAP REQ, CAP END",
			lines: append(append([]string{"CAP LS 302", "NICK lagged", "USER u 0 * :u"}, capReqs(10)...), "CAP END"),
			want:  []string{"001"},
		},
		{
			name: "SASL step in flight",
			lines: append(append([]string{"CAP LS 302", "CAP REQ :sasl", "NICK lagged", "USER u 0 * :u",
				"AUTHENTICATE TEST", "AUTHENTICATE " + b64("slowacct")}, capReqs(7)...), "CAP END"),
			want: []string{"903", "001"},
		},
		{
			name:  "registration at the burst's end, then more lines",
			lines: append([]string{"NICK lagged", "USER u 0 * :u"}, strings.Split(strings.TrimSpace(strings.Repeat("PING :p\n", 14)), "\n")...),
			want:  []string{"001", "PONG"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, func(c *Config) {
				quietLimits(c)
				c.Backend = newTestAuth()
				c.Flood.Unregistered = FloodClass{Rate: 1, Burst: 12, Excess: 24}
				c.Flood.Default = FloodClass{Rate: 2, Burst: 10, Excess: 40}
			})
			ts.runClock(250 * time.Millisecond)
			c := ts.dial()
			c.nick = "lagged"
			c.sendRaw([]byte(strings.Join(tt.lines, "\r\n") + "\r\n"))
			for _, code := range tt.want {
				c.expectNumeric(code)
			}
		})
	}
}
