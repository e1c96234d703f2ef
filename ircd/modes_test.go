package ircd

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/irc.v4"
)

// modeLine returns the MODE broadcast in msgs as "target modes args…".
func modeLine(msgs []*irc.Message) string {
	m := find(msgs, "MODE", nil)
	if m == nil {
		return ""
	}
	return strings.Join(m.Params, " ")
}

func TestChannelModeChanges(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.Limits.MaxListEntries = 2
		c.Limits.ModesPerCommand = 3
	})
	op := ts.connect("op")
	mem := ts.connect("member")
	out := ts.connect("outsider")
	op.join("#m")
	mem.join("#m")
	op.collect()

	tests := []struct {
		name  string
		who   *testClient
		line  string
		bcast string   // MODE line every member sees ("" = none)
		codes []string // numerics the sender gets
	}{
		{"query", out, "MODE #m", "", []string{"324", "329"}},
		{"flags", op, "MODE #m +imsn-t", "#m +ims-t", nil},
		{"flags unchanged", op, "MODE #m +i", "", nil},
		{"key", op, "MODE #m +k sekrit", "#m +k sekrit", nil},
		{"key already set", op, "MODE #m +k other", "", []string{"467"}},
		{"key invalid", op, "MODE #m -k+k x a,b", "#m -k *", []string{"525"}},
		{"key too long", op, "MODE #m +k " + strings.Repeat("k", 33), "", []string{"525"}},
		{"key missing", op, "MODE #m +k", "", []string{"461"}},
		{"limit", op, "MODE #m +l 5", "#m +l 5", nil},
		{"limit invalid", op, "MODE #m +l abc", "", []string{"696"}},
		{"limit zero", op, "MODE #m +l 0", "", []string{"696"}},
		{"limit missing", op, "MODE #m +l", "", []string{"461"}},
		{"unlimit", op, "MODE #m -l", "#m -l", nil},
		{"voice", op, "MODE #m +v member", "#m +v member", nil},
		{"op folded", op, "MODE #m +o MEMBER", "#m +o member", nil},
		{"deop", op, "MODE #m -ov member member", "#m -ov member member", nil},
		{"op needs a nick", op, "MODE #m +o", "", []string{"461"}},
		{"op unknown nick", op, "MODE #m +o ghost", "", []string{"401"}},
		{"op non-member", op, "MODE #m +o outsider", "", []string{"441"}},
		{"unknown mode", op, "MODE #m +z", "", []string{"472"}},
		{"unknown and known", op, "MODE #m +zs-s", "#m -s", []string{"472"}},
		{"ban", op, "MODE #m +b bad", "#m +b bad!*@*", nil},
		{"ban host form", op, "MODE #m +b *@evil.host", "#m +b *!*@evil.host", nil},
		{"ban list full", op, "MODE #m +b third", "", []string{"478"}},
		{"ban duplicate", op, "MODE #m +b BAD", "", nil},
		{"unban", op, "MODE #m -b bad!*@*", "#m -b bad!*@*", nil},
		{"except", op, "MODE #m +e friend", "#m +e friend!*@*", nil},
		{"invex", op, "MODE #m +I pal", "#m +I pal!*@*", nil},
		{"modes per command", op, "MODE #m +vvvv member member member member", "#m +v member", nil},
		{"non-op", mem, "MODE #m +n-i+k x", "", []string{"482"}},
		{"non-op op", mem, "MODE #m +o member", "", []string{"482"}},
		{"non-member", out, "MODE #m +n", "", []string{"442"}},
		{"no such channel", op, "MODE #nope +n", "", []string{"403"}},
		{"no such channel query", op, "MODE #nope", "", []string{"403"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.who.send(tt.line)
			msgs := tt.who.collect()
			var codes []string
			for _, m := range msgs {
				if len(m.Command) == 3 {
					codes = append(codes, m.Command)
				}
			}
			if !slices.Equal(codes, tt.codes) {
				t.Errorf("numerics %v, want %v (%v)", codes, tt.codes, msgs)
			}
			for _, c := range []*testClient{op, mem} {
				got := msgs
				if c != tt.who {
					got = c.collect()
				}
				if ml := modeLine(got); ml != tt.bcast {
					t.Errorf("%s saw MODE %q, want %q", c.nick, ml, tt.bcast)
				}
			}
			if ml := modeLine(out.collect()); tt.who != out && ml != "" {
				t.Errorf("outsider saw MODE %q", ml)
			}
		})
	}

	// lists
	lists := []struct {
		line, item, end, mask string
	}{
		{"MODE #m +b", "367", "368", ""},
		{"MODE #m b", "367", "368", ""},
		{"MODE #m e", "348", "349", "friend!*@*"},
		{"MODE #m +I", "346", "347", "pal!*@*"},
	}
	for _, l := range lists {
		out.send(l.line)
		msgs := out.collect()
		items := filter(msgs, l.item)
		if l.mask == "" {
			if len(items) != 1 || items[0].Param(2) != "*!*@evil.host" {
				t.Errorf("%q: %v", l.line, msgs)
			}
		} else if len(items) != 1 || items[0].Param(2) != l.mask || !strings.HasPrefix(items[0].Param(3), "op!") {
			t.Errorf("%q: %v", l.line, msgs)
		}
		if end := find(msgs, l.end, nil); end == nil || end.Param(1) != "#m" {
			t.Errorf("%q: no %s: %v", l.line, l.end, msgs)
		}
	}
	// the key is hidden from outsiders, shown to members
	out.send("MODE #m")
	if m := out.expectNumeric("324"); strings.Join(m.Params[1:], " ") != "#m +imn" {
		t.Errorf("outsider 324: %v", m)
	}
	op.send("MODE #m +k key")
	op.collect()
	out.send("MODE #m")
	if m := out.expectNumeric("324"); strings.Join(m.Params[1:], " ") != "#m +imnk *" {
		t.Errorf("outsider 324 with key: %v", m)
	}
	mem.send("MODE #m")
	if m := mem.expectNumeric("324"); strings.Join(m.Params[1:], " ") != "#m +imnk key" {
		t.Errorf("member 324 with key: %v", m)
	}
	// a secret channel's lists are private
	op.send("MODE #m +s")
	op.collect()
	out.expectCode("MODE #m +b", "442")
}

