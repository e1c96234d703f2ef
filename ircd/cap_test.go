package ircd

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

var allCapsNoSASL = []string{
	"account-notify", "account-tag", "away-notify", "batch", "cap-notify", "chghost",
	"draft/multiline=max-bytes=4096,max-lines=24",
	"echo-message", "extended-join", "extended-monitor", "invite-notify",
	"labeled-response", "message-tags", "multi-prefix", "server-time", "setname",
	"standard-replies", "userhost-in-names",
}

// allCapsNoSASL301 is allCapsNoSASL as CAP LS 301 shows it: without values.
var allCapsNoSASL301 = func() []string {
	out := slices.Clone(allCapsNoSASL)
	for i, w := range out {
		out[i], _, _ = strings.Cut(w, "=")
	}
	return out
}()

// capWords returns the words of CAP LS/LIST replies and whether each
// reply but the last carried the "*" continuation marker.
func capWords(t *testing.T, msgs []*irc.Message, sub string) []string {
	t.Helper()
	var words []string
	replies := filter(msgs, "CAP")
	if len(replies) == 0 {
		t.Fatalf("no CAP %s reply in %v", sub, msgs)
	}
	for i, m := range replies {
		if m.Param(1) != sub {
			t.Fatalf("reply %v, want %s", m, sub)
		}
		more := m.Param(2) == "*" && len(m.Params) == 4
		if more != (i < len(replies)-1) {
			t.Fatalf("continuation marker wrong on %d of %d: %v", i+1, len(replies), m)
		}
		if l := len(m.String()) + 2; l > 512 {
			t.Fatalf("CAP line is %d bytes", l)
		}
		words = append(words, strings.Fields(m.Trailing())...)
	}
	return words
}

func TestCapLS(t *testing.T) {
	longMechs := make([]string, 15)
	for i := range longMechs {
		longMechs[i] = fmt.Sprintf("MECHANISM-NUMBER-%02d", i)
	}
	tests := []struct {
		name   string
		auth   *testAuth
		line   string
		want   []string
		lines  int
		notify bool // cap-notify is implicitly enabled
	}{
		{"301 without auth", nil, "CAP LS", allCapsNoSASL301, 1, false},
		{"302 without auth", nil, "CAP LS 302", allCapsNoSASL, 1, true},
		{"301 with auth: no values", newTestAuth(), "CAP LS", append(slices.Clone(allCapsNoSASL301), "sasl"), 1, false},
		{"302 with auth: sasl value", newTestAuth(), "CAP LS 302", append(slices.Clone(allCapsNoSASL), "sasl=TEST"), 1, true},
		{"302 long: continuation lines", &testAuth{mechs: longMechs, owners: map[string]string{}}, "CAP LS 302",
			append(slices.Clone(allCapsNoSASL), "sasl="+strings.Join(longMechs, ",")), 2, true},
		{"lower-case subcommand", nil, "CAP ls 302", allCapsNoSASL, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mutate func(*Config)
			if tt.auth != nil {
				mutate = withAuth(tt.auth)
			}
			ts := startServer(t, mutate)
			c := ts.dial()
			c.send(tt.line)
			msgs := c.collect()
			if n := len(filter(msgs, "CAP")); n != tt.lines {
				t.Errorf("%d CAP lines, want %d: %v", n, tt.lines, msgs)
			}
			got := capWords(t, msgs, "LS")
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("LS words\n got %q\nwant %q", got, want)
			}
			if m := filter(msgs, "CAP")[0]; m.Param(0) != "*" {
				t.Errorf("target before NICK = %q, want *", m.Param(0))
			}
			c.send("CAP LIST")
			list := capWords(t, c.collect(), "LIST")
			if has := slices.Contains(list, "cap-notify"); has != tt.notify {
				t.Errorf("cap-notify enabled = %v, want %v (LIST %q)", has, tt.notify, list)
			}
		})
	}
}

