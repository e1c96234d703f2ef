package accounts_test

import (
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

// draft/read-marker over real sockets and a real bbolt file.

var markerCaps = append([]string{"draft/read-marker"}, histCaps...)

// markreads returns the MARKREAD lines among msgs as "target ts".
func markreads(msgs []*irc.Message) []string {
	var out []string
	for _, m := range msgs {
		if m.Command == "MARKREAD" {
			out = append(out, m.Param(0)+" "+m.Param(1))
		}
	}
	return out
}

// joinMarker joins ch and returns the MARKREAD sent before the end of
// NAMES ("" for none), failing when it comes after it.
func (c *client) joinMarker(ch string) string {
	c.t.Helper()
	msgs := c.join(ch)
	got := markreads(msgs)
	if len(got) != 1 {
		c.t.Fatalf("%s: JOIN %s: MARKREAD before 366: %v in %v", c.nick, ch, got, msgs)
	}
	join := -1
	for i, m := range msgs {
		if m.Command == "JOIN" {
			join = i
		}
		if m.Command == "MARKREAD" && (join < 0 || i < join) {
			c.t.Fatalf("%s: MARKREAD before the JOIN: %v", c.nick, msgs)
		}
	}
	return got[0]
}

func TestReadMarker(t *testing.T) {
	e := startHistEnv(t, histOpts{private: true})
	ts := func(d time.Duration) string {
		return "timestamp=" + e.clock.Now().Add(d).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	a1 := e.connect(t, "alice", key("m-alice"), markerCaps...)
	a2 := e.connect(t, "alice2", key("m-alice"), markerCaps...) // the same account
	a3 := e.connect(t, "alice3", key("m-alice"), histCaps...)   // the same account, no cap
	bob := e.connect(t, "bob", key("m-bob"), markerCaps...)     // another account
	guest := e.connect(t, "guest", nil, markerCaps...)          // no account
	plain := e.connect(t, "plain", key("m-plain"), histCaps...) // no cap: no MARKREAD on JOIN

	if got := a1.joinMarker("#rm"); got != "#rm *" {
		t.Fatalf("first join: %q, want \"#rm *\"", got)
	}
	if got := guest.joinMarker("#rm"); got != "#rm *" {
		t.Fatalf("guest join: %q", got)
	}
	if got := markreads(plain.join("#rm")); got != nil {
		t.Fatalf("a client without the cap got %v", got)
	}
	e.clock.Advance(time.Minute)
	t1 := ts(-30 * time.Second)

	// set: the asker and every other session of the account with the cap
	a1.send("MARKREAD #RM " + t1)
	want := "#rm " + t1
	if got := a1.expect("MARKREAD", nil); got.Param(0)+" "+got.Param(1) != want {
		t.Fatalf("set: %v, want %s", got, want)
	}
	if got := a2.expect("MARKREAD", nil); got.Param(0)+" "+got.Param(1) != want {
		t.Fatalf("other session: %v, want %s", got, want)
	}
	for _, c := range []*client{a3, bob, guest, plain} {
		if got := markreads(c.collect()); got != nil {
			t.Fatalf("%s saw another's marker: %v", c.nick, got)
		}
	}

	tests := []struct {
		name, cmd string
		want      string // MARKREAD reply; "" with fail
		fail      string // FAIL code
		others    bool   // a2 hears it too
	}{
		{"older is ignored", "MARKREAD #rm " + ts(-time.Hour), want, "", false},
		{"equal is ignored", "MARKREAD #rm " + t1, want, "", false},
		{"get", "MARKREAD #rm", want, "", false},
		{"future is clamped to now", "MARKREAD #rm " + ts(time.Hour), "#rm " + ts(0), "", true},
		{"unset target", "MARKREAD #other", "#other *", "", false},
		{"private target", "MARKREAD bob " + ts(-time.Second), "bob " + ts(-time.Second), "", true},
		{"private get by nick", "MARKREAD bob", "bob " + ts(-time.Second), "", false},
		{"no params", "MARKREAD", "", "NEED_MORE_PARAMS", false},
		{"bad timestamp", "MARKREAD #rm yesterday", "", "INVALID_PARAMS", false},
		{"star is not a set", "MARKREAD #rm *", "", "INVALID_PARAMS", false},
		{"unknown nick", "MARKREAD nosuchnick", "", "INVALID_PARAMS", false},
		{"guest nick", "MARKREAD guest", "", "INVALID_PARAMS", false},
		{"bad channel", "MARKREAD #a,b", "", "INVALID_PARAMS", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a1.send(tt.cmd)
			msgs := a1.readUntil("MARKREAD", "FAIL")
			m := msgs[len(msgs)-1]
			switch {
			case tt.fail != "":
				if m.Command != "FAIL" || m.Param(0) != "MARKREAD" || m.Param(1) != tt.fail {
					t.Fatalf("got %v, want FAIL MARKREAD %s", m, tt.fail)
				}
			case m.Command != "MARKREAD" || m.Param(0)+" "+m.Param(1) != tt.want:
				t.Fatalf("got %v, want MARKREAD %s", m, tt.want)
			}
			got := markreads(a2.collect())
			if tt.others && (len(got) != 1 || got[0] != tt.want) {
				t.Fatalf("other session: %v, want %s", got, tt.want)
			}
			if !tt.others && got != nil {
				t.Fatalf("other session heard an unchanged marker: %v", got)
			}
		})
	}

	// a guest has no markers
	guest.send("MARKREAD #rm " + ts(0))
	if m := guest.expect("FAIL", nil); m.Param(0) != "MARKREAD" || m.Param(1) != "INTERNAL_ERROR" || m.Param(2) != "#rm" {
		t.Fatalf("guest: %v", m)
	}
	// the marker is sent on JOIN to a second session, and survives a restart
	final := "#rm " + ts(0)
	if got := a2.joinMarker("#rm"); got != final {
		t.Fatalf("second session's join: %q, want %q", got, final)
	}
	path, clock := e.path, e.clock
	e.stop()
	e2 := startHistEnv(t, histOpts{private: true, path: path, clock: clock})
	again := e2.connect(t, "alice", key("m-alice"), markerCaps...)
	if got := again.joinMarker("#rm"); got != final {
		t.Fatalf("after a restart: %q, want %q", got, final)
	}
	again.send("MARKREAD " + accountOf(t, key("m-bob"))) // bob is offline: by account
	if m := again.expect("MARKREAD", nil); m.Param(1) != ts(-time.Second) {
		t.Fatalf("private marker after a restart: %v", m)
	}
	// several channels in one JOIN: for each, its JOIN, MARKREAD and end
	// of NAMES in that order
	again.send("JOIN #x1,#x2,#rm")
	again.send("PING :done")
	pos := map[string]int{}
	for i, m := range again.readUntil("PONG") {
		switch m.Command {
		case "JOIN", "MARKREAD":
			pos[m.Command+" "+m.Param(0)] = i + 1
		case "366":
			pos["366 "+m.Param(1)] = i + 1
		}
	}
	for _, ch := range []string{"#x1", "#x2"} {
		j, mr, end := pos["JOIN "+ch], pos["MARKREAD "+ch], pos["366 "+ch]
		if j == 0 || mr == 0 || end == 0 || !(j < mr && mr < end) {
			t.Fatalf("JOIN #x1,#x2,#rm: %s: JOIN at %d, MARKREAD at %d, 366 at %d", ch, j, mr, end)
		}
	}
	if pos["JOIN #rm"] != 0 {
		t.Fatalf("joined #rm twice")
	}
}