func TestFirstJoinerIsOp(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.Channels = []ChannelSpec{{Name: "#perm", Topic: "permanent", Modes: "+nt"}}
	})
	a := ts.connect("alice")
	b := ts.connect("bob")
	a.send("JOIN #new")
	if got := namesOf(a.collect(), "#new"); !slices.Equal(got, []string{"@alice"}) {
		t.Fatalf("creator: %v", got)
	}
	b.send("JOIN #new")
	if got := namesOf(b.collect(), "#new"); !slices.Equal(got, []string{"@alice", "bob"}) {
		t.Fatalf("second: %v", got)
	}
	// the channel is gone when empty, and the next creator is op again
	a.send("PART #new")
	a.sync()
	b.send("PART #new")
	b.sync()
	b.send("JOIN #new")
	if got := namesOf(b.collect(), "#new"); !slices.Equal(got, []string{"@bob"}) {
		t.Fatalf("recreated: %v", got)
	}
	// a permanent channel never hands out ops
	a.send("JOIN #perm")
	msgs := a.collect()
	if got := namesOf(msgs, "#perm"); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("permanent: %v", got)
	}
	if m := find(msgs, "332", nil); m == nil || m.Trailing() != "permanent" {
		t.Fatalf("permanent topic: %v", msgs)
	}
	a.expectCode("TOPIC #perm :mine", "482")
}

func TestModeEnforcement(t *testing.T) {
	ts := startServer(t, nil)
	op := ts.connect("op")
	op.join("#e")
	tests := []struct {
		name  string
		setup []string // op's MODE lines
		nick  string
		join  string // numeric on JOIN, "" = joins
		line  string // what the joined client then says ("" = skip)
		speak string // numeric on that line, "" = delivered
	}{
		{"+n blocks outside messages", []string{"+n"}, "n1", "-", "PRIVMSG #e :from outside", "404"},
		{"-n allows outside messages", []string{"-n"}, "n2", "-", "PRIVMSG #e :from outside", ""},
		{"+m blocks unvoiced", []string{"+n", "+m"}, "m1", "", "PRIVMSG #e :hi", "404"},
		{"+m allows voiced", []string{"+m", "+v m2"}, "m2", "", "PRIVMSG #e :hi", ""},
		{"ban blocks join", []string{"-m", "+b b1"}, "b1", "474", "", ""},
		{"exception overrides ban on join and speech", []string{"-b b1", "+b ex*", "+e ex1"}, "ex1", "", "PRIVMSG #e :hi", ""},
		{"ban without exception", nil, "ex2", "474", "", ""},
		{"ban mask on user@host", []string{"-b ex*", "+b *!~hb*@*"}, "hb1", "474", "", ""},
		{"+i blocks join", []string{"-b *!~hb*@*", "+i"}, "i1", "473", "", ""},
		{"+I lets a match join", []string{"+I i2"}, "i2", "", "", ""},
		{"+k blocks join", []string{"-i", "+k pw"}, "k1", "475", "", ""},
		{"+l blocks join", []string{"-k *", "+l 1"}, "l1", "471", "", ""},
		{"-l lets in", []string{"-l"}, "l2", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ts.connect(tt.nick)
			for _, s := range tt.setup {
				if strings.HasPrefix(s, "+v ") {
					continue // applied after the join
				}
				op.send("MODE #e " + s)
			}
			op.collect()
			if tt.join != "-" {
				c.send("JOIN #e")
				msgs := c.collect()
				if tt.join == "" {
					if find(msgs, "366", nil) == nil {
						t.Fatalf("join failed: %v", msgs)
					}
				} else if e := errorNumerics(msgs); len(e) != 1 || e[0].Command != tt.join {
					t.Fatalf("join: %v, want %s", msgs, tt.join)
				}
			}
			for _, s := range tt.setup {
				if strings.HasPrefix(s, "+v ") {
					op.send("MODE #e " + s)
				}
			}
			op.collect()
			if tt.line == "" {
				return
			}
			c.send(tt.line)
			msgs := c.collect()
			got := errorNumerics(msgs)
			if tt.speak == "" {
				if len(got) != 0 {
					t.Fatalf("speech refused: %v", got)
				}
				if m := op.expect("PRIVMSG", nil); m.Name != tt.nick {
					t.Fatalf("op got %v", m)
				}
			} else if len(got) != 1 || got[0].Command != tt.speak || got[0].Param(1) != "#e" {
				t.Fatalf("speech: %v, want %s", got, tt.speak)
			}
		})
	}
	t.Run("ban set after join silences; voice overrides", func(t *testing.T) {
		c := ts.connect("late")
		c.join("#e")
		op.send("MODE #e +b late")
		op.collect()
		c.expectCode("PRIVMSG #e :hi", "404")
		// NOTICE never gets an error back
		c.send("NOTICE #e :quiet")
		if msgs := c.collect(); len(errorNumerics(msgs)) != 0 {
			t.Fatalf("NOTICE got %v", msgs)
		}
		op.send("MODE #e +v late")
		op.collect()
		c.send("PRIVMSG #e :voiced")
		if msgs := c.collect(); len(errorNumerics(msgs)) != 0 {
			t.Fatalf("voiced: %v", msgs)
		}
		op.expect("PRIVMSG", func(m *irc.Message) bool { return m.Trailing() == "voiced" })
	})
}

