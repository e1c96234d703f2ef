package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/thorchat/thorchat/config"
	"github.com/thorchat/thorchat/store"
)

// TestChanServRegisterNeedsLoginAndOp drives REGISTER through the daemon
// with real SASL logins.
func TestChanServRegisterNeedsLoginAndOp(t *testing.T) {
	tc := newTestConfig(t)
	d := startDaemon(t, tc.write(t))
	alice, bob := newKey(t), newKey(t)
	a := dial(t, d.addr, "alice", alice)
	b := dial(t, d.addr, "bob", bob)
	anon := dial(t, d.addr, "anon", nil)
	a.join("#own", "")
	b.join("#own", "")
	anon.join("#anon", "")
	for _, ch := range []string{"#f1", "#f2", "#f3"} {
		a.join(ch, "")
	}

	cases := []struct {
		name string
		c    *ircClient
		line string // sent as is
		want string // in a ChanServ notice
	}{
		{"anonymous channel operator", anon, "CS REGISTER #anon", "must be logged in"},
		{"logged in but not an operator", b, "CS REGISTER #own", "must be a channel operator"},
		{"unknown channel", a, "CS REGISTER #nowhere", "No such channel"},
		{"logged-in operator", a, "CS REGISTER #own", "#own is now registered to " + alice.account},
		{"already registered", a, "CS REGISTER #own", "already registered"},
		{"by PRIVMSG ChanServ", a, "PRIVMSG ChanServ :REGISTER #f1", "#f1 is now registered"},
		{"by CHANSERV", a, "CHANSERV REGISTER #f2", "#f2 is now registered"},
		{"by CS, lower case", a, "cs register #F3", "#f3 is now registered"},
		{"NOTICE to ChanServ is ignored", a, "NOTICE ChanServ :DROP #f1", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.c.t = t
			c.c.send(c.line)
			var notices []string
			for _, m := range c.c.collect() {
				if m.Command == "NOTICE" && m.Name == "ChanServ" {
					notices = append(notices, m.Trailing())
				}
			}
			if c.want == "" {
				if len(notices) != 0 {
					t.Fatalf("want no answer, got %q", notices)
				}
				return
			}
			if !slices.ContainsFunc(notices, func(n string) bool { return strings.Contains(n, c.want) }) {
				t.Fatalf("want a notice with %q, got %q", c.want, notices)
			}
		})
	}
	a.t, b.t, anon.t = t, t, t
	a.expectChanServ("INFO #f1", "founder "+alice.account)
	anon.expectChanServ("INFO #anon", "#anon is not registered")
	b.expectChanServ("INFO #own", "founder "+alice.account)
}

// chanSnapshot is what a channel shows a member: its modes with
// parameters, its topic with setter and time, and its lists with setters
// and times.
type chanSnapshot struct {
	modes, topic     []string
	bans, exc, invex [][]string
}

func snapshot(t *testing.T, c *ircClient, ch string) chanSnapshot {
	t.Helper()
	var s chanSnapshot
	c.send("MODE " + ch)
	c.send("TOPIC " + ch)
	c.send("MODE " + ch + " b")
	c.send("MODE " + ch + " e")
	c.send("MODE " + ch + " I")
	msgs := c.collect()
	s.modes = findNumeric(t, msgs, "324").Params[2:]
	s.topic = append([]string{findNumeric(t, msgs, "332").Trailing()}, findNumeric(t, msgs, "333").Params[2:]...)
	list := func(code string) [][]string {
		var out [][]string
		for _, m := range msgsWith(msgs, code) {
			out = append(out, m.Params[2:])
		}
		return out
	}
	s.bans, s.exc, s.invex = list("367"), list("348"), list("346")
	return s
}

func (s chanSnapshot) String() string {
	var b strings.Builder
	b.WriteString("modes " + strings.Join(s.modes, " ") + "; topic " + strings.Join(s.topic, " | "))
	for _, l := range []struct {
		n string
		v [][]string
	}{{"b", s.bans}, {"e", s.exc}, {"I", s.invex}} {
		b.WriteString("; +" + l.n)
		for _, e := range l.v {
			b.WriteString(" [" + strings.Join(e, " ") + "]")
		}
	}
	return b.String()
}

