package ircd

import (
	"strings"
	"testing"

	"gopkg.in/irc.v4"
)

// checkMsgID fails unless id is a well-formed message ID (IRCv3
// message-ids: a value, not starting with ':', no space, CR or LF; at most
// 64 bytes here).
func checkMsgID(t *testing.T, who, id string) {
	t.Helper()
	if id == "" || len(id) > 64 || id[0] == ':' || strings.ContainsAny(id, " \r\n;") {
		t.Errorf("%s: bad msgid %q", who, id)
	}
}

// TestMsgID: every PRIVMSG, NOTICE and TAGMSG reaches message-tags
// clients with one msgid, the same in the sender's echo; clients without
// message-tags get no tags; IDs are unique and increase in sending order.
func TestMsgID(t *testing.T) {
	ts := startServer(t, nil)
	sender := ts.connect("sender", "message-tags", "echo-message")
	tagged := ts.connect("tagged", "message-tags")
	both := ts.connect("both", "message-tags", "server-time")
	plain := ts.connect("plain")
	for _, c := range []*testClient{sender, tagged, both, plain} {
		c.join("#m")
		c.collect()
	}
	tests := []struct {
		line string
		cmd  string
		to   []*testClient // receivers with message-tags
	}{
		{"PRIVMSG #m :hello", "PRIVMSG", []*testClient{tagged, both}},
		{"NOTICE #m :note", "NOTICE", []*testClient{tagged, both}},
		{"@+typing=active TAGMSG #m", "TAGMSG", []*testClient{tagged, both}},
		{"@+draft/reply=x PRIVMSG #m :reply", "PRIVMSG", []*testClient{tagged, both}},
		{"PRIVMSG tagged :private", "PRIVMSG", []*testClient{tagged}},
		{"NOTICE both :private notice", "NOTICE", []*testClient{both}},
		{"@+typing=paused TAGMSG tagged", "TAGMSG", []*testClient{tagged}},
		{"PRIVMSG @#m :ops only", "PRIVMSG", nil}, // sender is not op: only the echo
	}
	seen := map[string]string{}
	last := ""
	for _, tt := range tests {
		sender.send(tt.line)
		echo := filter(sender.collect(), tt.cmd)
		if len(echo) != 1 {
			t.Fatalf("%q: echo %v", tt.line, echo)
		}
		id := echo[0].Tags["msgid"]
		checkMsgID(t, "echo of "+tt.line, id)
		if prev, dup := seen[id]; dup {
			t.Errorf("%q: msgid %q already used by %q", tt.line, id, prev)
		}
		seen[id] = tt.line
		if id <= last {
			t.Errorf("%q: msgid %q does not sort after the previous %q", tt.line, id, last)
		}
		last = id
		for _, rc := range tt.to {
			got := filter(rc.collect(), tt.cmd)
			if len(got) != 1 || got[0].Tags["msgid"] != id {
				t.Errorf("%q: %s got %v, want msgid %q", tt.line, rc.nick, got, id)
			}
		}
		for _, m := range filter(plain.collect(), tt.cmd) {
			if len(m.Tags) != 0 {
				t.Errorf("%q: client without message-tags got tags %v", tt.line, m.Tags)
			}
		}
	}
}

// TestMsgIDUniqueAcrossRestarts: two server processes started at the
// same instant (the fake clock does not move) never issue the same ID.
func TestMsgIDUniqueAcrossRestarts(t *testing.T) {
	ids := map[string]int{}
	for run := 0; run < 2; run++ {
		ts := startServer(t, nil)
		a := ts.connect("a", "message-tags", "echo-message")
		a.join("#r")
		for i := 0; i < 5; i++ {
			a.send("PRIVMSG #r :hi")
			m := a.expect("PRIVMSG", func(m *irc.Message) bool { return m.Name == "a" })
			id := m.Tags["msgid"]
			checkMsgID(t, "run", id)
			if r, dup := ids[id]; dup {
				t.Fatalf("run %d reissued msgid %q of run %d", run, id, r)
			}
			ids[id] = run
		}
		ts.stop()
	}
}
