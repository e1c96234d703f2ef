package ircd

import (
	"slices"
	"strings"
	"testing"
)

// TestClientTagDataLimit: a client's tag data (between '@' and the space)
// is at most 4094 bytes (message-tags "Size limit"); more gets 417 and is
// not relayed, never truncated.
func TestClientTagDataLimit(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice", "message-tags")
	b := ts.connect("bob", "message-tags")
	tagData := func(n int, key string) string { // n bytes of tag data
		return key + "=" + strings.Repeat("v", n-len(key)-1)
	}
	tests := []struct {
		name      string
		tags      string
		delivered bool
	}{
		{"4094 bytes of client-only tags", tagData(4094, "+k"), true},
		{"4095 bytes of client-only tags", tagData(4095, "+k"), false},
		{"two client-only tags over 4094 together", tagData(2048, "+a") + ";" + tagData(2048, "+b"), false},
		{"client-only and other tags over 4094", tagData(4000, "+a") + ";" + tagData(100, "label"), false},
		{"8000 bytes of client-only tags", tagData(8000, "+k"), false},
	}
	for _, tt := range tests {
		for _, cmd := range []string{"PRIVMSG bob :hi", "TAGMSG bob"} {
			t.Run(tt.name+" "+cmd, func(t *testing.T) {
				a.send("@" + tt.tags + " " + cmd)
				msgs := a.collect()
				got := b.collect()
				if tt.delivered {
					if len(msgs) != 0 || len(got) != 1 || len(got[0].Tags["+k"]) != 4094-3 {
						t.Fatalf("sender %v, receiver %d messages", msgs, len(got))
					}
					return
				}
				if len(msgs) != 1 || msgs[0].Command != "417" {
					t.Fatalf("sender got %v, want 417", msgs)
				}
				if len(got) != 0 {
					t.Fatalf("relayed: %d messages", len(got))
				}
			})
		}
	}
}

// TestUserEmptyRealname: USER needs a non-empty realname (461).
func TestUserEmptyRealname(t *testing.T) {
	ts := startServer(t, nil)
	for _, line := range []string{"USER u 0 * :", "USER u 0 *"} {
		c := ts.dial()
		c.send("NICK n" + string(rune('a'+len(line)%26)))
		c.send(line)
		msgs := c.collect()
		if m := find(msgs, "461", nil); m == nil || m.Param(1) != "USER" {
			t.Errorf("%q: got %v, want 461 USER", line, msgs)
		}
		if find(msgs, "001", nil) != nil {
			t.Errorf("%q registered", line)
		}
	}
}

// TestKickSeveral: "KICK #c a,b" kicks both, and so does "KICK #c,#c a,b"
// (RFC 2812: one channel for all users, or one channel per user); every
// member sees both KICKs, each naming one user.
func TestKickSeveral(t *testing.T) {
	ts := startServer(t, nil)
	op := ts.connect("op")
	a := ts.connect("a")
	b := ts.connect("b")
	w := ts.connect("watcher")
	for i, line := range []string{"KICK #k%d a,b :out", "KICK #k%d,#k%d a,b :out"} {
		ch := "#k" + string(rune('0'+i))
		for _, c := range []*testClient{op, a, b, w} {
			c.join(ch)
		}
		for _, c := range []*testClient{op, a, b, w} {
			c.collect()
		}
		line = strings.ReplaceAll(line, "#k%d", ch)
		op.send(line)
		for _, c := range []*testClient{op, w} {
			var kicked []string
			for _, m := range filter(c.collect(), "KICK") {
				if m.Param(0) != ch || m.Param(2) != "out" {
					t.Errorf("%q: %s got %v", line, c.nick, m)
				}
				kicked = append(kicked, m.Param(1))
			}
			if !slices.Equal(kicked, []string{"a", "b"}) {
				t.Errorf("%q: %s saw KICKs of %v, want a and b", line, c.nick, kicked)
			}
		}
		// the first kicked sees its own kick, the second sees both
		if k := filter(a.collect(), "KICK"); len(k) != 1 || k[0].Param(1) != "a" {
			t.Errorf("%q: a saw %v", line, k)
		}
		if k := filter(b.collect(), "KICK"); len(k) != 2 {
			t.Errorf("%q: b saw %v", line, k)
		}
		if m := w.expectCode("NAMES "+ch, "353"); len(strings.Fields(m.Trailing())) != 2 {
			t.Errorf("%q: NAMES after the kicks: %v", line, m)
		}
	}
	// one channel per user, across channels
	op.join("#x", "#y")
	for _, c := range []*testClient{a, b} {
		c.join("#x", "#y")
	}
	w.collect()
	a.collect()
	b.collect()
	op.collect()
	op.send("KICK #x,#y a,b")
	msgs := filter(op.collect(), "KICK")
	if len(msgs) != 2 || msgs[0].Param(0) != "#x" || msgs[0].Param(1) != "a" || msgs[1].Param(0) != "#y" || msgs[1].Param(1) != "b" {
		t.Errorf("KICK #x,#y a,b: %v", msgs)
	}
	if m := op.expectCode("KICK #x,#y b", "461"); m.Param(1) != "KICK" {
		t.Errorf("mismatched channel and user lists: %v", m)
	}
}

