package ircd

import (
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/irc.v4"
)

// TestInvalidUTF8Refused: UTF8ONLY holds. A line with invalid UTF-8 gets
// "FAIL <command> INVALID_UTF8" and nothing of it reaches anyone else; the
// FAIL never echoes the bad bytes.
func TestInvalidUTF8Refused(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice", "message-tags", "away-notify", "setname", "echo-message")
	b := ts.connect("bob", "message-tags", "away-notify", "setname")
	a.join("#u")
	b.join("#u")
	a.send("TOPIC #u :clean topic")
	a.collect()
	b.collect()
	tests := []struct {
		line string
		cmd  string // in the FAIL
	}{
		{"PRIVMSG #u :bad \xff byte", "PRIVMSG"},
		{"PRIVMSG bob :cut \xc3", "PRIVMSG"},
		{"NOTICE #u :\xfe\xfe", "NOTICE"},
		{"@+tag=\xff TAGMSG #u", "TAGMSG"},
		{"@+tag=\xe2\x82 PRIVMSG #u :fine text", "PRIVMSG"},
		{"TOPIC #u :\xff topic", "TOPIC"},
		{"AWAY :\xff", "AWAY"},
		{"SETNAME :\xc0\xaf", "SETNAME"},
		{"PART #u :\xff", "PART"},
		{"NICK \xffx", "NICK"},
		{"\xffCMD x", "*"},
	}
	for _, tt := range tests {
		t.Run(strings.ToValidUTF8(tt.line, "?"), func(t *testing.T) {
			a.send(tt.line)
			msgs := a.collect()
			if len(msgs) != 1 || msgs[0].Command != "FAIL" || msgs[0].Param(0) != tt.cmd || msgs[0].Param(1) != "INVALID_UTF8" || msgs[0].Trailing() == "" {
				t.Fatalf("sender got %v, want FAIL %s INVALID_UTF8", msgs, tt.cmd)
			}
			if got := b.collect(); len(got) != 0 {
				t.Fatalf("bob got %v", got)
			}
		})
	}
	// the topic and the membership are as before
	b.send("TOPIC #u")
	if m := b.expect("332", nil); m.Trailing() != "clean topic" {
		t.Errorf("topic %q", m.Trailing())
	}
	if m := b.expectCode("NAMES #u", "353"); !strings.Contains(m.Trailing(), "alice") {
		t.Errorf("alice left #u: %v", m)
	}
}

// TestInvalidUTF8BeforeRegistration: a bad realname or nick is refused
// with FAIL (not echoed), and registration goes on with valid ones.
func TestInvalidUTF8BeforeRegistration(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.dial()
	c.send("USER u 0 * :Bad \xff name")
	c.send("NICK n\xe9")
	c.send("NICK newbie")
	msgs := c.collect()
	fails := filter(msgs, "FAIL")
	if len(fails) != 2 || fails[0].Param(0) != "USER" || fails[1].Param(0) != "NICK" {
		t.Fatalf("want FAIL USER and FAIL NICK, got %v", msgs)
	}
	for _, m := range msgs {
		if m.Param(1) != "INVALID_UTF8" && m.Command == "FAIL" || !utf8.ValidString(m.String()) {
			t.Errorf("bad reply %q", m.String())
		}
		if m.Command == "001" || m.Command == "432" {
			t.Errorf("unexpected %v", m)
		}
	}
	c.send("USER u 0 * :Good Name")
	c.nick = "newbie"
	c.expectNumeric("001")
	c.expectEndOfMOTD()
	if m := c.expectCode("WHOIS newbie", "311"); m.Trailing() != "Good Name" {
		t.Errorf("realname %q", m.Trailing())
	}
	_ = irc.Message{}
}
