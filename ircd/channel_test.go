package ircd

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/irc.v4"
)

// namesOf returns the sorted words of the 353 replies in msgs for ch.
func namesOf(msgs []*irc.Message, ch string) []string {
	var out []string
	for _, m := range filter(msgs, "353") {
		if m.Param(2) == ch {
			out = append(out, strings.Fields(m.Trailing())...)
		}
	}
	slices.Sort(out)
	return out
}

func TestJoin(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice")
	b := ts.connect("bob")

	// several channels at once, the creator is op, the channel is +nt
	a.send("JOIN #one,#two,#three")
	msgs := a.collect()
	joins := filter(msgs, "JOIN")
	if len(joins) != 3 || joins[0].Param(0) != "#one" || joins[2].Param(0) != "#three" || joins[0].Name != "alice" {
		t.Fatalf("joins: %v", joins)
	}
	if got := namesOf(msgs, "#two"); !slices.Equal(got, []string{"@alice"}) {
		t.Fatalf("names: %v", got)
	}
	a.send("MODE #one")
	if m := a.expectNumeric("324"); m.Param(2) != "+nt" {
		t.Fatalf("324: %v", m)
	}

	// keys apply in order
	a.send("MODE #two +k key2")
	a.send("MODE #three +k key3")
	a.collect()
	b.send("JOIN #one,#two,#three ,key2,wrong")
	msgs = b.collect()
	joined := []string{}
	for _, j := range filter(msgs, "JOIN") {
		joined = append(joined, j.Param(0))
	}
	if !slices.Equal(joined, []string{"#one", "#two"}) {
		t.Fatalf("joined %v", joined)
	}
	if m := find(msgs, "475", nil); m == nil || m.Param(1) != "#three" {
		t.Fatalf("475: %v", msgs)
	}
	if got := namesOf(msgs, "#one"); !slices.Equal(got, []string{"@alice", "bob"}) {
		t.Fatalf("names #one: %v", got)
	}
	// the existing member sees the join; joining again is a no-op
	a.expect("JOIN", func(m *irc.Message) bool { return m.Name == "bob" && m.Param(0) == "#two" })
	b.send("JOIN #one")
	if msgs := b.collect(); len(msgs) != 0 {
		t.Fatalf("rejoin: %v", msgs)
	}

	// JOIN 0 parts everything
	a.collect()
	b.send("JOIN 0")
	msgs = b.collect()
	if parts := filter(msgs, "PART"); len(parts) != 2 {
		t.Fatalf("JOIN 0 parts: %v", msgs)
	}
	if parts := filter(a.collect(), "PART"); len(parts) != 2 || parts[0].Trailing() != "Left all channels" {
		t.Fatalf("peer saw %v", parts)
	}
	b.send("WHOIS bob")
	if m := find(b.collect(), "319", nil); m != nil {
		t.Fatalf("still in channels: %v", m)
	}
}

func TestJoinErrors(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.Limits.MaxChannelsPerClient = 3
		c.Limits.ChannelLen = 20
	})
	op := ts.connect("op")
	op.join("#key", "#full", "#invite")
	for _, l := range []string{"MODE #key +k secret", "MODE #full +l 1", "MODE #invite +i"} {
		op.send(l)
	}
	op.collect()
	op2 := ts.connect("op2")
	op2.join("#banned")
	op2.send("MODE #banned +b victim!*@*")
	op2.collect()

	c := ts.connect("victim")
	tests := []struct {
		line, code, param string
	}{
		{"JOIN #key", "475", "#key"},
		{"JOIN #key wrong", "475", "#key"},
		{"JOIN #full", "471", "#full"},
		{"JOIN #invite", "473", "#invite"},
		{"JOIN #banned", "474", "#banned"},
		{"JOIN nochan", "403", "nochan"},
		{"JOIN &local", "403", "&local"},
		{"JOIN #bad:name", "476", "#bad:name"},
		{"JOIN #" + strings.Repeat("x", 20), "476", "#" + strings.Repeat("x", 20)},
		{"JOIN #", "476", "#"},
	}
	for _, tt := range tests {
		m := c.expectCode(tt.line, tt.code)
		if m.Param(0) != "victim" || m.Param(1) != tt.param {
			t.Errorf("%q: %v", tt.line, m)
		}
	}
	// 19 characters after # is the longest allowed name
	c.join("#" + strings.Repeat("y", 19))
	c.join("#a", "#b")
	if m := c.expectCode("JOIN #c", "405"); m.Param(1) != "#c" {
		t.Fatalf("405: %v", m)
	}
	// the key opens the channel
	c.send("PART #a")
	c.send("JOIN #key secret")
	c.expect("366", func(m *irc.Message) bool { return m.Param(1) == "#key" })
	c.send("JOIN #key")
	if msgs := c.collect(); len(msgs) != 0 {
		t.Fatalf("rejoin: %v", msgs)
	}
}

