package ircd

import (
	"strings"
	"testing"

	"gopkg.in/irc.v4"
)

// register sends NICK and USER on a fresh connection and returns every
// message up to a PING round trip after registration.
func (ts *testServer) register(nick string) (*testClient, []*irc.Message) {
	ts.t.Helper()
	c := ts.dial()
	c.nick = nick
	c.send("NICK " + nick)
	c.send("USER " + nick + " 0 * :Real " + nick)
	c.expectNumeric("001")
	return c, c.collect()
}

// isupport gathers the 005 tokens of msgs into a map.
func isupport(msgs []*irc.Message) map[string]string {
	toks := map[string]string{}
	for _, m := range filter(msgs, "005") {
		if m.Trailing() != "are supported by this server" {
			continue
		}
		for _, p := range m.Params[1 : len(m.Params)-1] {
			k, v, _ := strings.Cut(p, "=")
			toks[k] = v
		}
	}
	return toks
}

func TestWelcomeBurst(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   map[string]string
	}{
		{
			name: "defaults",
			want: map[string]string{
				"CASEMAPPING": "rfc1459", "CHANTYPES": "#", "PREFIX": "(ov)@+",
				"CHANNELLEN": "50", "NICKLEN": "32",
				"TOPICLEN": "390", "KICKLEN": "255", "AWAYLEN": "200", "MODES": "6",
				"TARGMAX": "NAMES:1,LIST:1,KICK:4,WHOIS:1,PRIVMSG:4,NOTICE:4,TAGMSG:4,JOIN:,PART:",
				"NETWORK": "TestNet", "STATUSMSG": "@+", "WHOX": "", "EXCEPTS": "e", "INVEX": "I",
				"CHANLIMIT": "#:50",
			},
		},
		{
			name: "configured limits",
			mutate: func(c *Config) {
				c.Network = "Other"
				c.Limits = Limits{NickLen: 20, ChannelLen: 30, TopicLen: 100, KickLen: 50,
					AwayLen: 60, ModesPerCommand: 3, MaxTargets: 2, MaxChannelsPerClient: 7}
			},
			want: map[string]string{
				"CASEMAPPING": "rfc1459", "NICKLEN": "20", "CHANNELLEN": "30", "TOPICLEN": "100",
				"KICKLEN": "50", "AWAYLEN": "60", "MODES": "3", "NETWORK": "Other", "CHANLIMIT": "#:7",
				"TARGMAX": "NAMES:1,LIST:1,KICK:2,WHOIS:1,PRIVMSG:2,NOTICE:2,TAGMSG:2,JOIN:,PART:",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.mutate)
			c := ts.dial()
			c.send("NICK alice")
			c.send("USER alice 0 * :Alice Liddell")
			msgs := c.collect()
			order := []string{"001", "002", "003", "004", "005", "251", "252", "253", "254", "255", "265", "266", "375", "372", "376"}
			idx := 0
			for _, m := range msgs {
				if idx < len(order) && m.Command == order[idx] {
					idx++
					continue
				}
				if idx > 0 && m.Command == order[idx-1] {
					continue // repeated 005/372
				}
				t.Fatalf("unexpected %v in burst (after %s)", m, order[max(idx-1, 0)])
			}
			if idx != len(order) {
				t.Fatalf("burst stopped before %s: %v", order[idx], msgs)
			}
			w := find(msgs, "001", nil)
			if w.Param(0) != "alice" || !strings.HasPrefix(w.Trailing(), "Welcome to the ") ||
				!strings.Contains(w.Trailing(), "alice!~alice@guest/") {
				t.Errorf("001: %v", w)
			}
			if m := find(msgs, "002", nil); !strings.Contains(m.Trailing(), "irc.test") {
				t.Errorf("002: %v", m)
			}
			if m := find(msgs, "004", nil); m.Param(1) != "irc.test" || !strings.Contains(m.Param(3), "i") ||
				!strings.Contains(m.Param(3), "o") || !strings.Contains(m.Param(4), "b") {
				t.Errorf("004: %v", m)
			}
			toks := isupport(msgs)
			// CHANMODES=A,B,C,D with at least the standard modes, each in
			// its type, and every 004 channel mode listed (or a prefix mode)
			groups := strings.Split(toks["CHANMODES"], ",")
			if len(groups) != 4 {
				t.Fatalf("CHANMODES %q", toks["CHANMODES"])
			}
			for i, std := range []string{"beI", "k", "l", "imnst"} {
				for _, l := range std {
					if !strings.ContainsRune(groups[i], l) {
						t.Errorf("CHANMODES %q: %c not in group %d", toks["CHANMODES"], l, i)
					}
				}
			}
			for _, l := range find(msgs, "004", nil).Param(4) {
				if !strings.ContainsRune(toks["CHANMODES"]+"ov", l) {
					t.Errorf("004 channel mode %c missing from CHANMODES", l)
				}
			}
			for k, v := range tt.want {
				got, ok := toks[k]
				if !ok || got != v {
					t.Errorf("005 %s = %q (present %v), want %q", k, got, ok, v)
				}
			}
			if m := find(msgs, "372", nil); m.Trailing() != "- hello" {
				t.Errorf("372: %v", m)
			}
		})
	}
}