func TestCapReq(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.dial()
	c.send("CAP LS 302")
	c.collect()
	steps := []struct {
		req     string
		ack     bool
		enabled []string // CAP LIST afterwards
	}{
		{"multi-prefix server-time", true, []string{"cap-notify", "multi-prefix", "server-time"}},
		{"echo-message bogus-cap", false, []string{"cap-notify", "multi-prefix", "server-time"}},
		{"sasl", false, []string{"cap-notify", "multi-prefix", "server-time"}}, // no accounts (NoBackend)
		{"-server-time away-notify", true, []string{"away-notify", "cap-notify", "multi-prefix"}},
		{"-cap-notify", false, []string{"away-notify", "cap-notify", "multi-prefix"}}, // sticky with 302
		{"-nonexistent", false, []string{"away-notify", "cap-notify", "multi-prefix"}},
		{"", true, []string{"away-notify", "cap-notify", "multi-prefix"}},
	}
	for _, st := range steps {
		c.send("CAP REQ :" + st.req)
		msgs := c.collect()
		want := "NAK"
		if st.ack {
			want = "ACK"
		}
		if len(msgs) != 1 || msgs[0].Command != "CAP" || msgs[0].Param(1) != want || msgs[0].Param(2) != st.req {
			t.Fatalf("REQ %q: got %v, want %s", st.req, msgs, want)
		}
		c.send("CAP LIST")
		got := capWords(t, c.collect(), "LIST")
		slices.Sort(got)
		if !slices.Equal(got, st.enabled) {
			t.Fatalf("after REQ %q: LIST %q, want %q", st.req, got, st.enabled)
		}
	}
	// a huge request (possible with a larger line limit) is refused and
	// echoed only in part
	big := startServer(t, func(c *Config) { c.Limits.LineBytes = 4096 })
	bc := big.dial()
	bc.send("CAP REQ :" + strings.Repeat("multi-prefix ", 90))
	m := bc.expect("CAP", nil)
	if m.Param(1) != "NAK" || len(m.Param(2)) != 1024 {
		t.Fatalf("huge REQ: %v (len %d)", m.Param(1), len(m.Param(2)))
	}
	errs := []struct{ line, code string }{
		{"CAP FROB", "410"},
		{"CAP REQ", "461"},
	}
	for _, e := range errs {
		c.send(e.line)
		if m := c.expect(e.code, nil); m.Param(0) != "*" {
			t.Fatalf("%s: %v", e.line, m)
		}
	}
}

func TestCapHoldsRegistration(t *testing.T) {
	tests := []struct {
		name  string
		first []string
	}{
		{"LS", []string{"CAP LS 302"}},
		{"REQ without LS", []string{"CAP REQ :multi-prefix"}},
		{"LS after NICK", []string{"NICK x", "CAP LS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, nil)
			c := ts.dial()
			for _, l := range tt.first {
				c.send(l)
			}
			c.send("NICK alice")
			c.send("USER alice 0 * :A")
			if m := find(c.collect(), "001", nil); m != nil {
				t.Fatalf("registered before CAP END: %v", m)
			}
			c.send("CAP END")
			c.expectNumeric("001")
			c.expectNumeric("376")
			// CAP END after registration is ignored; LS and LIST still work
			c.send("CAP END")
			c.send("CAP LIST")
			msgs := c.collect()
			if len(msgs) != 1 || msgs[0].Command != "CAP" || msgs[0].Param(0) != "alice" {
				t.Fatalf("after registration: %v", msgs)
			}
		})
	}
}

// capPeers returns a channel with three members: one with the caps under
// test ("with"), one without ("without"), and the actor ("actor").
func capPeers(t *testing.T, ts *testServer, ch string, caps ...string) (actor, with, without *testClient) {
	t.Helper()
	actor = ts.connect("actor")
	with = ts.connect("with", caps...)
	without = ts.connect("without")
	for _, c := range []*testClient{actor, with, without} {
		c.join(ch)
	}
	with.collect()
	without.collect()
	actor.collect()
	return actor, with, without
}