// TestRegisteredChannelSurvivesRestart registers channels, sets every
// kept property, stops the daemon, starts it again on the same files and
// checks everything came back, including access levels applied on join
// and on login.
func TestRegisteredChannelSurvivesRestart(t *testing.T) {
	root, alice, bob, carol, erin := newKey(t), newKey(t), newKey(t), newKey(t), newKey(t)
	tc := newTestConfig(t)
	tc.Opers = []string{root.account}
	cfgPath := tc.write(t)

	d1 := startDaemon(t, cfgPath)
	a := dial(t, d1.addr, "alice", alice)
	a.join("#keep", "")
	a.expectChanServ("REGISTER #keep", "#keep is now registered")
	a.expectSelfEcho("TOPIC #keep :kept topic, with words")
	a.expectSelfEcho("MODE #keep +miRMCs")
	a.expectSelfEcho("MODE #keep +klj sekrit 10 5:10")
	a.expectSelfEcho("MODE #keep +beIII bad!*@* good!*@* bob!*@* carol!*@* $a:" + alice.account)
	a.expectChanServ("ACCESS #keep ADD "+bob.account+" op", "now has op access")
	a.expectChanServ("ACCESS #keep ADD "+carol.account+" voice", "now has voice access")
	a.join("#open", "")
	a.expectChanServ("REGISTER #open", "#open is now registered")
	a.expectChanServ("ACCESS #open ADD "+erin.account+" voice", "now has voice access")
	a.expectChanServ("ACCESS #open ADD "+bob.account+" op", "now has op access")
	before := snapshot(t, a, "#keep")
	wantModes := []string{"+CMRimnstkjl", "sekrit", "5:10", "10"}
	if !slices.Equal(before.modes, wantModes) {
		t.Fatalf("modes before restart: %v, want %v", before.modes, wantModes)
	}
	if len(before.bans) != 1 || len(before.exc) != 1 || len(before.invex) != 3 {
		t.Fatalf("lists before restart: %s", before)
	}
	d1.stop()

	d2 := startDaemon(t, cfgPath)
	r := dial(t, d2.addr, "root", root)
	r.join("#keep", "") // an IRC operator passes +i, +k and +l
	after := snapshot(t, r, "#keep")
	if after.String() != before.String() {
		t.Fatalf("after restart:\n %s\nbefore:\n %s", after, before)
	}
	if after.topic[0] != "kept topic, with words" || !strings.HasPrefix(after.topic[1], "alice!") {
		t.Fatalf("topic after restart: %v", after.topic)
	}

	// access levels are applied on join...
	b := dial(t, d2.addr, "bob", bob)
	b.join("#keep", "sekrit")
	b.expectChanServMode("#keep", "+o", "bob")
	c := dial(t, d2.addr, "carol", carol)
	c.join("#keep", "sekrit")
	c.expectChanServMode("#keep", "+v", "carol")
	a2 := dial(t, d2.addr, "alice", alice)
	a2.join("#keep", "sekrit")
	a2.expectChanServMode("#keep", "+o", "alice")
	got := a2.chanServ("ACCESS #keep LIST")
	want := []string{
		"#keep " + alice.account + " founder",
		"#keep " + bob.account + " op",
		"#keep " + carol.account + " voice",
	}
	slices.Sort(want)
	if len(got) != 4 || !slices.Equal(got[:3], want) {
		t.Fatalf("access list after restart: %q, want %q", got, want)
	}
	a2.expectChanServ("INFO #keep", "founder "+alice.account)

	// ...and on login, for a user who joined before logging in
	e := dial(t, d2.addr, "erin", nil)
	e.join("#open", "")
	e.loginNow(erin)
	e.expectChanServMode("#open", "+v", "erin")
	b.join("#open", "")
	b.expectChanServMode("#open", "+o", "bob")

	// +i and +k are enforced after the restart too, except for accounts
	// with op access, which pass them
	anon := dial(t, d2.addr, "anon", nil)
	anon.send("JOIN #keep sekrit")
	anon.expect("473", nil)
	dave := newKey(t)
	d := dial(t, d2.addr, "dave", dave)
	d.send("JOIN #keep wrong")
	d.expect("475", nil)
	b2 := dial(t, d2.addr, "bob2", bob)
	b2.send("JOIN #keep wrong")
	b2.expectChanServMode("#keep", "+o", "bob2")
}