func TestMOTD(t *testing.T) {
	tests := []struct {
		name  string
		motd  []string
		codes []string
	}{
		{"lines", []string{"one", "two"}, []string{"375", "372", "372", "376"}},
		{"empty", nil, []string{"422"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, func(c *Config) { c.MOTD = tt.motd })
			_, burst := ts.register("alice")
			var got []string
			for _, m := range burst {
				switch m.Command {
				case "375", "372", "376", "422":
					got = append(got, m.Command)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.codes, " ") {
				t.Fatalf("burst MOTD %v, want %v", got, tt.codes)
			}
			c := ts.connect("bob")
			c.send("MOTD")
			msgs := c.collect()
			got = got[:0]
			for _, m := range msgs {
				got = append(got, m.Command)
			}
			if strings.Join(got, " ") != strings.Join(tt.codes, " ") {
				t.Fatalf("MOTD command %v, want %v", got, tt.codes)
			}
			if tt.motd != nil && msgs[1].Trailing() != "- one" {
				t.Errorf("372: %v", msgs[1])
			}
		})
	}
}

func TestLusers(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice")
	b := ts.connect("bob")
	b.send("MODE bob +i")
	b.expect("MODE", nil)
	a.join("#one")
	u := ts.dial() // stays unregistered
	u.send("NICK pending")
	u.sync()
	a.send("LUSERS")
	msgs := a.collect()
	want := map[string][]string{
		"251": {"alice", "There are 1 users and 1 invisible on 1 servers"},
		"252": {"alice", "0", "operator(s) online"},
		"253": {"alice", "1", "unknown connection(s)"},
		"254": {"alice", "1", "channels formed"},
		"255": {"alice", "I have 2 clients and 0 servers"},
		"265": {"alice", "2", "2", "Current local users 2, max 2"},
		"266": {"alice", "2", "2", "Current global users 2, max 2"},
	}
	for code, params := range want {
		m := find(msgs, code, nil)
		if m == nil {
			t.Errorf("no %s in %v", code, msgs)
			continue
		}
		if strings.Join(m.Params, "|") != strings.Join(params, "|") {
			t.Errorf("%s = %q, want %q", code, m.Params, params)
		}
	}
	// the unregistered connection leaving lowers 253
	u.send("QUIT")
	u.expectErrorClose("Closing Link")
	b.send("QUIT :bye")
	b.expectClosed()
	a.send("LUSERS")
	msgs = a.collect()
	if m := find(msgs, "253", nil); m == nil || m.Param(1) != "0" {
		t.Errorf("253 after quit: %v", m)
	}
	if m := find(msgs, "251", nil); m == nil || m.Trailing() != "There are 1 users and 0 invisible on 1 servers" {
		t.Errorf("251 after quit: %v", m)
	}
	if m := find(msgs, "265", nil); m == nil || m.Param(1) != "1" || m.Param(2) != "2" {
		t.Errorf("265 after quit keeps the max: %v", m)
	}
}