func TestJoinServerChannelLimit(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Limits.MaxChannels = 2 })
	a := ts.connect("alice")
	a.join("#a", "#b")
	if m := a.expectCode("JOIN #c", "405"); m.Param(1) != "#c" {
		t.Fatalf("405: %v", m)
	}
	// joining an existing channel still works
	b := ts.connect("bob")
	b.join("#a")
}

func TestPart(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice")
	b := ts.connect("bob")
	a.join("#p", "#q")
	b.join("#p")
	a.collect()
	tests := []struct {
		line     string
		errs     []string // error numerics for bob, in order
		peerPart string   // PART reason alice sees ("-" for none)
	}{
		{"PART #nope", []string{"403"}, "-"},
		{"PART #q", []string{"442"}, "-"},
		{"PART #nope,#q", []string{"403", "442"}, "-"},
		{"PART #P :gone fishing", nil, "gone fishing"},
	}
	for _, tt := range tests {
		b.send(tt.line)
		msgs := b.collect()
		var codes []string
		for _, e := range errorNumerics(msgs) {
			codes = append(codes, e.Command)
		}
		if !slices.Equal(codes, tt.errs) {
			t.Errorf("%q: errors %v, want %v", tt.line, codes, tt.errs)
		}
		parts := filter(a.collect(), "PART")
		if tt.peerPart == "-" {
			if len(parts) != 0 {
				t.Errorf("%q: peer saw %v", tt.line, parts)
			}
			continue
		}
		if len(parts) != 1 || parts[0].Param(0) != "#p" || parts[0].Trailing() != tt.peerPart || parts[0].Name != "bob" {
			t.Errorf("%q: peer saw %v", tt.line, parts)
		}
		if self := find(msgs, "PART", nil); self == nil {
			t.Errorf("%q: no PART echo to the leaver", tt.line)
		}
	}
	// the last member leaving destroys the channel
	a.send("PART #q")
	a.sync()
	a.send("LIST")
	if m := find(a.collect(), "322", func(m *irc.Message) bool { return m.Param(1) == "#q" }); m != nil {
		t.Fatalf("channel survived: %v", m)
	}
	// PART without reason has no trailing reason
	b.join("#p")
	a.collect()
	b.send("PART #p")
	if m := a.expect("PART", nil); len(m.Params) != 1 {
		t.Fatalf("PART without reason: %v", m)
	}
}

