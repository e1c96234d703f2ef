package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestHostileSessionLogsNoErrors: nothing a client sends makes the daemon
// write an ERROR-level log line. The session tries channel names that are
// invalid UTF-8 or hold bidi, zero-width and control characters (JOIN,
// REGISTER and commands on them), look-alike registrations, and
// invalid UTF-8 where the store keeps text (topic, bans). The daemon's log
// (level warn and above) is captured and must hold no ERROR line; the bad
// names are refused at the IRC layer: with 479, or, when they are not
// valid UTF-8, the whole line with FAIL JOIN INVALID_UTF8 (UTF8ONLY).
func TestHostileSessionLogsNoErrors(t *testing.T) {
	tc := newTestConfig(t)
	d := startDaemon(t, tc.write(t))
	alice := newKey(t)
	a := dial(t, d.addr, "alice", alice)
	g := dial(t, d.addr, "guest", nil)

	bad := []string{"#bad\xff\xfe", "#node\u202eoperators", "#node\u200boperators", "#ctl\x01x", "#cut\xe2\x82"}
	for _, name := range bad {
		for _, c := range []*ircClient{a, g} {
			c.send("JOIN " + name)
			if !utf8.ValidString(name) {
				if m := msgsWith(c.collect(), "FAIL"); len(m) != 1 || m[0].Param(0) != "JOIN" || m[0].Param(1) != "INVALID_UTF8" {
					t.Errorf("JOIN %q: want one FAIL JOIN INVALID_UTF8, got %v", name, m)
				}
			} else if m := msgsWith(c.collect(), "479"); len(m) != 1 || m[0].Param(1) != name {
				t.Errorf("JOIN %q: want one 479 naming it, got %v", name, m)
			}
			c.send("CS REGISTER " + name)
			c.send("CS ACCESS " + name + " ADD bob op")
			c.send("TOPIC " + name + " :x")
			c.send("MODE " + name + " +b x")
			c.send("PRIVMSG " + name + " :hello")
			c.collect()
		}
	}
	a.join("#real", "")
	a.expectChanServ("REGISTER #real", "is now registered")
	a.join("#re\u0430l", "") // Cyrillic а
	if n := a.chanServ("REGISTER #re\u0430l"); len(n) != 1 || !strings.Contains(n[0], "looks too much like the registered channel #real") {
		t.Errorf("REGISTER of a look-alike: %q", n)
	}
	a.send("TOPIC #real :\xff\xfe broken")
	a.send("MODE #real +b \xff!*@*")
	a.send("NICK \xff")
	a.send("ACCEPT \xff")
	a.send("NS CLAIM")
	a.send("NS INFO \xff")
	a.collect()
	g.send("NICK \xe2\x80\xae")
	g.collect()
	d.stop()
	for _, l := range strings.Split(d.logs.String(), "\n") {
		if strings.Contains(l, "level=ERROR") {
			t.Errorf("ERROR log line during a hostile session: %s", l)
		}
	}
}
