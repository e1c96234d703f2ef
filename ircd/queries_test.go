package ircd

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

func TestWho(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice")
	b := ts.connect("bob")
	inv := ts.connect("invis")
	out := ts.connect("outsider")
	inv.send("MODE invis +i")
	inv.collect()
	a.join("#w", "#sec")
	b.join("#w")
	inv.join("#w")
	a.send("MODE #sec +s")
	a.send("MODE #w +v bob")
	a.collect()

	tests := []struct {
		who   *testClient
		line  string
		mask  string   // 315 parameter
		nicks []string // 352 nicks, sorted
	}{
		{out, "WHO #w", "#w", []string{"alice", "bob"}},
		{b, "WHO #w", "#w", []string{"alice", "bob", "invis"}},
		{b, "WHO #W", "#W", []string{"alice", "bob", "invis"}},
		{out, "WHO #sec", "#sec", nil},
		{a, "WHO #sec", "#sec", []string{"alice"}},
		{out, "WHO #none", "#none", nil},
		{out, "WHO alice", "alice", []string{"alice"}},
		{out, "WHO ALICE", "ALICE", []string{"alice"}},
		{out, "WHO invis", "invis", []string{"invis"}}, // exact nick: shown
		{out, "WHO *", "*", []string{"alice", "bob", "outsider"}},
		{b, "WHO *", "*", []string{"alice", "bob", "invis", "outsider"}}, // shares a channel
		{out, "WHO", "*", []string{"alice", "bob", "outsider"}},
		{out, "WHO b*", "b*", []string{"bob"}},
		{out, "WHO *guest/*", "*guest/*", []string{"alice", "bob", "outsider"}},
		{out, "WHO Real?b*", "Real?b*", []string{"bob"}}, // realname
		{out, "WHO nobody*", "nobody*", nil},
		{out, "WHO * o", "*", nil},
	}
	for _, tt := range tests {
		tt.who.send(tt.line)
		msgs := tt.who.collect()
		var nicks []string
		for _, m := range filter(msgs, "352") {
			nicks = append(nicks, m.Param(5))
		}
		slices.Sort(nicks)
		if !slices.Equal(nicks, tt.nicks) {
			t.Errorf("%s %q: %v, want %v", tt.who.nick, tt.line, nicks, tt.nicks)
		}
		if len(msgs) == 0 || msgs[len(msgs)-1].Command != "315" || msgs[len(msgs)-1].Param(1) != tt.mask {
			t.Errorf("%q: no final 315 %s: %v", tt.line, tt.mask, msgs)
		}
	}
	out.send("WHO #w")
	m := find(out.collect(), "352", func(m *irc.Message) bool { return m.Param(5) == "bob" })
	want := []string{"outsider", "#w", "~bob", m.Param(3), "irc.test", "bob", "H+", "0 Real bob"}
	if !slices.Equal(m.Params, want) || !strings.HasPrefix(m.Param(3), "guest/") {
		t.Fatalf("352 %q, want %q", m.Params, want)
	}
	// a nick query names a visible channel of the target
	out.send("WHO bob")
	if m := out.expectNumeric("352"); m.Param(1) != "#w" {
		t.Fatalf("352 channel: %v", m)
	}
}

func TestWhoLimit(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Limits.MaxWhoReplies = 3 })
	var c *testClient
	for _, n := range []string{"u1", "u2", "u3", "u4", "u5"} {
		c = ts.connect(n)
		c.join("#many")
	}
	for _, q := range []string{"WHO *", "WHO #many", "LIST"} {
		c.send(q)
		msgs := c.collect()
		if n := len(filter(msgs, "352")) + len(filter(msgs, "322")); q != "LIST" && n != 3 {
			t.Errorf("%s: %d replies, want 3", q, n)
		}
	}
}

