package ircd

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/irc.v4"
)

// monItems returns the targets of the 730/731/732 numerics in msgs with
// code, in order.
func monItems(msgs []*irc.Message, code string) []string {
	var out []string
	for _, m := range filter(msgs, code) {
		out = append(out, strings.Split(m.Trailing(), ",")...)
	}
	return out
}

func TestMonitorCommands(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Limits.MaxMonitor = 3 })
	w := ts.connect("watcher")
	ts.connect("bob")
	tests := []struct {
		name             string
		line             string
		online, offline  []string
		list             []string // MONITOR L afterwards
		full             string   // 734 targets
		wantNoOtherReply bool
	}{
		{"add offline", "MONITOR + carol", nil, []string{"carol"}, []string{"carol"}, "", false},
		{"add online with mask", "MONITOR + Bob", []string{"bob!~bob@guest/2"}, nil, []string{"Bob", "carol"}, "", false},
		{"already there: status again, not added twice", "MONITOR + bob,carol", []string{"bob!~bob@guest/2"}, []string{"carol"}, []string{"Bob", "carol"}, "", false},
		{"invalid nick skipped", "MONITOR + #chan", nil, nil, []string{"Bob", "carol"}, "", true},
		{"list full: 734 names the rest", "MONITOR + dave,erin,frank", nil, []string{"dave"}, []string{"Bob", "carol", "dave"}, "erin,frank", false},
		{"remove: no output", "MONITOR - CAROL,nobody", nil, nil, []string{"Bob", "dave"}, "", true},
		{"status", "MONITOR S", []string{"bob!~bob@guest/2"}, []string{"dave"}, []string{"Bob", "dave"}, "", false},
		{"clear: no output", "MONITOR C", nil, nil, nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.send(tt.line)
			msgs := w.collect()
			if got := monItems(msgs, "730"); !slices.Equal(got, tt.online) {
				t.Errorf("730 %q, want %q (%v)", got, tt.online, msgs)
			}
			if got := monItems(msgs, "731"); !slices.Equal(got, tt.offline) {
				t.Errorf("731 %q, want %q (%v)", got, tt.offline, msgs)
			}
			full := find(msgs, "734", nil)
			if (full != nil) != (tt.full != "") || full != nil && (full.Param(1) != "3" || full.Param(2) != tt.full) {
				t.Errorf("734 %v, want targets %q", full, tt.full)
			}
			if tt.wantNoOtherReply && len(msgs) != 0 {
				t.Errorf("replies %v, want none", msgs)
			}
			w.send("MONITOR L")
			lm := w.collect()
			got := monItems(lm, "732")
			slices.Sort(got)
			if !slices.Equal(got, tt.list) || find(lm, "733", nil) == nil {
				t.Errorf("list %q, want %q (%v)", got, tt.list, lm)
			}
		})
	}
	for _, line := range []string{"MONITOR +", "MONITOR"} {
		w.expectCode(line, "461")
	}
	w.send("MONITOR X")
	if m := find(w.collect(), "FAIL", nil); m == nil || m.Param(0) != "MONITOR" {
		t.Fatalf("MONITOR X: %v", m)
	}
	// 005
	c := ts.dial()
	c.send("NICK isup")
	c.send("USER isup 0 * :x")
	var toks []string
	for _, m := range filter(c.collect(), "005") {
		toks = append(toks, m.Params[1:len(m.Params)-1]...)
	}
	if !slices.Contains(toks, "MONITOR=3") {
		t.Fatalf("005 %q lacks MONITOR=3", toks)
	}
}

// TestMonitorLongList: replies are split to fit the line limit.
func TestMonitorLongList(t *testing.T) {
	ts := startServer(t, nil)
	w := ts.connect("watcher")
	var nicks []string
	for i := range 100 {
		nicks = append(nicks, "someone"+itoa(i))
	}
	w.send("MONITOR + " + strings.Join(nicks[:50], ","))
	w.send("MONITOR + " + strings.Join(nicks[50:], ","))
	msgs := w.collect()
	if got := monItems(msgs, "731"); len(got) != 100 {
		t.Fatalf("%d offline, want 100", len(got))
	}
	for _, m := range msgs {
		if n := len(m.String()) + 2; n > 512 {
			t.Fatalf("%d-byte line %v", n, m)
		}
	}
	w.send("MONITOR + one-too-many")
	if m := find(w.collect(), "734", nil); m == nil || m.Param(1) != "100" || m.Param(2) != "one-too-many" {
		t.Fatalf("734 %v", m)
	}
}

