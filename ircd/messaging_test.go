package ircd

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/irc.v4"
)

func TestPrivmsgAndNotice(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice")
	b := ts.connect("bob")
	c := ts.connect("carol")
	d := ts.connect("dave")
	a.join("#chat")
	b.join("#chat")
	c.join("#chat")
	a.collect()
	b.collect()

	type delivery struct {
		to     *testClient
		target string // first parameter as received
	}
	tests := []struct {
		line    string
		cmd     string
		deliver []delivery
		errs    []string // numerics to the sender, in order
	}{
		{"PRIVMSG #chat :hello all", "PRIVMSG", []delivery{{b, "#chat"}, {c, "#chat"}}, nil},
		{"PRIVMSG #CHAT :folded channel", "PRIVMSG", []delivery{{b, "#CHAT"}, {c, "#CHAT"}}, nil},
		{"NOTICE #chat :notice all", "NOTICE", []delivery{{b, "#chat"}, {c, "#chat"}}, nil},
		{"PRIVMSG bob :hi bob", "PRIVMSG", []delivery{{b, "bob"}}, nil},
		{"PRIVMSG BOB :folded nick", "PRIVMSG", []delivery{{b, "bob"}}, nil},
		{"NOTICE dave :not in a channel", "NOTICE", []delivery{{d, "dave"}}, nil},
		{"PRIVMSG bob,dave,#chat :multi", "PRIVMSG", []delivery{{b, "bob"}, {d, "dave"}, {b, "#chat"}, {c, "#chat"}}, nil},
		{"PRIVMSG a,b,c,d,e :too many", "PRIVMSG", nil, []string{"407"}},
		{"PRIVMSG", "PRIVMSG", nil, []string{"411"}},
		{"PRIVMSG :", "PRIVMSG", nil, []string{"411"}},
		{"PRIVMSG bob", "PRIVMSG", nil, []string{"412"}},
		{"PRIVMSG bob :", "PRIVMSG", nil, []string{"412"}},
		{"PRIVMSG ghost :x", "PRIVMSG", nil, []string{"401"}},
		{"PRIVMSG #ghost :x", "PRIVMSG", nil, []string{"401"}},
		{"PRIVMSG ghost,bob :partly", "PRIVMSG", []delivery{{b, "bob"}}, []string{"401"}},
		{"PRIVMSG bob,,dave :empty target", "PRIVMSG", []delivery{{b, "bob"}, {d, "dave"}}, []string{"401"}},
		{"PRIVMSG , :only commas", "PRIVMSG", nil, []string{"401", "401"}},
		{"PRIVMSG @ :at", "PRIVMSG", nil, []string{"401"}},
		{"PRIVMSG @# :at hash", "PRIVMSG", nil, []string{"401"}},
		// NOTICE never answers with an error
		{"NOTICE a,b,c,d,e :too many", "NOTICE", nil, nil},
		{"NOTICE", "NOTICE", nil, nil},
		{"NOTICE bob", "NOTICE", nil, nil},
		{"NOTICE ghost :x", "NOTICE", nil, nil},
		{"NOTICE #ghost :x", "NOTICE", nil, nil},
		{"NOTICE , :x", "NOTICE", nil, nil},
		{"NOTICE #chat", "NOTICE", nil, nil},
	}
	others := []*testClient{b, c, d}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			a.send(tt.line)
			msgs := a.collect()
			var codes []string
			for _, m := range errorNumerics(msgs) {
				codes = append(codes, m.Command)
			}
			if !slices.Equal(codes, tt.errs) {
				t.Errorf("sender numerics %v, want %v", codes, tt.errs)
			}
			if len(msgs) != len(codes) {
				t.Errorf("sender got %v", msgs)
			}
			for _, o := range others {
				got := filter(o.collect(), tt.cmd)
				var want []string
				for _, d := range tt.deliver {
					if d.to == o {
						want = append(want, d.target)
					}
				}
				var targets []string
				for _, m := range got {
					if m.Name != "alice" || m.User != "~alice" || !strings.HasPrefix(m.Host, "guest/") {
						t.Errorf("%s: prefix %v", o.nick, m.Prefix)
					}
					targets = append(targets, m.Param(0))
				}
				if !slices.Equal(targets, want) {
					t.Errorf("%s got %v, want targets %v", o.nick, got, want)
				}
			}
		})
	}
	// the text is relayed unchanged
	a.send("PRIVMSG bob :  spaced  :colon ")
	if m := b.expect("PRIVMSG", nil); m.Trailing() != "  spaced  :colon " {
		t.Fatalf("text %q", m.Trailing())
	}
	a.send("PRIVMSG bob ::leading colon")
	if m := b.expect("PRIVMSG", nil); m.Trailing() != ":leading colon" {
		t.Fatalf("text %q", m.Trailing())
	}
	a.send("PRIVMSG bob word")
	if m := b.expect("PRIVMSG", nil); m.Trailing() != "word" {
		t.Fatalf("text %q", m.Trailing())
	}
}