func TestWhox(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice")
	b := ts.connect("bob")
	a.join("#x")
	b.join("#x")
	b.send("AWAY :away")
	b.collect()
	ts.clock.Advance(42 * time.Second)
	a.collect()
	tests := []struct {
		line string
		want []string // 354 params after the target
	}{
		{"WHO bob %n", []string{"bob"}},
		{"WHO bob %tn,123", []string{"123", "bob"}},
		{"WHO bob %nt,1234", []string{"123", "bob"}}, // fixed field order, token capped
		{"WHO bob %t", []string{"0"}},
		{"WHO bob %cuhsnfdlaor,7", []string{"#x", "~bob", "HOST", "irc.test", "bob", "G", "0", "42", "0", "n/a", "Real bob"}},
		{"WHO bob %i", []string{"255.255.255.255"}},
		{"WHO #x %na", nil}, // checked below: one per member
	}
	for _, tt := range tests {
		a.send(tt.line)
		msgs := a.collect()
		if tt.want == nil {
			got := filter(msgs, "354")
			if len(got) != 2 {
				t.Errorf("%q: %v", tt.line, msgs)
			}
			continue
		}
		m := find(msgs, "354", nil)
		if m == nil {
			t.Errorf("%q: no 354 in %v", tt.line, msgs)
			continue
		}
		want := slices.Clone(tt.want)
		for i, w := range want {
			if w == "HOST" {
				want[i] = m.Param(1 + i)
				if !strings.HasPrefix(want[i], "guest/") {
					t.Errorf("host %q", want[i])
				}
			}
		}
		if !slices.Equal(m.Params[1:], want) {
			t.Errorf("%q: %q, want %q", tt.line, m.Params[1:], want)
		}
		if find(msgs, "352", nil) != nil || find(msgs, "315", nil) == nil {
			t.Errorf("%q: framing %v", tt.line, msgs)
		}
	}
}

func TestWhois(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice")
	b := ts.connect("bob")
	a.join("#pub", "#sec")
	a.send("MODE #sec +s")
	a.send("AWAY :afk")
	a.collect()
	ts.clock.Advance(90 * time.Second)

	b.send("WHOIS alice")
	msgs := b.collect()
	codes := []string{}
	for _, m := range msgs {
		codes = append(codes, m.Command)
	}
	if !slices.Equal(codes, []string{"311", "319", "312", "301", "317", "318"}) {
		t.Fatalf("WHOIS codes %v", codes)
	}
	u := msgs[0]
	if u.Param(1) != "alice" || u.Param(2) != "~alice" || !strings.HasPrefix(u.Param(3), "guest/") || u.Param(4) != "*" || u.Trailing() != "Real alice" {
		t.Errorf("311: %v", u)
	}
	if msgs[1].Trailing() != "@#pub" {
		t.Errorf("319 shows %q (secret channel must be hidden)", msgs[1].Trailing())
	}
	if msgs[2].Param(2) != "irc.test" {
		t.Errorf("312: %v", msgs[2])
	}
	if msgs[3].Trailing() != "afk" {
		t.Errorf("301: %v", msgs[3])
	}
	signon := ts.clock.Now().Add(-90 * time.Second).Unix()
	if msgs[4].Param(2) != "90" || msgs[4].Param(3) != strconv.FormatInt(signon, 10) {
		t.Errorf("317: %v", msgs[4])
	}
	// the target sees its own secret channel
	a.send("WHOIS alice")
	if m := a.expectNumeric("319"); !strings.Contains(m.Trailing(), "@#sec") {
		t.Errorf("own 319: %v", m)
	}
	// speaking resets idle
	a.send("PRIVMSG #pub :hi")
	a.sync()
	b.send("WHOIS server.ignored ALICE")
	if m := find(b.collect(), "317", nil); m == nil || m.Param(2) != "0" {
		t.Errorf("317 after speaking: %v", m)
	}
	errs := []struct {
		line  string
		codes []string
	}{
		{"WHOIS ghost", []string{"401", "318"}},
		{"WHOIS", []string{"431"}},
		{"WHOIS :", []string{"431"}},
		{"WHOIS , :", []string{"431"}},
		{"WHOIS ,", []string{"401", "318"}},
		{"WHOIS ghost,alice", []string{"401", "318"}}, // first target only
	}
	for _, e := range errs {
		b.send(e.line)
		var got []string
		for _, m := range b.collect() {
			got = append(got, m.Command)
		}
		if !slices.Equal(got, e.codes) {
			t.Errorf("%q: %v, want %v", e.line, got, e.codes)
		}
	}
	// an invisible user's channels show only to those sharing them
	a.send("MODE alice +i")
	a.collect()
	b.send("WHOIS alice")
	if m := find(b.collect(), "319", nil); m != nil {
		t.Errorf("319 for +i user: %v", m)
	}
	b.join("#pub")
	b.send("WHOIS alice")
	if m := find(b.collect(), "319", nil); m == nil || m.Trailing() != "@#pub" {
		t.Errorf("319 for +i user with a shared channel: %v", m)
	}
}