// TestAwayNotifyOnJoin: a user who is away and joins a channel is
// announced to members with away-notify (AWAY after the JOIN), to no one
// else and not to themselves.
func TestAwayNotifyOnJoin(t *testing.T) {
	ts := startServer(t, nil)
	notified := ts.connect("notified", "away-notify")
	plain := ts.connect("plain")
	notified.join("#a")
	plain.join("#a")
	away := ts.connect("away", "away-notify")
	away.send("AWAY :gone fishing")
	back := ts.connect("back", "away-notify")
	back.send("AWAY :brb")
	back.send("AWAY")
	away.collect()
	back.collect()
	notified.collect()
	plain.collect()

	away.join("#a")
	msgs := notified.collect()
	if got := commands(msgs); !slices.Equal(got, []string{"JOIN", "AWAY"}) {
		t.Fatalf("notified got %v, want JOIN then AWAY", msgs)
	}
	if m := msgs[1]; m.Name != "away" || m.Trailing() != "gone fishing" || m.Host == "" {
		t.Errorf("AWAY %v", m)
	}
	if got := filter(plain.collect(), "AWAY"); len(got) != 0 {
		t.Errorf("client without away-notify got %v", got)
	}
	if got := filter(away.collect(), "AWAY"); len(got) != 0 {
		t.Errorf("the joiner got its own AWAY: %v", got)
	}
	// no AWAY for a joiner who is not away
	back.join("#a")
	if got := filter(notified.collect(), "AWAY"); len(got) != 0 {
		t.Errorf("AWAY for a user who is back: %v", got)
	}
}

// TestListELIST: LIST takes the conditions ELIST=MNU advertises: masks
// (M), !masks (N) and user counts (U), in one parameter or two.
func TestListELIST(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice")
	b := ts.connect("bob")
	a.join("#apple", "#banana", "#cherry", "#date")
	b.join("#banana", "#cherry")
	tests := []struct {
		line string
		want []string
	}{
		{"LIST", []string{"#apple", "#banana", "#cherry", "#date"}},
		{"LIST #b*", []string{"#banana"}},
		{"LIST !#b*", []string{"#apple", "#cherry", "#date"}},
		{"LIST !*an*,!#d*", []string{"#apple", "#cherry"}},
		{"LIST #*e*,!#date", []string{"#apple", "#cherry"}},
		{"LIST !#apple,>1", []string{"#banana", "#cherry"}},
		{"LIST !#banana >1", []string{"#cherry"}},
		{"LIST <2", []string{"#apple", "#date"}},
	}
	for _, tt := range tests {
		a.send(tt.line)
		var got []string
		for _, m := range filter(a.collect(), "322") {
			got = append(got, m.Param(1))
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %v, want %v", tt.line, got, tt.want)
		}
	}
}