// TestChanServDropAndAccessRules covers DROP and who may edit the access
// list, through the daemon.
func TestChanServDropAndAccessRules(t *testing.T) {
	alice, bob, carol := newKey(t), newKey(t), newKey(t)
	tc := newTestConfig(t)
	cfgPath := tc.write(t)
	d := startDaemon(t, cfgPath)
	a := dial(t, d.addr, "alice", alice)
	b := dial(t, d.addr, "bob", bob)
	c := dial(t, d.addr, "carol", carol)
	a.join("#gone", "")
	a.expectChanServ("REGISTER #gone", "is now registered")
	a.expectSelfEcho("TOPIC #gone :soon gone")
	b.join("#gone", "")
	c.join("#gone", "")
	a.expectChanServ("ACCESS #gone ADD bob op", "now has op access") // by nick: resolved to the account
	b.expectChanServMode("#gone", "+o", "bob")
	c.expectChanServ("ACCESS #gone ADD carol voice", "may not give voice")
	b.expectChanServ("ACCESS #gone ADD carol voice", carol.account+" now has voice access")
	c.expectChanServMode("#gone", "+v", "carol")
	b.expectChanServ("ACCESS #gone ADD carol op", "may not give op")
	b.expectChanServ("ACCESS #gone DEL "+alice.account, "may not remove")
	c.expectChanServ("ACCESS #gone LIST", "#gone "+carol.account+" voice")
	b.expectChanServ("DROP #gone", "Only the founder")
	a.expectChanServ("DROP #gone", "#gone is no longer registered")
	a.expectChanServ("INFO #gone", "#gone is not registered")
	d.stop()

	db, err := store.Open(context.Background(), tc.dbPath(), store.Options{Verify: store.VerifyFull})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := db.ListChannels()
	db.Close()
	if err != nil || len(recs) != 0 {
		t.Fatalf("channels stored after DROP: %+v, %v", recs, err)
	}
	d2 := startDaemon(t, cfgPath)
	a2 := dial(t, d2.addr, "alice", alice)
	a2.expectChanServ("INFO #gone", "No such channel")
	msgs := a2.join("#gone", "")
	if m := findNumeric(t, msgs, "353"); !strings.Contains(m.Trailing(), "@alice") {
		t.Fatalf("the dropped channel was not created afresh: %v", m)
	}
	for _, m := range msgs {
		if m.Command == "332" {
			t.Fatalf("topic of a dropped channel came back: %v", m)
		}
	}
}

// TestDeclaredChannelConfigWins: a [[channel]] of the configuration is
// registered, cannot be dropped, and its configured topic and modes are
// back after a restart whatever users changed.
func TestDeclaredChannelConfigWins(t *testing.T) {
	root := newKey(t)
	tc := newTestConfig(t)
	tc.Opers = []string{root.account}
	tc.Channels = []config.Channel{{Name: "#lobby", Topic: "Config topic", Modes: "+nt"}}
	cfgPath := tc.write(t)

	d1 := startDaemon(t, cfgPath)
	r := dial(t, d1.addr, "root", root)
	r.expectChanServ("INFO #lobby", "founder (server configuration)")
	r.expectChanServ("DROP #lobby", "declared in the server configuration")
	msgs := r.join("#lobby", "")
	if got := findNumeric(t, msgs, "332").Trailing(); got != "Config topic" {
		t.Fatalf("declared topic: %q", got)
	}
	r.expectSelfEcho("TOPIC #lobby :a user's topic")
	r.expectSelfEcho("MODE #lobby -t+m")
	d1.stop()

	steps := []struct {
		name, topic string
	}{
		{"same configuration", "Config topic"},
		{"configuration changed", "New config topic"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			tc.Channels[0].Topic = st.topic
			cfgPath := tc.write(t)
			d := startDaemon(t, cfgPath)
			defer d.stop()
			r := dial(t, d.addr, "root", root)
			msgs := r.join("#lobby", "")
			if got := findNumeric(t, msgs, "332").Trailing(); got != st.topic {
				t.Fatalf("topic after restart: %q, want %q", got, st.topic)
			}
			if got := findNumeric(t, msgs, "333").Param(2); got != "irc.test" {
				t.Fatalf("topic setter after restart: %q, want the server", got)
			}
			s := snapshot(t, r, "#lobby")
			// +t is back from the configuration; +m, set by a user, is kept
			if s.modes[0] != "+mnt" {
				t.Fatalf("modes after restart: %v", s.modes)
			}
			r.expectChanServ("INFO #lobby", "founder (server configuration)")
		})
	}
	db, err := store.Open(context.Background(), tc.dbPath(), store.Options{Verify: store.VerifyFull})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rec, err := db.GetChannel("#lobby")
	if err != nil {
		t.Fatalf("declared channel is not in the store: %v", err)
	}
	if rec.Topic != "New config topic" || rec.Founder != "" || rec.DisplayName != "#lobby" {
		t.Fatalf("stored declared channel: %+v", rec)
	}
}