func TestSimpleQueries(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Version = "9.9" })
	ts.clock.Advance(3 * time.Hour)
	a := ts.connect("alice")
	b := ts.connect("bob")
	b.send("AWAY :gone")
	b.collect()
	now := ts.clock.Now()
	tests := []struct {
		line  string
		check func(t *testing.T, msgs []*irc.Message)
	}{
		{"VERSION", func(t *testing.T, msgs []*irc.Message) {
			m := msgs[0]
			if m.Command != "351" || m.Param(1) != "9.9." || m.Param(2) != "irc.test" {
				t.Errorf("351: %v", m)
			}
			if toks := isupport(msgs); toks["CASEMAPPING"] != "rfc1459" {
				t.Errorf("VERSION without 005: %v", msgs)
			}
		}},
		{"TIME", func(t *testing.T, msgs []*irc.Message) {
			m := msgs[0]
			if len(msgs) != 1 || m.Command != "391" || m.Param(1) != "irc.test" ||
				m.Param(2) != strconv.FormatInt(now.Unix(), 10) || m.Trailing() != now.UTC().Format(time.RFC1123) {
				t.Errorf("391: %v", msgs)
			}
		}},
		{"INFO", func(t *testing.T, msgs []*irc.Message) {
			if len(msgs) < 2 || msgs[len(msgs)-1].Command != "374" {
				t.Fatalf("INFO: %v", msgs)
			}
			for _, m := range msgs[:len(msgs)-1] {
				if m.Command != "371" {
					t.Errorf("INFO line %v", m)
				}
			}
			if !strings.Contains(msgs[0].Trailing(), "9.9") {
				t.Errorf("INFO first line %v", msgs[0])
			}
		}},
		{"ISON bob ghost ALICE", func(t *testing.T, msgs []*irc.Message) {
			if len(msgs) != 1 || msgs[0].Command != "303" || msgs[0].Trailing() != "bob alice" {
				t.Errorf("303: %v", msgs)
			}
		}},
		{"ISON :bob alice", func(t *testing.T, msgs []*irc.Message) {
			if msgs[0].Trailing() != "bob alice" {
				t.Errorf("303: %v", msgs)
			}
		}},
		{"ISON ghost", func(t *testing.T, msgs []*irc.Message) {
			if msgs[0].Command != "303" || msgs[0].Trailing() != "" {
				t.Errorf("303: %v", msgs)
			}
		}},
		{"USERHOST alice bob ghost", func(t *testing.T, msgs []*irc.Message) {
			f := strings.Fields(msgs[0].Trailing())
			if msgs[0].Command != "302" || len(f) != 2 ||
				!strings.HasPrefix(f[0], "alice=+~alice@guest/") || !strings.HasPrefix(f[1], "bob=-~bob@guest/") {
				t.Errorf("302: %v", msgs)
			}
		}},
		{"USERHOST a b c d e alice", func(t *testing.T, msgs []*irc.Message) {
			if msgs[0].Trailing() != "" { // at most 5 nicks are looked at
				t.Errorf("302: %v", msgs)
			}
		}},
		{"WHOWAS ghost", func(t *testing.T, msgs []*irc.Message) {
			if len(msgs) != 2 || msgs[0].Command != "406" || msgs[1].Command != "369" {
				t.Errorf("WHOWAS: %v", msgs)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			a.send(tt.line)
			msgs := a.collect()
			if len(msgs) == 0 {
				t.Fatal("no reply")
			}
			for _, m := range msgs {
				if m.Param(0) != "alice" {
					t.Errorf("reply target %v", m)
				}
			}
			tt.check(t, msgs)
		})
	}
}

func TestSetname(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Limits.RealnameLen = 10 })
	a := ts.connect("alice", "setname")
	tests := []struct {
		line string
		want string // reply as "CMD params…"
	}{
		{"SETNAME :Ten chars!", "SETNAME Ten chars!"},
		{"SETNAME :Eleven chars", "FAIL SETNAME INVALID_REALNAME Realname is not valid"},
		{"SETNAME :", "FAIL SETNAME INVALID_REALNAME Realname is not valid"},
	}
	for _, tt := range tests {
		a.send(tt.line)
		msgs := a.collect()
		if len(msgs) != 1 || msgs[0].Command+" "+strings.Join(msgs[0].Params, " ") != tt.want {
			t.Errorf("%q: %v, want %s", tt.line, msgs, tt.want)
		}
	}
	a.send("WHOIS alice")
	if m := a.expectNumeric("311"); m.Trailing() != "Ten chars!" {
		t.Fatalf("311: %v", m)
	}
}