func TestTopic(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Limits.TopicLen = 10 })
	op := ts.connect("op")
	mem := ts.connect("member")
	out := ts.connect("outsider")
	op.join("#t")
	mem.join("#t")
	op.collect()

	tests := []struct {
		who   *testClient
		line  string
		code  string // numeric expected by who ("" when a TOPIC is broadcast)
		topic string // topic broadcast to members when code == ""
	}{
		{op, "TOPIC #t", "331", ""},
		{mem, "TOPIC #t :member topic", "482", ""},
		{out, "TOPIC #t :outside", "442", ""},
		{out, "TOPIC #nope", "403", ""},
		{op, "TOPIC #t :a topic that is too long", "", "a topic th"},
		{op, "TOPIC #t", "332", ""},
		{out, "TOPIC #t", "332", ""}, // readable from outside when not +s
		{op, "MODE #t -t", "", ""},
		{mem, "TOPIC #t :by member", "", "by member"},
		{mem, "TOPIC #t :", "", "-"}, // clearing
		{mem, "TOPIC #t", "331", ""},
		{op, "MODE #t +s", "", ""},
		{out, "TOPIC #t", "442", ""},
	}
	for i, tt := range tests {
		tt.who.send(tt.line)
		msgs := tt.who.collect()
		if tt.code != "" {
			m := find(msgs, tt.code, nil)
			if m == nil || len(errorNumerics(msgs)) > 1 {
				t.Fatalf("%d %s %q: got %v, want %s", i, tt.who.nick, tt.line, msgs, tt.code)
			}
			if tt.code == "332" {
				w := find(msgs, "333", nil)
				if m.Param(1) != "#t" || w == nil || !strings.HasPrefix(w.Param(2), "op!~op@") ||
					w.Param(3) != strconv.FormatInt(ts.clock.Now().Unix(), 10) {
					t.Fatalf("%d: 332/333: %v", i, msgs)
				}
			}
			continue
		}
		if tt.topic == "" {
			continue
		}
		want := tt.topic
		if want == "-" {
			want = ""
		}
		for _, c := range []*testClient{op, mem} {
			got := filter(c.collect(), "TOPIC")
			if c == tt.who {
				got = filter(msgs, "TOPIC")
			}
			if len(got) != 1 || got[0].Trailing() != want || got[0].Name != tt.who.nick {
				t.Fatalf("%d %s %q: %s saw %v", i, tt.who.nick, tt.line, c.nick, got)
			}
		}
		if got := filter(out.collect(), "TOPIC"); len(got) != 0 {
			t.Fatalf("outsider saw %v", got)
		}
	}
	// the topic is sent on join
	op.send("TOPIC #t :hello")
	op.collect()
	j := ts.connect("joiner")
	j.send("JOIN #t")
	msgs := j.collect()
	if m := find(msgs, "332", nil); m == nil || m.Trailing() != "hello" || find(msgs, "333", nil) == nil {
		t.Fatalf("join burst: %v", msgs)
	}
}

func TestNames(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice")
	b := ts.connect("bob")
	inv := ts.connect("invis")
	inv.send("MODE invis +i")
	inv.collect()
	a.join("#n", "#secret")
	b.join("#n")
	inv.join("#n")
	a.send("MODE #secret +s")
	a.collect()

	out := ts.connect("outsider")
	tests := []struct {
		who   *testClient
		line  string
		ch    string
		names []string
		sym   string
	}{
		{b, "NAMES #n", "#n", []string{"@alice", "bob", "invis"}, "="},
		{out, "NAMES #n", "#n", []string{"@alice", "bob"}, "="}, // +i hidden from outsiders
		{out, "NAMES #secret", "#secret", nil, ""},
		{a, "NAMES #secret", "#secret", []string{"@alice"}, "@"},
		{out, "NAMES #nonexistent", "#nonexistent", nil, ""},
		{out, "NAMES #N,#secret", "#n", []string{"@alice", "bob"}, "="}, // only the first
	}
	for _, tt := range tests {
		tt.who.send(tt.line)
		msgs := tt.who.collect()
		if got := namesOf(msgs, tt.ch); !slices.Equal(got, tt.names) {
			t.Errorf("%s %q: %v, want %v", tt.who.nick, tt.line, got, tt.names)
		}
		if tt.sym != "" {
			if m := find(msgs, "353", nil); m.Param(1) != tt.sym {
				t.Errorf("%q: symbol %q, want %q", tt.line, m.Param(1), tt.sym)
			}
		}
		if ends := filter(msgs, "366"); len(ends) != 1 || Fold(ends[0].Param(1)) != Fold(tt.ch) {
			t.Errorf("%q: 366: %v", tt.line, ends)
		}
	}
	for _, l := range []string{"NAMES", "NAMES :", "NAMES ,"} {
		out.send(l)
		if m := out.expectNumeric("366"); m.Param(1) != "*" {
			t.Fatalf("%q: %v", l, m)
		}
	}
}