func TestCapEffects(t *testing.T) {
	tests := []struct {
		name   string
		caps   []string
		act    func(t *testing.T, ts *testServer, actor *testClient)
		with   func(t *testing.T, msgs []*irc.Message) // what the cap holder sees
		absent string                                  // command the client without the cap must not see ("" = skip)
	}{
		{
			name: "away-notify",
			caps: []string{"away-notify"},
			act: func(t *testing.T, ts *testServer, a *testClient) {
				a.send("AWAY :lunch")
				a.expectNumeric("306")
				a.send("AWAY")
				a.expectNumeric("305")
			},
			with: func(t *testing.T, msgs []*irc.Message) {
				aw := filter(msgs, "AWAY")
				if len(aw) != 2 || aw[0].Trailing() != "lunch" || aw[0].Name != "actor" || len(aw[1].Params) != 0 {
					t.Fatalf("AWAY: %v", aw)
				}
			},
			absent: "AWAY",
		},
		{
			name: "setname",
			caps: []string{"setname"},
			act: func(t *testing.T, ts *testServer, a *testClient) {
				a.send("SETNAME :New Name")
				a.send("WHOIS actor")
				if m := a.expectNumeric("311"); m.Trailing() != "New Name" {
					t.Fatalf("311 after SETNAME: %v", m)
				}
			},
			with: func(t *testing.T, msgs []*irc.Message) {
				if m := find(msgs, "SETNAME", nil); m == nil || m.Trailing() != "New Name" || m.Name != "actor" {
					t.Fatalf("SETNAME: %v", msgs)
				}
			},
			absent: "SETNAME",
		},
		{
			name: "invite-notify (to channel operators)",
			caps: []string{"invite-notify"},
			act: func(t *testing.T, ts *testServer, a *testClient) {
				// "with" joined after actor; make it an op so it qualifies
				a.send("MODE #fx +o with")
				a.expect("MODE", nil)
				ts.connect("guest")
				a.send("INVITE guest #fx")
				a.expectNumeric("341")
			},
			with: func(t *testing.T, msgs []*irc.Message) {
				if m := find(msgs, "INVITE", nil); m == nil || m.Param(0) != "guest" || m.Param(1) != "#fx" || m.Name != "actor" {
					t.Fatalf("INVITE: %v", msgs)
				}
			},
			absent: "INVITE",
		},
		{
			name: "echo-message is only for the sender",
			caps: []string{"echo-message"},
			act: func(t *testing.T, ts *testServer, a *testClient) {
				a.send("PRIVMSG #fx :no echo for me")
				a.sync()
			},
			with: func(t *testing.T, msgs []*irc.Message) {
				if p := filter(msgs, "PRIVMSG"); len(p) != 1 {
					t.Fatalf("PRIVMSG: %v", msgs)
				}
			},
		},
		{
			name: "extended-join",
			caps: []string{"extended-join"},
			act: func(t *testing.T, ts *testServer, a *testClient) {
				j := ts.connect("joiner")
				j.join("#fx")
			},
			with: func(t *testing.T, msgs []*irc.Message) {
				m := find(msgs, "JOIN", nil)
				if m == nil || len(m.Params) != 3 || m.Param(1) != "*" || m.Param(2) != "Real joiner" {
					t.Fatalf("JOIN: %v", msgs)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, nil)
			actor, with, without := capPeers(t, ts, "#fx", tt.caps...)
			tt.act(t, ts, actor)
			actor.sync()
			tt.with(t, with.collect())
			if tt.absent != "" {
				if m := find(without.collect(), tt.absent, nil); m != nil {
					t.Fatalf("client without the cap got %v", m)
				}
			}
		})
	}
}

func TestCapNamesPrefixes(t *testing.T) {
	ts := startServer(t, nil)
	op := ts.connect("op")
	op.join("#p")
	op.send("MODE #p +v op")
	op.expect("MODE", nil)
	tests := []struct {
		caps      []string
		names     string
		whoFlags  string
		whoisChan string
	}{
		{nil, "@op", "H@", "@#p"},
		{[]string{"multi-prefix"}, "@+op", "H@+", "@+#p"},
		{[]string{"userhost-in-names"}, "@op!~op@guest/", "H@", "@#p"},
		{[]string{"multi-prefix", "userhost-in-names"}, "@+op!~op@guest/", "H@+", "@+#p"},
	}
	for i, tt := range tests {
		c := ts.connect(fmt.Sprintf("viewer%d", i), tt.caps...)
		c.send("NAMES #p")
		m := c.expectNumeric("353")
		if !strings.HasPrefix(m.Trailing(), tt.names) {
			t.Errorf("caps %v: NAMES %q, want prefix %q", tt.caps, m.Trailing(), tt.names)
		}
		c.send("WHO #p")
		if m := c.expectNumeric("352"); m.Param(6) != tt.whoFlags {
			t.Errorf("caps %v: WHO flags %q, want %q", tt.caps, m.Param(6), tt.whoFlags)
		}
		c.send("WHOIS op")
		if m := c.expectNumeric("319"); m.Trailing() != tt.whoisChan {
			t.Errorf("caps %v: WHOIS channels %q, want %q", tt.caps, m.Trailing(), tt.whoisChan)
		}
	}
}