func TestUserModes(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice")
	ts.connect("bob")
	tests := []struct {
		line  string
		reply string // command of the reply
		want  string // its parameters joined by spaces
	}{
		{"MODE alice", "221", "alice +"},
		{"MODE ALICE +i", "MODE", "alice +i"},
		{"MODE alice +i", "", ""},
		{"MODE alice", "221", "alice +i"},
		{"MODE alice -i+x", "501", "alice Unknown MODE flag"},
		{"MODE alice", "221", "alice +"},
		{"MODE alice +o", "", ""}, // cannot oper oneself
		{"MODE bob", "502", "alice Can't change mode for other users"},
		{"MODE bob +i", "502", "alice Can't change mode for other users"},
		{"MODE ghost", "401", "alice ghost No such nick/channel"},
	}
	for _, tt := range tests {
		a.send(tt.line)
		msgs := a.collect()
		if tt.reply == "" {
			if len(msgs) != 0 {
				t.Errorf("%q: %v", tt.line, msgs)
			}
			continue
		}
		m := find(msgs, tt.reply, nil)
		if m == nil || strings.Join(m.Params, " ") != tt.want {
			t.Errorf("%q: %v, want %s %s", tt.line, msgs, tt.reply, tt.want)
		}
	}
	// each step is applied in order and reported
	a.send("MODE alice +i-i")
	if ml := modeLine(a.collect()); ml != "alice +i-i" {
		t.Errorf("+i-i: %q", ml)
	}
}

func TestOperOverrides(t *testing.T) {
	ts := startServer(t, withAuth(newTestAuth()))
	op := ts.connect("chanop")
	op.join("#locked")
	op.send("MODE #locked +iklb key 1 *!*@*")
	op.collect()
	root := ts.connect("rootuser", "sasl")
	msgs := root.login("root1")
	if find(msgs, "381", nil) == nil {
		t.Fatalf("no 381: %v", msgs)
	}
	root.send("MODE rootuser")
	if m := root.expectNumeric("221"); m.Param(1) != "+o" {
		t.Fatalf("221: %v", m)
	}
	root.join("#locked")
	root.send("TOPIC #locked :oper topic")
	op.expect("TOPIC", nil)
	root.send("KICK #locked chanop :bye")
	op.expect("KICK", nil)

	watcher := ts.connect("watcher")
	watcher.send("WHOIS rootuser")
	msgs = watcher.collect()
	for _, code := range []string{"311", "312", "313", "317", "318", "319", "320", "330"} {
		if find(msgs, code, nil) == nil {
			t.Errorf("WHOIS oper: no %s in %v", code, msgs)
		}
	}
	watcher.send("LUSERS")
	if m := find(watcher.collect(), "252", nil); m == nil || m.Param(1) != "1" {
		t.Errorf("252: %v", m)
	}
	watcher.send("WHO * o")
	msgs = watcher.collect()
	if w := filter(msgs, "352"); len(w) != 1 || w[0].Param(5) != "rootuser" || w[0].Param(6) != "H*" {
		t.Errorf("WHO o: %v", msgs)
	}
	watcher.send("USERHOST rootuser")
	if m := watcher.expectNumeric("302"); m.Trailing() != "rootuser*=+~rootuser@root1.users.test" {
		t.Errorf("302: %v", m)
	}
	// dropping +o
	root.send("MODE rootuser -o")
	root.expect("MODE", nil)
	watcher.send("LUSERS")
	if m := watcher.expectNumeric("252"); m.Param(1) != "0" {
		t.Errorf("252 after -o: %v", m)
	}
}