func TestNamesSplitsLongReplies(t *testing.T) {
	ts := startServer(t, nil)
	var want []string
	var first *testClient
	for i := 0; i < 40; i++ {
		nick := "member" + strconv.Itoa(i) + strings.Repeat("x", 20)
		c := ts.connect(nick)
		c.join("#big")
		if first == nil {
			first = c
			nick = "@" + nick
		}
		want = append(want, nick)
	}
	slices.Sort(want)
	first.send("NAMES #big")
	msgs := first.collect()
	if n := len(filter(msgs, "353")); n < 2 {
		t.Fatalf("expected several 353 lines, got %d", n)
	}
	for _, m := range filter(msgs, "353") {
		if l := len(m.String()) + 2; l > 512 {
			t.Fatalf("353 is %d bytes", l)
		}
	}
	if got := namesOf(msgs, "#big"); !slices.Equal(got, want) {
		t.Fatalf("names %v", got)
	}
}

func TestList(t *testing.T) {
	ts := startServer(t, nil)
	clients := []*testClient{ts.connect("c0"), ts.connect("c1"), ts.connect("c2")}
	// #one has 1 member, #two 2, #three 3, #secret 1 (+s), #other 1
	clients[0].join("#one", "#two", "#three", "#secret", "#other")
	clients[1].join("#two", "#three")
	clients[2].join("#three")
	clients[0].send("MODE #secret +s")
	clients[0].send("TOPIC #two :two's topic")
	clients[0].collect()

	viewer := ts.connect("viewer")
	tests := []struct {
		who  *testClient
		line string
		want []string
	}{
		{viewer, "LIST", []string{"#one", "#other", "#three", "#two"}},
		{viewer, "LIST >1", []string{"#three", "#two"}},
		{viewer, "LIST <2", []string{"#one", "#other"}},
		{viewer, "LIST >1,<3", []string{"#two"}},
		{viewer, "LIST #t*", []string{"#three", "#two"}},
		{viewer, "LIST #T*,>2", []string{"#three"}},
		{viewer, "LIST #o?e", []string{"#one"}},
		{viewer, "LIST #secret", nil},
		{clients[0], "LIST #secret", []string{"#secret"}},
		{viewer, "LIST #nomatch", nil},
	}
	for _, tt := range tests {
		tt.who.send(tt.line)
		msgs := tt.who.collect()
		if len(msgs) < 2 || msgs[0].Command != "321" || msgs[len(msgs)-1].Command != "323" {
			t.Fatalf("%q: framing %v", tt.line, msgs)
		}
		var got []string
		for _, m := range filter(msgs, "322") {
			got = append(got, m.Param(1))
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s %q: %v, want %v", tt.who.nick, tt.line, got, tt.want)
		}
	}
	viewer.send("LIST #two")
	m := viewer.expectNumeric("322")
	if m.Param(2) != "2" || m.Trailing() != "[+nt] two's topic" {
		t.Fatalf("322: %v", m)
	}
}

func TestKick(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Limits.KickLen = 8 })
	op := ts.connect("op")
	v := ts.connect("victim")
	o := ts.connect("other")
	out := ts.connect("outsider")
	op.join("#k")
	v.join("#k")
	o.join("#k")
	op.collect()
	v.collect()
	tests := []struct {
		who  *testClient
		line string
		code string
		arg  string
	}{
		{op, "KICK #nope victim", "403", "#nope"},
		{out, "KICK #k victim", "442", "#k"},
		{o, "KICK #k victim", "482", "#k"},
		{op, "KICK #k outsider", "441", "outsider"},
		{op, "KICK #k ghost", "401", "ghost"},
		{op, "KICK #k a,b,c,d,e", "407", "a,b,c,d,e"},
	}
	for _, tt := range tests {
		m := tt.who.expectCode(tt.line, tt.code)
		if m.Param(1) != tt.arg {
			t.Errorf("%q: %v", tt.line, m)
		}
	}
	op.send("KICK #k VICTIM :a long reason text")
	for _, c := range []*testClient{op, v, o} {
		m := c.expect("KICK", nil)
		if m.Name != "op" || m.Param(0) != "#k" || m.Param(1) != "victim" || m.Trailing() != "a long r" {
			t.Fatalf("%s saw %v", c.nick, m)
		}
	}
	if k := filter(out.collect(), "KICK"); len(k) != 0 {
		t.Fatalf("outsider saw %v", k)
	}
	v.send("PRIVMSG #k :still here?")
	v.expectNumeric("404")
	// default reason is the kicker's nick
	o.collect()
	op.send("KICK #k other")
	if m := o.expect("KICK", nil); m.Trailing() != "op" {
		t.Fatalf("default reason: %v", m)
	}
}