func TestPingPong(t *testing.T) {
	ts := startServer(t, nil)
	tests := []struct {
		line string
		want []string // command and params of the reply, nil for none
	}{
		{"PING :abc def", []string{"PONG", "irc.test", "abc def"}},
		{"PING token", []string{"PONG", "irc.test", "token"}},
		{"PING", []string{"409", "*", "No origin specified"}},
		{"PONG :whatever", nil},
	}
	c := ts.dial()
	for _, tt := range tests { // before registration
		c.send(tt.line)
		msgs := c.collect()
		checkReply(t, "unregistered "+tt.line, msgs, tt.want)
	}
	r := ts.connect("alice")
	for _, tt := range tests {
		r.send(tt.line)
		msgs := r.collect()
		if tt.want != nil && tt.want[0] == "409" {
			tt.want = []string{"409", "alice", "No origin specified"}
		}
		checkReply(t, "registered "+tt.line, msgs, tt.want)
	}
}

func checkReply(t *testing.T, what string, msgs []*irc.Message, want []string) {
	t.Helper()
	if want == nil {
		if len(msgs) != 0 {
			t.Errorf("%s: want no reply, got %v", what, msgs)
		}
		return
	}
	if len(msgs) != 1 {
		t.Errorf("%s: want one reply, got %v", what, msgs)
		return
	}
	got := append([]string{msgs[0].Command}, msgs[0].Params...)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

func TestRegistrationErrors(t *testing.T) {
	ts := startServer(t, nil)
	ts.connect("taken")
	nick32 := "n" + strings.Repeat("x", 31)
	tests := []struct {
		name  string
		lines []string
		code  string // expected numeric, "" for none
		param string // expected first parameter after the target
	}{
		{"command before registration", []string{"JOIN #a"}, "451", ""},
		{"unknown command before registration", []string{"FOO bar"}, "451", ""},
		{"NICK without parameter", []string{"NICK"}, "431", ""},
		{"NICK empty", []string{"NICK :"}, "431", ""},
		{"NICK leading digit", []string{"NICK 1abc"}, "432", "1abc"},
		{"NICK leading dash", []string{"NICK -abc"}, "432", "-abc"},
		{"NICK bad character", []string{"NICK a.b"}, "432", "a.b"},
		{"NICK 33 bytes", []string{"NICK " + nick32 + "y"}, "432", nick32 + "y"},
		{"NICK taken", []string{"NICK taken"}, "433", "taken"},
		{"NICK taken folded", []string{"NICK TAKEN"}, "433", "TAKEN"},
		{"USER short", []string{"USER a 0 *"}, "461", "USER"},
		{"USER twice", []string{"USER a 0 * :x", "USER a 0 * :x"}, "462", ""},
		{"CAP without subcommand", []string{"CAP"}, "461", "CAP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ts.dial()
			for _, l := range tt.lines {
				c.send(l)
			}
			msgs := c.collect()
			errs := errorNumerics(msgs)
			if tt.code == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Command != tt.code {
				t.Fatalf("got %v, want one %s", errs, tt.code)
			}
			if errs[0].Param(0) != "*" {
				t.Errorf("target %q, want *", errs[0].Param(0))
			}
			if tt.param != "" && errs[0].Param(1) != tt.param {
				t.Errorf("param %q, want %q", errs[0].Param(1), tt.param)
			}
		})
	}
	t.Run("32-byte nick registers", func(t *testing.T) {
		c, _ := ts.register(nick32)
		c.send("WHOIS " + nick32)
		c.expect("311", func(m *irc.Message) bool { return m.Param(1) == nick32 })
	})
	t.Run("registered errors", func(t *testing.T) {
		c := ts.connect("reg")
		tests := []struct {
			line, code, param string
		}{
			{"USER a 0 * :x", "462", ""},
			{"FOO bar", "421", "FOO"},
			{"JOIN", "461", "JOIN"},
			{"PART", "461", "PART"},
			{"KICK #a", "461", "KICK"},
			{"INVITE bob", "461", "INVITE"},
			{"MODE", "461", "MODE"},
			{"TOPIC", "461", "TOPIC"},
			{"ISON", "461", "ISON"},
			{"USERHOST", "461", "USERHOST"},
			{"SETNAME", "461", "SETNAME"},
			{"NICK", "431", ""},
			{"NICK taken", "433", "taken"},
			{"NICK 9x", "432", "9x"},
		}
		for _, tt := range tests {
			m := c.expectCode(tt.line, tt.code)
			if m.Param(0) != "reg" || (tt.param != "" && m.Param(1) != tt.param) {
				t.Errorf("%q: %v", tt.line, m)
			}
		}
	})
}

