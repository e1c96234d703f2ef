package ircd

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/irc.v4"
)

// TestChanServRules walks ChanServ's commands in order against one server:
// who may register, edit and list access, see INFO and drop, with the
// answers each gets and what ends up on disk.
func TestChanServRules(t *testing.T) {
	st := newJSONChannelStore(t)
	ts := startRegServer(t, st, nil)
	users := map[string]*testClient{
		"founder": ts.regUser("fo", "founder1"),
		"op":      ts.regUser("op", "op1"),
		"op2":     ts.regUser("op2", "op2acct"),
		"voice":   ts.regUser("vo", "voice1"),
		"nobody":  ts.regUser("no", "nobody1"),
		"oper":    ts.regUser("ro", "root1"), // testAuth: root… accounts are IRC operators
		"anon":    ts.connect("anon"),
	}
	users["founder"].join("#t")
	users["anon"].join("#fresh")
	for _, who := range []string{"op", "op2", "voice", "nobody", "anon"} {
		users[who].join("#t")
	}
	users["nobody"].join("#fresh")
	users["founder"].join("#plain")

	steps := []struct {
		who, cmd, want string
	}{
		// REGISTER: logged in, and a channel operator or an IRC operator
		{"anon", "REGISTER #fresh", "You must be logged in (SASL) to register a channel."},
		{"nobody", "REGISTER #fresh", "You must be a channel operator of #fresh to register it."},
		{"nobody", "REGISTER #nowhere", "No such channel: #nowhere"},
		{"founder", "REGISTER #t", "#t is now registered to founder1."},
		{"founder", "register #T", "#t is already registered."},
		{"oper", "REGISTER #fresh", "#fresh is now registered to root1."},
		// ACCESS ADD: the founder gives op and voice, an op gives voice
		{"founder", "ACCESS #t ADD op1 op", "op1 now has op access on #t."},
		{"founder", "ACCESS #t ADD op2 op", "op2acct now has op access on #t."}, // a nick names its account
		{"op", "ACCESS #t ADD vo voice", "voice1 now has voice access on #t."},
		{"op", "ACCESS #t ADD nobody1 op", "You may not give op access on #t."},
		{"op", "ACCESS #t ADD op2acct voice", "You may not give voice access on #t."}, // no demoting a peer
		{"op", "ACCESS #t ADD founder1 voice", "You may not give voice access on #t."},
		{"voice", "ACCESS #t ADD nobody1 voice", "You may not give voice access on #t."},
		{"nobody", "ACCESS #t ADD nobody1 voice", "You may not give voice access on #t."},
		{"anon", "ACCESS #t ADD anon voice", "You may not give voice access on #t."},
		{"founder", "ACCESS #t ADD nobody1 admin", "The level must be op or voice."},
		{"founder", "ACCESS #t ADD bad,name op", "Not an account or nick: bad,name"},
		{"founder", "ACCESS #t ADD nobody1", "Usage: ACCESS #t ADD <account|nick> <op|voice>"},
		{"founder", "ACCESS #plain ADD nobody1 op", "#plain is not registered."},
		{"oper", "ACCESS #t ADD temp1 op", "temp1 now has op access on #t."},
		// ACCESS DEL: nobody removes the founder, an op only voices
		{"op", "ACCESS #t DEL founder1", "You may not remove founder1 from #t."},
		{"founder", "ACCESS #t DEL founder1", "You may not remove founder1 from #t."},
		{"op", "ACCESS #t DEL temp1", "You may not remove temp1 from #t."},
		{"founder", "ACCESS #t DEL temp1", "temp1 no longer has access on #t."},
		{"founder", "ACCESS #t DEL ghost1", "ghost1 has no access on #t."},
		// ACCESS LIST: for those with access and IRC operators
		{"nobody", "ACCESS #t LIST", "You have no access to #t."},
		{"anon", "ACCESS #t", "You have no access to #t."},
		{"voice", "ACCESS #t LIST", "#t voice1 voice"},
		{"oper", "ACCESS #t LIST", "#t founder1 founder"},
		// INFO: for everyone
		{"anon", "INFO #t", "#t: founder founder1, registered"},
		{"anon", "INFO #plain", "#plain is not registered."},
		{"anon", "INFO", "ChanServ commands:"},
		// DROP: the founder or an IRC operator
		{"op", "DROP #t", "Only the founder of #t may drop it."},
		{"anon", "DROP #plain", "#plain is not registered."},
		{"oper", "DROP #fresh", "#fresh is no longer registered."},
		{"nobody", "HELP", "ChanServ commands:"},
		{"nobody", "FROB #t", "Unknown command FROB. Try HELP."},
	}
	for _, s := range steps {
		t.Run(s.who+": "+s.cmd, func(t *testing.T) {
			c := users[s.who]
			c.t = t
			got := c.chanServSay(s.cmd)
			if !slices.ContainsFunc(got, func(n string) bool { return strings.HasPrefix(n, s.want) }) {
				t.Fatalf("want %q, got %q", s.want, got)
			}
		})
	}
	for _, c := range users {
		c.t = t
	}

	r, ok := st.get(t, "#t")
	if !ok {
		t.Fatal("#t is not on disk")
	}
	var acc []string
	for _, a := range r.Access {
		acc = append(acc, a.Account+"="+a.Level)
	}
	slices.Sort(acc)
	want := []string{"founder1=founder", "op1=op", "op2acct=op", "voice1=voice"}
	if !slices.Equal(acc, want) || r.Founder != "founder1" {
		t.Fatalf("access on disk: %v (founder %q), want %v", acc, r.Founder, want)
	}
	if _, ok := st.get(t, "#fresh"); ok {
		t.Fatal("a dropped channel is still on disk")
	}
	users["founder"].chanServExpect("DROP #t", "#t is no longer registered.")
	if _, ok := st.get(t, "#t"); ok {
		t.Fatal("#t is still on disk after DROP")
	}
}

