package ircd

import (
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

// TestClientOnlyTagsRelay: reactions, replies and typing reach channel
// members and private targets that have message-tags, with their tags,
// and never clients without it.
func TestClientOnlyTagsRelay(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.connect("alice", "message-tags", "echo-message")
	bob := ts.connect("bob", "message-tags")
	carol := ts.connect("carol")
	for _, c := range []*testClient{alice, bob, carol} {
		c.join("#c")
	}
	alice.send("PRIVMSG #c :poll: yes or no?")
	msgid := alice.expect("PRIVMSG", nil).Tags["msgid"]
	if msgid == "" {
		t.Fatal("no msgid on the echo")
	}
	for _, c := range []*testClient{alice, bob, carol} {
		c.collect()
	}
	tests := []struct {
		name string
		tags string
		want map[string]string
	}{
		{"react", "+draft/react=👍;+draft/reply=" + msgid, map[string]string{"+draft/react": "👍", "+draft/reply": msgid}},
		{"unreact", "+draft/unreact=👍;+draft/reply=" + msgid, map[string]string{"+draft/unreact": "👍", "+draft/reply": msgid}},
		{"reply", "+reply=" + msgid, map[string]string{"+reply": msgid}},
		{"draft reply", "+draft/reply=" + msgid, map[string]string{"+draft/reply": msgid}},
		{"typing", "+typing=active", map[string]string{"+typing": "active"}},
	}
	for _, tt := range tests {
		for _, target := range []string{"#c", "bob", "carol"} {
			t.Run(tt.name+" to "+target, func(t *testing.T) {
				ts.clock.Advance(typingInterval) // not the throttle under test here
				alice.send("@" + tt.tags + " TAGMSG " + target)
				alice.sync()
				if target != "carol" {
					m := bob.expect("TAGMSG", nil)
					if m.Param(0) != target || m.Prefix.Name != "alice" || m.Tags["msgid"] == "" {
						t.Fatalf("bob got %v", m)
					}
					for k, v := range tt.want {
						if m.Tags[k] != v {
							t.Fatalf("bob got %v, want %s=%s", m, k, v)
						}
					}
				}
				if got := filter(carol.collect(), "TAGMSG"); len(got) != 0 {
					t.Fatalf("carol (no message-tags) got %v", got)
				}
				bob.collect()
			})
		}
	}
	// a reply on a PRIVMSG reaches carol without its tags
	alice.send("@+draft/reply=" + msgid + " PRIVMSG #c :yes")
	m := carol.expect("PRIVMSG", nil)
	if len(m.Tags) != 0 || m.Trailing() != "yes" {
		t.Fatalf("carol got %v", m)
	}
	if m := bob.expect("PRIVMSG", nil); m.Tags["+draft/reply"] != msgid {
		t.Fatalf("bob got %v", m)
	}
}

// TestTypingThrottle: one +typing per target per 3 s per client; extras
// are dropped silently (no error, no echo), other targets and other tags
// are not affected.
func TestTypingThrottle(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.connect("alice", "message-tags", "echo-message")
	bob := ts.connect("bob", "message-tags")
	dave := ts.connect("dave", "message-tags")
	alice.join("#c")
	bob.join("#c")
	alice.collect()
	bob.collect()
	typing := func(target, state string) { alice.send("@+typing=" + state + " TAGMSG " + target) }
	count := func(c *testClient) int { return len(filter(c.collect(), "TAGMSG")) }

	typing("#c", "active")
	typing("#c", "active") // within 3 s: dropped
	typing("#C", "paused") // same target, other case: dropped
	typing("bob", "active")
	typing("dave", "active")
	typing("dave", "done") // dropped
	msgs := alice.collect()
	if n := len(filter(msgs, "TAGMSG")); n != 3 {
		t.Fatalf("alice's echoes: %d, want 3: %v", n, msgs)
	}
	if e := errorNumerics(msgs); len(e) != 0 || find(msgs, "FAIL", nil) != nil {
		t.Fatalf("a dropped typing notification got a reply: %v", msgs)
	}
	if n := count(bob); n != 2 { // #c and private
		t.Fatalf("bob got %d, want 2", n)
	}
	if n := count(dave); n != 1 {
		t.Fatalf("dave got %d, want 1", n)
	}
	// a reaction is not throttled
	alice.send("@+draft/react=x TAGMSG dave")
	alice.send("@+draft/react=y TAGMSG dave")
	alice.sync()
	if n := count(dave); n != 2 {
		t.Fatalf("dave got %d reactions, want 2", n)
	}
	ts.clock.Advance(typingInterval - time.Millisecond)
	typing("dave", "active")
	alice.sync()
	if n := count(dave); n != 0 {
		t.Fatalf("dave got %d before 3 s, want 0", n)
	}
	ts.clock.Advance(time.Millisecond)
	typing("dave", "done")
	typing("#c", "done")
	alice.sync()
	if n := count(dave); n != 1 {
		t.Fatalf("dave got %d after 3 s, want 1", n)
	}
	if n := count(bob); n != 1 {
		t.Fatalf("bob got %d after 3 s, want 1", n)
	}
}

// TestTypingMemoryBounded: the per-client record holds at most
// maxTypingTargets live targets; expired ones make room.
func TestTypingMemoryBounded(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Limits.MaxTargets = 4 })
	alice := ts.connect("alice", "message-tags", "echo-message")
	for i := range maxTypingTargets + 8 {
		alice.send("@+typing=active TAGMSG nobody" + itoa(i))
	}
	msgs := alice.collect()
	if n := len(filter(msgs, "401")); n != maxTypingTargets {
		t.Fatalf("%d targets tried, want %d (the rest dropped)", n, maxTypingTargets)
	}
	size := func() (n int) {
		ts.do(func(s *Server) { n = len(s.st.nicks["alice"].typing) })
		return n
	}
	if n := size(); n != maxTypingTargets {
		t.Fatalf("%d entries, want %d", n, maxTypingTargets)
	}
	ts.clock.Advance(typingInterval)
	alice.send("@+typing=active TAGMSG another")
	if m := find(alice.collect(), "401", func(m *irc.Message) bool { return m.Param(1) == "another" }); m == nil {
		t.Fatal("typing to a new target after expiry was dropped")
	}
	if n := size(); n != 1 {
		t.Fatalf("%d entries after expiry, want 1", n)
	}
}