func TestInvite(t *testing.T) {
	ts := startServer(t, nil)
	op := ts.connect("op")
	mem := ts.connect("member")
	guest := ts.connect("guest")
	third := ts.connect("third")
	away := ts.connect("awayguy")
	away.send("AWAY :not here")
	away.collect()
	op.join("#inv")
	mem.join("#inv")
	op.collect()

	tests := []struct {
		who  *testClient
		line string
		code string
	}{
		{op, "INVITE ghost #inv", "401"},
		{op, "INVITE guest #nope", "403"},
		{guest, "INVITE awayguy #inv", "442"},
		{op, "INVITE member #inv", "443"},
		{mem, "INVITE third #inv", "341"}, // not +i: members may invite
		{op, "INVITE third #inv", "341"},  // (only an op's invite passes modes)
		{op, "MODE #inv +i", ""},
		{mem, "INVITE guest #inv", "482"}, // +i: ops only
	}
	for _, tt := range tests {
		tt.who.send(tt.line)
		msgs := tt.who.collect()
		if tt.code == "" {
			continue
		}
		if find(msgs, tt.code, nil) == nil {
			t.Fatalf("%s %q: %v, want %s", tt.who.nick, tt.line, msgs, tt.code)
		}
	}
	guest.collect()
	guest.send("JOIN #inv")
	guest.expectNumeric("473")
	// an invite made before +i still works
	third.join("#inv")

	op.send("INVITE guest #INV")
	m := op.expectNumeric("341")
	if m.Param(1) != "guest" || m.Param(2) != "#inv" {
		t.Fatalf("341: %v", m)
	}
	inv := guest.expect("INVITE", nil)
	if inv.Name != "op" || inv.Param(0) != "guest" || inv.Param(1) != "#inv" {
		t.Fatalf("INVITE: %v", inv)
	}
	guest.join("#inv")
	// an invite is used up by joining
	guest.send("PART #inv")
	guest.sync()
	guest.send("JOIN #inv")
	guest.expectNumeric("473")

	// inviting an away user reports 301
	op.send("INVITE awayguy #inv")
	msgs := op.collect()
	if find(msgs, "341", nil) == nil || find(msgs, "301", func(m *irc.Message) bool { return m.Trailing() == "not here" }) == nil {
		t.Fatalf("invite away: %v", msgs)
	}
	// an invite also overrides +l and +b
	op.send("MODE #inv +lb 2 awayguy!*@*")
	op.collect()
	away.join("#inv")
}

// TestInviteFollowsTheClient checks that an invite belongs to the invited
// client: it follows a nick change and is not inherited by whoever takes
// the nick next.
func TestInviteFollowsTheClient(t *testing.T) {
	ts := startServer(t, nil)
	op := ts.connect("op")
	op.join("#closed")
	op.send("MODE #closed +i")
	op.collect()

	bob := ts.connect("bob")
	op.send("INVITE bob #closed")
	op.expectNumeric("341")
	bob.send("NICK bob2")
	bob.expect("NICK", nil)
	impostor := ts.connect("bob")
	impostor.expectCode("JOIN #closed", "473")
	bob.join("#closed")

	carol := ts.connect("carol")
	op.send("INVITE carol #closed")
	op.expectNumeric("341")
	carol.send("QUIT")
	carol.expectClosed()
	next := ts.connect("carol")
	next.expectCode("JOIN #closed", "473")
}