func TestQuit(t *testing.T) {
	ts := startServer(t, nil)
	t.Run("before registration", func(t *testing.T) {
		c := ts.dial()
		c.send("NICK early")
		c.send("QUIT :going")
		c.expectErrorClose("Closing Link: early (Client quit)")
		// the nick is free again
		d, _ := ts.register("early")
		d.sync()
	})
	t.Run("before NICK", func(t *testing.T) {
		c := ts.dial()
		c.send("QUIT")
		c.expectErrorClose("Closing Link: * (Client quit)")
	})
	t.Run("registered, peers see QUIT once", func(t *testing.T) {
		a := ts.connect("qa")
		b := ts.connect("qb")
		o := ts.connect("qo")
		a.join("#q1", "#q2")
		b.join("#q1", "#q2")
		a.collect()
		b.send("QUIT :see you")
		b.expectErrorClose("Closing Link: qb (Quit: see you)")
		msgs := a.collect()
		quits := filter(msgs, "QUIT")
		if len(quits) != 1 || quits[0].Name != "qb" || quits[0].Trailing() != "Quit: see you" {
			t.Fatalf("peer saw %v", msgs)
		}
		if q := filter(o.collect(), "QUIT"); len(q) != 0 {
			t.Fatalf("non-peer saw %v", q)
		}
		a.send("NAMES #q1")
		if m := a.expectNumeric("353"); m.Trailing() != "@qa" {
			t.Fatalf("names after quit: %v", m)
		}
	})
	t.Run("connection drop counts as quit", func(t *testing.T) {
		a := ts.connect("da")
		b := ts.connect("db")
		a.join("#drop")
		b.join("#drop")
		b.conn.Close()
		m := a.expect("QUIT", nil)
		if m.Name != "db" || m.Trailing() != "Connection closed" {
			t.Fatalf("got %v", m)
		}
	})
}

func TestNickChange(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice")
	b := ts.connect("bob")
	o := ts.connect("other")
	a.join("#c1", "#c2")
	b.join("#c1", "#c2")
	a.collect()

	tests := []struct {
		from, to string
	}{
		{"alice", "alice2"},
		{"alice2", "ALICE2"}, // case change only
		{"ALICE2", "[al]"},
	}
	for _, tt := range tests {
		a.send("NICK " + tt.to)
		self := a.expect("NICK", nil)
		if self.Name != tt.from || self.Param(0) != tt.to {
			t.Fatalf("self NICK %v, want %s -> %s", self, tt.from, tt.to)
		}
		msgs := b.collect()
		nicks := filter(msgs, "NICK")
		if len(nicks) != 1 || nicks[0].Name != tt.from || nicks[0].Param(0) != tt.to {
			t.Fatalf("peer saw %v (want exactly one NICK %s -> %s)", msgs, tt.from, tt.to)
		}
		a.nick = tt.to
	}
	if n := filter(o.collect(), "NICK"); len(n) != 0 {
		t.Fatalf("non-peer saw %v", n)
	}
	// same nick again: nothing happens
	a.send("NICK [al]")
	if msgs := a.collect(); len(msgs) != 0 {
		t.Fatalf("no-op nick change sent %v", msgs)
	}
	// the old nick is free, the new one is taken (folded)
	o.send("NICK alice")
	o.expect("NICK", func(m *irc.Message) bool { return m.Param(0) == "alice" })
	o.expectCode("NICK {AL}", "433")
	// messages reach the new nick through its folded form
	b.send("PRIVMSG {al} :hi")
	if m := a.expect("PRIVMSG", nil); m.Param(0) != "[al]" || m.Trailing() != "hi" {
		t.Fatalf("got %v", m)
	}
	a.send("NAMES #c1")
	if m := a.expectNumeric("353"); !strings.Contains(" "+m.Trailing()+" ", " @[al] ") {
		t.Fatalf("names: %v", m)
	}
}