// TestChanServInvocations: PRIVMSG ChanServ, CHANSERV and CS all reach
// ChanServ; a NOTICE to it is never answered; without a channel store it
// says registration is off.
func TestChanServInvocations(t *testing.T) {
	st := newJSONChannelStore(t)
	ts := startRegServer(t, st, nil)
	c := ts.regUser("alice", "alice1")
	c.join("#a", "#b", "#c", "#d")
	cases := []struct {
		line, want string
	}{
		{"PRIVMSG ChanServ :REGISTER #a", "#a is now registered"},
		{"PRIVMSG chanserv :REGISTER #b", "#b is now registered"},
		{"CHANSERV REGISTER #c", "#c is now registered"},
		{"CS :REGISTER #d", "#d is now registered"},
		{"NOTICE ChanServ :DROP #a", ""},
	}
	for _, k := range cases {
		c.send(k.line)
		var got []string
		for _, m := range c.collect() {
			if m.Command == "NOTICE" && m.Name == chanServ {
				got = append(got, m.Trailing())
			}
		}
		if k.want == "" && len(got) > 0 || k.want != "" && !slices.ContainsFunc(got, func(n string) bool { return strings.Contains(n, k.want) }) {
			t.Errorf("%q: got %q, want %q", k.line, got, k.want)
		}
	}
	for _, ch := range []string{"#a", "#b", "#c", "#d"} {
		if _, ok := st.get(t, ch); !ok {
			t.Errorf("%s is not on disk", ch)
		}
	}

	off := startServer(t, withAuth(newTestAuth()))
	o := off.connect("bob", "sasl")
	o.login("bob1")
	o.join("#x")
	o.send("CS REGISTER #x")
	m := o.expect("NOTICE", func(m *irc.Message) bool { return m.Name == chanServ })
	if m.Trailing() != "Channel registration is not enabled on this server." {
		t.Fatalf("without a store: %q", m.Trailing())
	}
}

// TestAccessAppliedToMembersPresent: ACCESS ADD gives the mode at once to
// members already in the channel, and a founder rejoining gets +o.
func TestAccessAppliedToMembersPresent(t *testing.T) {
	st := newJSONChannelStore(t)
	ts := startRegServer(t, st, nil)
	fo := ts.regUser("fo", "founder1")
	vo := ts.regUser("vo", "voice1")
	fo.join("#v")
	fo.chanServExpect("REGISTER #v", "is now registered")
	vo.join("#v")
	fo.chanServExpect("ACCESS #v ADD vo voice", "voice1 now has voice access")
	vo.expect("MODE", func(m *irc.Message) bool {
		return m.Name == chanServ && m.Param(0) == "#v" && m.Param(1) == "+v" && m.Param(2) == "vo"
	})
	fo.send("PART #v")
	fo.collect()
	fo.send("JOIN #v")
	fo.expect("MODE", func(m *irc.Message) bool {
		return m.Name == chanServ && m.Param(1) == "+o" && m.Param(2) == "fo"
	})
}