// TestMonitorNotifications: online at registration, offline at QUIT and at
// a dropped connection, and across nick changes.
func TestMonitorNotifications(t *testing.T) {
	ts := startServer(t, nil)
	w := ts.connect("watcher")
	w.send("MONITOR + op1,op2,op3")
	w.collect()

	expect := func(code, item string) {
		t.Helper()
		m := w.expect(code, nil)
		if m.Trailing() != item || m.Param(0) != "watcher" {
			t.Fatalf("%s %v, want %q", code, m, item)
		}
	}
	op1 := ts.connect("op1")
	expect("730", "op1!~op1@guest/2")
	// nick change: offline under the old nick, online under the new one
	op1.send("NICK op2")
	expect("731", "op1")
	expect("730", "op2!~op1@guest/2")
	// to a nick nobody monitors: only offline
	op1.send("NICK elsewhere")
	expect("731", "op2")
	w.sync()
	// case only: no notification
	op1.send("NICK Elsewhere")
	op1.send("NICK op3")
	expect("730", "op3!~op1@guest/2")
	op1.send("QUIT :bye")
	expect("731", "op3")
	// a dropped connection
	op2 := ts.connect("op2")
	expect("730", "op2!~op2@guest/3")
	op2.conn.Close()
	expect("731", "op2")
	// an unregistered client holding the nick is not online
	u := ts.dial()
	u.send("NICK op1")
	u.sync()
	w.send("MONITOR S")
	msgs := w.collect()
	if on := monItems(msgs, "730"); len(on) != 0 {
		t.Fatalf("online %q, want none", on)
	}
	// the watcher quits: the index forgets it
	w.send("QUIT")
	w.expectClosed()
	ts.do(func(s *Server) {})
	ts.do(func(s *Server) {
		if len(s.monitors) != 0 {
			t.Errorf("monitor index not empty after the watcher quit: %v", s.monitors)
		}
	})
}

// TestExtendedMonitor: AWAY, ACCOUNT, CHGHOST and SETNAME of a monitored
// nick reach a watcher with extended-monitor and the matching cap that
// shares no channel with it, once to one that does, and never to one
// without extended-monitor.
func TestExtendedMonitor(t *testing.T) {
	ts := startServer(t, withAuth(newTestAuth()))
	caps := []string{"away-notify", "account-notify", "chghost", "setname"}
	ext := ts.connect("ext", append([]string{"extended-monitor"}, caps...)...)
	shared := ts.connect("shared", append([]string{"extended-monitor"}, caps...)...)
	plain := ts.connect("plain", caps...)
	noAway := ts.connect("noaway", "extended-monitor", "setname")
	for _, w := range []*testClient{ext, shared, plain, noAway} {
		w.send("MONITOR + bob")
		w.collect()
	}
	bob := ts.connect("bob", "sasl")
	bob.join("#c")
	shared.join("#c")
	for _, w := range []*testClient{ext, shared, plain, noAway} {
		w.collect()
	}
	bob.send("AWAY :lunch")
	bob.send("SETNAME :Robert")
	bob.login("acct1")
	bob.sync()
	type want struct{ away, setname, account, chghost int }
	for _, tc := range []struct {
		w    *testClient
		want want
	}{
		{ext, want{1, 1, 1, 1}},
		{shared, want{1, 1, 1, 1}},
		{plain, want{}},
		{noAway, want{0, 1, 0, 0}},
	} {
		msgs := tc.w.collect()
		got := want{len(filter(msgs, "AWAY")), len(filter(msgs, "SETNAME")), len(filter(msgs, "ACCOUNT")), len(filter(msgs, "CHGHOST"))}
		if got != tc.want {
			t.Errorf("%s got %+v, want %+v: %v", tc.w.nick, got, tc.want, msgs)
		}
	}
}