func TestStatusMsg(t *testing.T) {
	ts := startServer(t, nil)
	op := ts.connect("op")
	v := ts.connect("voiced")
	p := ts.connect("plain")
	for _, c := range []*testClient{op, v, p} {
		c.join("#s")
	}
	op.send("MODE #s +v voiced")
	op.collect()
	v.collect()
	p.collect()
	tests := []struct {
		from *testClient
		line string
		to   []*testClient
	}{
		{p, "PRIVMSG @#s :ops only", []*testClient{op}},
		{p, "NOTICE @#s :ops only notice", []*testClient{op}},
		{p, "PRIVMSG +#s :voice and ops", []*testClient{op, v}},
		{op, "PRIVMSG @#s :from an op", nil},
		{v, "PRIVMSG +#s :from voiced", []*testClient{op}},
	}
	all := []*testClient{op, v, p}
	for _, tt := range tests {
		tt.from.send(tt.line)
		tt.from.sync()
		for _, c := range all {
			var got []*irc.Message
			for _, m := range c.collect() {
				if m.Command == "PRIVMSG" || m.Command == "NOTICE" {
					got = append(got, m)
				}
			}
			want := slices.Contains(tt.to, c)
			if want != (len(got) == 1) || len(got) > 1 {
				t.Errorf("%s %q: %s got %v, want delivery %v", tt.from.nick, tt.line, c.nick, got, want)
				continue
			}
			if want && got[0].Param(0) != strings.Fields(tt.line)[1] {
				t.Errorf("%q: target %q", tt.line, got[0].Param(0))
			}
		}
	}
	// STATUSMSG still obeys the channel's rules for the sender
	out := ts.connect("outsider")
	out.expectCode("PRIVMSG @#s :x", "404")
}

func TestAway(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Limits.AwayLen = 10 })
	a := ts.connect("alice")
	b := ts.connect("bob")
	tests := []struct {
		who  *testClient
		line string
		code string
	}{
		{a, "AWAY", "305"},
		{a, "AWAY :gone to lunch today", "306"},
		{a, "AWAY :again", "306"},
		{a, "AWAY :", "305"},
		{a, "AWAY :back soon", "306"},
	}
	for _, tt := range tests {
		if m := tt.who.expectCode(tt.line, tt.code); m.Param(0) != tt.who.nick {
			t.Fatalf("%q: %v", tt.line, m)
		}
	}
	// PRIVMSG reports 301 with the (truncated) text; NOTICE does not
	b.send("PRIVMSG alice :are you there?")
	msgs := b.collect()
	if m := find(msgs, "301", nil); m == nil || m.Param(1) != "alice" || m.Trailing() != "back soon" {
		t.Fatalf("301: %v", msgs)
	}
	a.expect("PRIVMSG", nil)
	b.send("NOTICE alice :fyi")
	if msgs := b.collect(); len(msgs) != 0 {
		t.Fatalf("NOTICE to away: %v", msgs)
	}
	b.send("WHOIS alice")
	if m := find(b.collect(), "301", nil); m == nil || m.Trailing() != "back soon" {
		t.Fatal("WHOIS lacks 301")
	}
	b.send("WHO alice")
	if m := b.expectNumeric("352"); m.Param(6) != "G" {
		t.Fatalf("WHO flags: %v", m)
	}
	b.send("USERHOST alice")
	if m := b.expectNumeric("302"); !strings.HasPrefix(m.Trailing(), "alice=-~alice@") {
		t.Fatalf("302: %v", m)
	}
	a.send("AWAY :gone to lunch today")
	a.expectNumeric("306")
	b.send("PRIVMSG alice :x")
	if m := b.expectNumeric("301"); m.Trailing() != "gone to lu" {
		t.Fatalf("AWAYLEN: %q", m.Trailing())
	}
	a.send("AWAY")
	a.expectNumeric("305")
	b.send("PRIVMSG alice :x")
	if m := find(b.collect(), "301", nil); m != nil {
		t.Fatalf("301 after unaway: %v", m)
	}
}