func TestCapServerTimeAndMessageTags(t *testing.T) {
	ts := startServer(t, nil)
	ts.clock.Advance(1234 * time.Millisecond)
	sender := ts.connect("sender", "message-tags")
	tagged := ts.connect("tagged", "message-tags")
	timed := ts.connect("timed", "server-time")
	both := ts.connect("both", "server-time", "message-tags")
	plain := ts.connect("plain")
	all := []*testClient{sender, tagged, timed, both, plain}
	for _, c := range all {
		c.join("#t")
	}
	for _, c := range all {
		c.collect()
	}
	const stamp = "2026-11-23T12:00:01.234Z"
	tests := []struct {
		name string
		line string
		cmd  string
		// per receiver: expected tags (nil = message must not arrive)
		want map[*testClient]irc.Tags
	}{
		{
			name: "PRIVMSG with client-only and server tags",
			line: `@+draft/react=x;+example.com/k=a\sb;notclient=1;+=z PRIVMSG #t :hello`,
			cmd:  "PRIVMSG",
			want: map[*testClient]irc.Tags{
				tagged: {"+draft/react": "x", "+example.com/k": "a b"},
				timed:  {"time": stamp},
				both:   {"time": stamp, "+draft/react": "x", "+example.com/k": "a b"},
				plain:  {},
			},
		},
		{
			name: "NOTICE relays tags",
			line: "@+typing=done NOTICE #t :note",
			cmd:  "NOTICE",
			want: map[*testClient]irc.Tags{
				tagged: {"+typing": "done"},
				timed:  {"time": stamp},
				both:   {"time": stamp, "+typing": "done"},
				plain:  {},
			},
		},
		{
			name: "TAGMSG only to message-tags clients",
			line: "@+typing=active TAGMSG #t",
			cmd:  "TAGMSG",
			want: map[*testClient]irc.Tags{
				tagged: {"+typing": "active"},
				both:   {"time": stamp, "+typing": "active"},
				timed:  nil,
				plain:  nil,
			},
		},
		{
			name: "TAGMSG without client tags is dropped",
			line: "@server=1 TAGMSG #t",
			cmd:  "TAGMSG",
			want: map[*testClient]irc.Tags{tagged: nil, both: nil, timed: nil, plain: nil},
		},
		{
			name: "private PRIVMSG with tags",
			line: "@+draft/reply=abc PRIVMSG both :psst",
			cmd:  "PRIVMSG",
			want: map[*testClient]irc.Tags{
				both:   {"time": stamp, "+draft/reply": "abc"},
				tagged: nil, timed: nil, plain: nil,
			},
		},
		{
			name: "private TAGMSG to a client without message-tags",
			line: "@+typing=active TAGMSG plain",
			cmd:  "TAGMSG",
			want: map[*testClient]irc.Tags{plain: nil, both: nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sender.send(tt.line)
			if msgs := sender.collect(); len(msgs) != 0 {
				t.Fatalf("sender got %v", msgs)
			}
			for rc, want := range tt.want {
				msgs := filter(rc.collect(), tt.cmd)
				if want == nil {
					if len(msgs) != 0 {
						t.Errorf("%s got %v", rc.nick, msgs)
					}
					continue
				}
				if len(msgs) != 1 {
					t.Errorf("%s got %v, want one %s", rc.nick, msgs, tt.cmd)
					continue
				}
				got := msgs[0].Tags
				extra := 0 // message-tags clients get a msgid too (msgid_test.go)
				if rc == tagged || rc == both {
					if got["msgid"] == "" {
						t.Errorf("%s: no msgid in %v", rc.nick, got)
					}
					extra = 1
				}
				if len(got) != len(want)+extra {
					t.Errorf("%s tags %v, want %v", rc.nick, got, want)
				}
				for k, v := range want {
					if got[k] != v {
						t.Errorf("%s tag %s=%q, want %q", rc.nick, k, got[k], v)
					}
				}
				if msgs[0].Name != "sender" {
					t.Errorf("%s: prefix %v", rc.nick, msgs[0].Prefix)
				}
			}
		})
	}
}

func TestCapEchoMessage(t *testing.T) {
	ts := startServer(t, nil)
	e := ts.connect("echoer", "echo-message", "message-tags", "server-time")
	n := ts.connect("noecho")
	r := ts.connect("rcpt")
	for _, c := range []*testClient{e, n, r} {
		c.join("#e")
	}
	e.collect()
	n.collect()
	tests := []struct {
		sender *testClient
		line   string
		cmd    string
		echo   bool
	}{
		{e, "PRIVMSG #e :to channel", "PRIVMSG", true},
		{e, "PRIVMSG rcpt :to nick", "PRIVMSG", true},
		{e, "NOTICE #e :notice", "NOTICE", true},
		{e, "@+typing=active TAGMSG #e", "TAGMSG", true},
		{e, "PRIVMSG @#e :statusmsg", "PRIVMSG", true},
		{n, "PRIVMSG #e :to channel", "PRIVMSG", false},
		{n, "PRIVMSG rcpt :to nick", "PRIVMSG", false},
	}
	for _, tt := range tests {
		tt.sender.send(tt.line)
		var msgs []*irc.Message
		for _, m := range filter(tt.sender.collect(), tt.cmd) {
			if m.Name == tt.sender.nick {
				msgs = append(msgs, m)
			}
		}
		if tt.echo != (len(msgs) == 1) || len(msgs) > 1 {
			t.Errorf("%s %q: echo %v, want %v", tt.sender.nick, tt.line, msgs, tt.echo)
			continue
		}
		if tt.echo {
			m := msgs[0]
			if m.Name != tt.sender.nick || m.Tags["time"] == "" {
				t.Errorf("echo %v", m)
			}
			if tt.cmd == "TAGMSG" && m.Tags["+typing"] != "active" {
				t.Errorf("TAGMSG echo lost its tags: %v", m)
			}
		}
	}
}

// TestCapAccountCaps covers the caps that need a login: account-notify,
// account-tag, chghost and extended-join's account field.
func TestCapAccountCaps(t *testing.T) {
	ts := startServer(t, withAuth(newTestAuth()))
	watcher := ts.connect("watcher", "account-notify", "account-tag", "chghost", "extended-join")
	plain := ts.connect("plain")
	user := ts.connect("user", "sasl", "chghost")
	for _, c := range []*testClient{watcher, plain, user} {
		c.join("#acct")
	}
	watcher.collect()
	plain.collect()
	user.collect()

	self := user.login("acct9")
	if m := find(self, "CHGHOST", nil); m == nil || m.Param(0) != "~user" || m.Param(1) != "acct9.users.test" || m.Host == "acct9.users.test" {
		t.Errorf("self CHGHOST: %v", self)
	}
	if m := find(self, "396", nil); m == nil || m.Param(1) != "acct9.users.test" {
		t.Errorf("396: %v", self)
	}

	msgs := watcher.collect()
	if m := find(msgs, "CHGHOST", nil); m == nil || m.Name != "user" || m.Param(1) != "acct9.users.test" {
		t.Errorf("watcher CHGHOST: %v", msgs)
	}
	if m := find(msgs, "ACCOUNT", nil); m == nil || m.Param(0) != "acct9" || m.Host != "acct9.users.test" {
		t.Errorf("watcher ACCOUNT: %v", msgs)
	}
	if msgs := plain.collect(); len(msgs) != 0 {
		t.Errorf("client without caps got %v", msgs)
	}

	user.send("PRIVMSG #acct :signed")
	if m := watcher.expect("PRIVMSG", nil); m.Tags["account"] != "acct9" {
		t.Errorf("account-tag: %v", m)
	}
	if m := plain.expect("PRIVMSG", nil); len(m.Tags) != 0 {
		t.Errorf("plain got tags: %v", m)
	}

	// extended-join shows the account of a logged-in joiner
	user.send("PART #acct")
	user.send("JOIN #acct")
	m := watcher.expect("JOIN", func(m *irc.Message) bool { return m.Name == "user" })
	if m.Param(1) != "acct9" || m.Param(2) != "Real user" {
		t.Errorf("extended JOIN: %v", m)
	}
	if m := plain.expect("JOIN", nil); len(m.Params) != 1 {
		t.Errorf("plain JOIN: %v", m)
	}

	// WHOX account field
	watcher.send("WHO user %na")
	if m := watcher.expectNumeric("354"); m.Param(1) != "user" || m.Param(2) != "acct9" {
		t.Errorf("354: %v", m)
	}
}

// TestSASLBeforeRegistration checks the welcome burst of a client that
// logs in before CAP END: 001 comes first and already shows the cloak.
func TestSASLBeforeRegistration(t *testing.T) {
	ts := startServer(t, withAuth(newTestAuth()))
	c := ts.dial()
	c.send("CAP LS 302")
	c.send("CAP REQ :sasl chghost")
	c.send("NICK early")
	c.send("USER early 0 * :Early")
	msgs := c.login("acct5")
	if m := find(msgs, "900", nil); m == nil || m.Param(0) != "early" || m.Param(2) != "acct5" {
		t.Fatalf("900: %v", msgs)
	}
	if find(msgs, "001", nil) != nil {
		t.Fatalf("registered before CAP END: %v", msgs)
	}
	c.send("CAP END")
	msgs = c.collect()
	if len(msgs) == 0 || msgs[0].Command != "001" {
		t.Fatalf("burst does not start with 001: %v", msgs)
	}
	if !strings.HasSuffix(msgs[0].Trailing(), "early!~early@acct5.users.test") {
		t.Fatalf("001: %v", msgs[0])
	}
	if m := find(msgs, "CHGHOST", nil); m != nil {
		t.Fatalf("CHGHOST during registration: %v", m)
	}
}