func TestCasemapping(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("[x]\\")
	b := ts.connect("other")

	nickTests := []struct {
		nick string
		code string
	}{
		{"{x}|", "433"},
		{"{X}|", "433"},
		{"[X]\\", "433"},
		{"[x]|", "433"},
		{"{x}\\", "433"},
		{"[x]", ""},       // a different nick
		{"[x]\\~", "432"}, // ~ is not a nick character
		{"[x]\\^", ""},    // but ^ is
	}
	for _, tt := range nickTests {
		c := ts.dial()
		c.send("NICK " + tt.nick)
		msgs := c.collect()
		e := errorNumerics(msgs)
		if tt.code == "" {
			if len(e) != 0 {
				t.Errorf("NICK %s: %v", tt.nick, e)
			}
			c.send("QUIT")
			c.expectClosed()
			continue
		}
		if len(e) != 1 || e[0].Command != tt.code {
			t.Errorf("NICK %s: %v, want %s", tt.nick, msgs, tt.code)
		}
	}

	b.send("PRIVMSG {X}| :folded")
	if m := a.expect("PRIVMSG", nil); m.Param(0) != "[x]\\" || m.Trailing() != "folded" {
		t.Fatalf("got %v", m)
	}
	b.send("WHOIS {x}|")
	if m := b.expectNumeric("311"); m.Param(1) != "[x]\\" {
		t.Fatalf("311: %v", m)
	}
	b.send("ISON {X}| OTHER")
	if m := b.expectNumeric("303"); m.Trailing() != "[x]\\ other" {
		t.Fatalf("303: %v", m)
	}

	// channels fold the same way; the first spelling is kept
	a.join("#[chan]~")
	b.send("JOIN #{CHAN}^")
	msgs := b.collect()
	if j := find(msgs, "JOIN", nil); j == nil || j.Param(0) != "#[chan]~" {
		t.Fatalf("join: %v", msgs)
	}
	if got := namesOf(msgs, "#[chan]~"); !slices.Equal(got, []string{"@[x]\\", "other"}) {
		t.Fatalf("names %v", got)
	}
	b.send("PRIVMSG #{chan}^ :to the folded name")
	if m := a.expect("PRIVMSG", nil); m.Param(0) != "#{chan}^" || m.Trailing() != "to the folded name" {
		t.Fatalf("got %v", m)
	}
	// bans fold too
	a.send("MODE #[chan]~ +b OTHER")
	a.collect()
	b.expectCode("PRIVMSG #[chan]~ :x", "404")
	// Fold is exported
	if Fold("AZ[]\\~az{}|^") != "az{}|^az{}|^" {
		t.Fatalf("Fold = %q", Fold("AZ[]\\~az{}|^"))
	}
}

// TestRelayedLineFits: a PRIVMSG whose own line uses the whole 512 bytes
// reaches others with the sender's prefix added, so its text is cut to
// keep the relayed line within 512 bytes, at a UTF-8 character boundary.
func TestRelayedLineFits(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice", "echo-message")
	b := ts.connect("bob")
	a.join("#chat")
	b.join("#chat")
	a.collect()
	b.collect()
	for _, target := range []string{"#chat", "bob"} {
		t.Run(target, func(t *testing.T) {
			head := "PRIVMSG " + target + " :"
			// 'é' is two bytes: the cut lands inside one of them for
			// some prefix length, and must step back
			text := strings.Repeat("é", (510-len(head))/2)
			if len(head)+len(text) > 510 {
				t.Fatalf("test line too long: %d", len(head)+len(text))
			}
			a.send(head + text)
			for _, rc := range []*testClient{b, a} { // a: the echo
				m := rc.expect("PRIVMSG", func(m *irc.Message) bool { return m.Params[0] == target })
				got := m.Trailing()
				relayed := ":" + m.Prefix.String() + " PRIVMSG " + target + " :" + got + "\r\n"
				switch {
				case len(relayed) > 512:
					t.Fatalf("relayed line is %d bytes", len(relayed))
				case !strings.HasPrefix(text, got) || !utf8.ValidString(got):
					t.Fatalf("relayed text is not a whole-character prefix of the text sent")
				case len(relayed) < 512-1 || len(got) == len(text):
					t.Fatalf("relayed line %d bytes of text %d: cut more than needed, or not at all", len(relayed), len(got))
				}
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 3, "hel"},
		{"héllo", 2, "h"}, // é is 2 bytes: not split
		{"héllo", 3, "hé"},
		{"日本", 4, "日"}, // 3-byte characters
		{"日本", 2, ""},
		{"abc", 0, ""},
		{"abc", -1, ""},
	}
	for _, tt := range tests {
		if got := truncate(tt.s, tt.n); got != tt.want || !utf8.ValidString(got) {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}
