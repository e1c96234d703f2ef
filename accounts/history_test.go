package accounts_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/accounts"
	"github.com/thorchat/thorchat/ircd"
)

// Message history end to end: a real ircd.Server and accounts.Service over
// a real bbolt file, clients on loopback TCP, the fake clock only.

// histCaps are the caps of a full chathistory client.
var histCaps = []string{"batch", "server-time", "message-tags", "echo-message", "draft/chathistory"}

type histOpts struct {
	private bool
	replay  int
	max     int
	expire  time.Duration
	off     bool
	chans   []ircd.ChannelSpec
	path    string     // the store file of an earlier env (a restart)
	clock   *fakeClock // its clock
}

func startHistEnv(t *testing.T, o histOpts) *env {
	t.Helper()
	return startEnv(t, envOptions{
		path:  o.path,
		clock: o.clock,
		acfg: func(c *accounts.Config) {
			c.History = accounts.HistoryConfig{Enabled: !o.off, Expire: o.expire, PrivateExpire: o.expire}
		},
		icfg: func(c *ircd.Config) {
			c.History = ircd.HistoryOptions{Private: o.private, Replay: o.replay, MaxRequest: o.max}
			c.Channels = o.chans
		},
	})
}

// say sends PRIVMSG target :text and returns the msgid of its echo (the
// sender has echo-message and message-tags).
func (c *client) speak(target, text string) string {
	c.t.Helper()
	c.send("PRIVMSG " + target + " :" + text)
	m := c.expect("PRIVMSG", func(m *irc.Message) bool {
		return m.Prefix.Name == c.nick && m.Param(1) == text
	})
	return m.Tags["msgid"]
}

// histReply is the answer to one CHATHISTORY command: the batch's
// messages, or the FAIL.
type histReply struct {
	batch []string // batch type and parameters
	msgs  []*irc.Message
	fail  *irc.Message
}

// texts returns "CMD text" of each message (the text of PRIVMSG/NOTICE,
// the command alone for events).
func (r histReply) texts() []string {
	var out []string
	for _, m := range r.msgs {
		switch m.Command {
		case "PRIVMSG", "NOTICE":
			out = append(out, m.Param(1))
		default:
			out = append(out, m.Command)
		}
	}
	return out
}

// history sends a CHATHISTORY command and reads its reply (the client has
// the batch cap).
func (c *client) history(cmd string) histReply {
	c.t.Helper()
	c.send(cmd)
	var r histReply
	ref := ""
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := c.read(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("%s: %s: %v", c.nick, cmd, err)
		}
		switch {
		case m.Command == "FAIL" && m.Param(0) == "CHATHISTORY":
			r.fail = m
			return r
		case m.Command == "BATCH" && ref == "" && strings.HasPrefix(m.Param(0), "+"):
			ref = m.Param(0)[1:]
			r.batch = m.Params[1:]
		case m.Command == "BATCH" && m.Param(0) == "-"+ref:
			return r
		case ref != "" && m.Tags["batch"] == ref:
			r.msgs = append(r.msgs, m)
		}
	}
}

func TestChathistorySubcommands(t *testing.T) {
	e := startHistEnv(t, histOpts{max: 50})
	alice := e.connect(t, "alice", key("h-alice"), histCaps...)
	alice.join("#pub")
	ids := map[string]string{}
	times := map[string]string{}
	for _, w := range []string{"m1", "m2", "m3", "m4", "m5"} {
		e.clock.Advance(time.Second)
		ids[w] = alice.speak("#pub", w)
		times[w] = e.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	}
	alice.join("#empty")
	tests := []struct {
		name, cmd string
		want      []string // nil with fail
		fail      string
	}{
		{"latest all", "CHATHISTORY LATEST #pub * 10", []string{"m1", "m2", "m3", "m4", "m5"}, ""},
		{"latest limited", "CHATHISTORY LATEST #pub * 2", []string{"m4", "m5"}, ""},
		{"latest after msgid", "CHATHISTORY LATEST #pub msgid=" + ids["m3"] + " 10", []string{"m4", "m5"}, ""},
		{"latest after timestamp", "CHATHISTORY LATEST #pub timestamp=" + times["m4"] + " 10", []string{"m5"}, ""},
		{"before msgid", "CHATHISTORY BEFORE #pub msgid=" + ids["m3"] + " 2", []string{"m1", "m2"}, ""},
		{"before timestamp", "CHATHISTORY BEFORE #pub timestamp=" + times["m2"] + " 10", []string{"m1"}, ""},
		{"after msgid", "CHATHISTORY AFTER #pub msgid=" + ids["m2"] + " 2", []string{"m3", "m4"}, ""},
		{"after timestamp", "CHATHISTORY AFTER #pub timestamp=" + times["m4"] + " 10", []string{"m5"}, ""},
		{"around msgid", "CHATHISTORY AROUND #pub msgid=" + ids["m3"] + " 3", []string{"m2", "m3", "m4"}, ""},
		{"between forwards", "CHATHISTORY BETWEEN #pub msgid=" + ids["m1"] + " msgid=" + ids["m5"] + " 10", []string{"m2", "m3", "m4"}, ""},
		{"between backwards, nearest the first", "CHATHISTORY BETWEEN #pub msgid=" + ids["m5"] + " msgid=" + ids["m1"] + " 2", []string{"m3", "m4"}, ""},
		{"between timestamps", "CHATHISTORY BETWEEN #pub timestamp=" + times["m1"] + " timestamp=" + times["m4"] + " 10", []string{"m2", "m3"}, ""},
		{"lower-case subcommand", "CHATHISTORY latest #pub * 1", []string{"m5"}, ""},
		{"empty channel", "CHATHISTORY LATEST #empty * 10", []string{}, ""},
		{"unknown msgid", "CHATHISTORY BEFORE #pub msgid=nosuchmessage 10", []string{}, ""},
		{"limit over the maximum is clamped", "CHATHISTORY LATEST #pub * 100000", []string{"m1", "m2", "m3", "m4", "m5"}, ""},
		{"limit zero", "CHATHISTORY LATEST #pub * 0", nil, "INVALID_PARAMS"},
		{"limit not a number", "CHATHISTORY LATEST #pub * many", nil, "INVALID_PARAMS"},
		{"star outside LATEST", "CHATHISTORY BEFORE #pub * 10", nil, "INVALID_PARAMS"},
		{"bad timestamp", "CHATHISTORY BEFORE #pub timestamp=yesterday 10", nil, "INVALID_PARAMS"},
		{"unknown reference type", "CHATHISTORY BEFORE #pub seq=4 10", nil, "INVALID_PARAMS"},
		{"too many parameters", "CHATHISTORY LATEST #pub * 10 extra", nil, "INVALID_PARAMS"},
		{"missing parameters", "CHATHISTORY BETWEEN #pub * 10", nil, "NEED_MORE_PARAMS"},
		{"no subcommand", "CHATHISTORY", nil, "NEED_MORE_PARAMS"},
		{"unknown subcommand", "CHATHISTORY NEWEST #pub * 10", nil, "UNKNOWN_COMMAND"},
		{"unknown channel, guest-less account never joined", "CHATHISTORY LATEST #nosuch * 10", nil, "INVALID_TARGET"},
		{"unknown nick", "CHATHISTORY LATEST nosuchnick * 10", nil, "INVALID_TARGET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alice.t = t
			r := alice.history(tt.cmd)
			if tt.fail != "" {
				if r.fail == nil || r.fail.Param(1) != tt.fail {
					t.Fatalf("want FAIL CHATHISTORY %s, got %v / %v", tt.fail, r.fail, r.msgs)
				}
				return
			}
			if r.fail != nil {
				t.Fatalf("unexpected %v", r.fail)
			}
			if len(r.batch) != 2 || r.batch[0] != "chathistory" {
				t.Fatalf("batch %v, want chathistory <target>", r.batch)
			}
			if got := r.texts(); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for _, m := range r.msgs {
				if m.Tags["time"] == "" || m.Tags["msgid"] == "" || m.Tags["msgid"] != ids[m.Param(1)] {
					t.Fatalf("replayed %v without its server-time and original msgid", m)
				}
			}
		})
	}
}

func TestChathistoryISupportAndCaps(t *testing.T) {
	e := startHistEnv(t, histOpts{max: 7})
	c := e.dial(t)
	c.send("CAP LS 302")
	ls := c.expect("CAP", func(m *irc.Message) bool { return m.Param(1) == "LS" })
	for _, cp := range []string{"draft/chathistory", "draft/event-playback", "batch"} {
		if !slices.Contains(strings.Fields(ls.Trailing()), cp) {
			t.Errorf("CAP LS %q lacks %s", ls.Trailing(), cp)
		}
	}
	c.nick = "isup"
	msgs := c.register("isup")
	var toks []string
	for _, m := range msgs {
		if m.Command == "005" {
			toks = append(toks, m.Params[1:len(m.Params)-1]...)
		}
	}
	for _, want := range []string{"CHATHISTORY=7", "MSGREFTYPES=msgid,timestamp"} {
		if !slices.Contains(toks, want) {
			t.Errorf("005 lacks %s: %v", want, toks)
		}
	}

	off := startHistEnv(t, histOpts{off: true})
	d := off.dial(t)
	d.send("CAP LS 302")
	ls = d.expect("CAP", func(m *irc.Message) bool { return m.Param(1) == "LS" })
	if strings.Contains(ls.Trailing(), "chathistory") {
		t.Errorf("history off, but CAP LS offers it: %q", ls.Trailing())
	}
	d.nick = "dave"
	d.register("dave")
	d.join("#x")
	d.send("PRIVMSG #x :not kept")
	d.send("CHATHISTORY LATEST #x * 10")
	d.expect("421", nil)
	counts, err := off.db.HistoryCounts()
	if err != nil || len(counts) != 0 {
		t.Fatalf("history off stored %v (%v)", counts, err)
	}
}

func TestChathistoryVisibility(t *testing.T) {
	e := startHistEnv(t, histOpts{chans: []ircd.ChannelSpec{
		{Name: "#secret", Modes: "+nts"},
		{Name: "#joined", Modes: "+nt", History: "joined"},
		{Name: "#quiet", Modes: "+nt", History: "off"},
	}})
	op := e.connect(t, "op", key("v-op"), histCaps...)
	former := e.connect(t, "former", key("v-former"), histCaps...)
	// former was in #secret and #joined at the start, then left
	for _, ch := range []string{"#world", "#secret", "#joined", "#quiet"} {
		op.join(ch) // #world is created by op, who is its operator
	}
	former.join("#secret")
	former.join("#joined")
	e.clock.Advance(time.Second)
	for _, ch := range []string{"#world", "#secret", "#joined", "#quiet"} {
		op.speak(ch, "said in "+ch)
	}
	former.send("PART #secret")
	former.send("PART #joined")
	former.expect("PART", func(m *irc.Message) bool { return m.Param(0) == "#joined" })
	e.clock.Advance(time.Second)
	op.speak("#joined", "after former left")

	guest := e.connect(t, "guest", nil, histCaps...)
	stranger := e.connect(t, "stranger", key("v-stranger"), histCaps...)
	banned := e.connect(t, "banned", key("v-banned"), histCaps...)
	banned.join("#world")
	op.send("MODE #world +b banned!*@*")
	op.expect("MODE", func(m *irc.Message) bool { return m.Param(1) == "+b" })

	tests := []struct {
		name   string
		c      *client
		target string
		want   []string
		fail   string
	}{
		{"guest reads a world channel", guest, "#world", []string{"said in #world"}, ""},
		{"account outsider reads a world channel", stranger, "#world", []string{"said in #world"}, ""},
		{"guest outsider of +s", guest, "#secret", nil, "INVALID_TARGET"},
		{"account outsider of +s never joined", stranger, "#secret", nil, "INVALID_TARGET"},
		{"former member of +s reads from its join", former, "#secret", []string{"said in #secret"}, ""},
		{"joined: former member reads from its first join, also after leaving", former, "#joined", []string{"said in #joined", "after former left"}, ""},
		{"joined: account that never joined", stranger, "#joined", nil, "INVALID_TARGET"},
		{"joined: guest outsider", guest, "#joined", nil, "INVALID_TARGET"},
		{"off: nothing stored", op, "#quiet", []string{}, ""},
		{"banned member", banned, "#world", nil, "INVALID_TARGET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.t = t
			r := tt.c.history("CHATHISTORY LATEST " + tt.target + " * 10")
			if tt.fail != "" {
				if r.fail == nil || r.fail.Param(1) != tt.fail {
					t.Fatalf("want FAIL %s, got %v %v", tt.fail, r.fail, r.texts())
				}
				return
			}
			if r.fail != nil {
				t.Fatalf("unexpected %v", r.fail)
			}
			if got := r.texts(); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}

	// joined policy while a member: a newcomer reads from its join only,
	// a guest only what was said while it was there
	late := e.connect(t, "late", key("v-late"), histCaps...)
	e.clock.Advance(time.Second)
	late.join("#joined")
	guest.join("#joined")
	e.clock.Advance(time.Second)
	op.speak("#joined", "for the newcomers")
	for _, c := range []*client{late, guest} {
		c.t = t
		if got := c.history("CHATHISTORY LATEST #joined * 10").texts(); !slices.Equal(got, []string{"for the newcomers"}) {
			t.Errorf("%s reads %v of #joined, want only what was said since it joined", c.nick, got)
		}
	}
}

func TestChathistoryPrivate(t *testing.T) {
	for _, private := range []bool{false, true} {
		t.Run(map[bool]string{false: "private off", true: "private on"}[private], func(t *testing.T) {
			e := startHistEnv(t, histOpts{private: private})
			alice := e.connect(t, "alice", key("p-alice"), histCaps...)
			bob := e.connect(t, "bob", key("p-bob"), histCaps...)
			carol := e.connect(t, "carol", key("p-carol"), histCaps...)
			guest := e.connect(t, "guest", nil, histCaps...)
			alice.speak("bob", "hello bob")
			bob.expect("PRIVMSG", func(m *irc.Message) bool { return m.Param(1) == "hello bob" })
			guest.speak("bob", "from a guest")
			want := []string{}
			if private {
				want = []string{"hello bob"}
			}
			if got := bob.history("CHATHISTORY LATEST alice * 10").texts(); !slices.Equal(got, want) && len(got)+len(want) != 0 {
				t.Errorf("bob reads %v of alice, want %v", got, want)
			}
			if got := alice.history("CHATHISTORY LATEST " + accountOf(t, key("p-bob")) + " * 10").texts(); !slices.Equal(got, want) && len(got)+len(want) != 0 {
				t.Errorf("alice reads %v of bob's account, want %v", got, want)
			}
			if got := carol.history("CHATHISTORY LATEST alice * 10").texts(); len(got) != 0 {
				t.Errorf("carol reads alice's conversation with bob: %v", got)
			}
			if r := guest.history("CHATHISTORY LATEST bob * 10"); r.fail == nil || r.fail.Param(1) != "INVALID_TARGET" {
				t.Errorf("a guest reads private history: %v %v", r.fail, r.texts())
			}
			if got := bob.history("CHATHISTORY LATEST guest * 10"); got.fail == nil {
				t.Errorf("a guest's messages are readable: %v", got.texts())
			}
			counts, err := e.db.HistoryCounts()
			if err != nil {
				t.Fatal(err)
			}
			if private && len(counts) != 1 || !private && len(counts) != 0 {
				t.Errorf("stored targets %v (only alice–bob with private on)", counts)
			}
		})
	}
}

func TestChathistoryEventPlayback(t *testing.T) {
	e := startHistEnv(t, histOpts{})
	alice := e.connect(t, "alice", key("e-alice"), histCaps...)
	alice.join("#ev")
	alice.speak("#ev", "one")
	alice.send("TOPIC #ev :a topic")
	alice.expect("TOPIC", nil)
	alice.send("MODE #ev +m")
	alice.expect("MODE", nil)
	bob := e.connect(t, "bob", key("e-bob"), histCaps...)
	bob.join("#ev")
	bob.send("PART #ev :bye")
	bob.expect("PART", nil)
	alice.speak("#ev", "two")

	plain := alice.history("CHATHISTORY LATEST #ev * 50").texts()
	if !slices.Equal(plain, []string{"one", "two"}) {
		t.Errorf("without draft/event-playback: %v, want only the messages", plain)
	}
	ev := e.connect(t, "ev", key("e-ev"), append(histCaps, "draft/event-playback")...)
	ev.join("#ev")
	got := ev.history("CHATHISTORY BEFORE #ev timestamp=2100-01-01T00:00:00.000Z 50").texts()
	// ev's own JOIN is stored too, but its record may still be in the lane
	want := []string{"JOIN", "one", "TOPIC", "MODE", "JOIN", "PART", "two"}
	if len(got) > len(want) && got[len(want)] == "JOIN" {
		got = got[:len(want)]
	}
	if !slices.Equal(got, want) {
		t.Errorf("with draft/event-playback: %v, want %v", got, want)
	}
}

func TestHistoryReplayOnJoin(t *testing.T) {
	tests := []struct {
		name   string
		replay int
		caps   []string
		want   []string
		batch  bool
	}{
		{"batch client", 2, []string{"batch", "server-time"}, []string{"m2", "m3"}, true},
		{"plain client", 2, nil, []string{"m2", "m3"}, false},
		{"replay off", 0, []string{"batch", "server-time"}, nil, false},
		{"chathistory client asks itself", 2, []string{"batch", "server-time", "draft/chathistory"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startHistEnv(t, histOpts{replay: tt.replay})
			alice := e.connect(t, "alice", key("r-alice"), histCaps...)
			alice.join("#r")
			for _, w := range []string{"m1", "m2", "m3"} {
				alice.speak("#r", w)
			}
			late := e.connect(t, "late", nil, tt.caps...)
			late.join("#r")
			var got []string
			batched := true
			for _, m := range late.collect() {
				if m.Command == "PRIVMSG" {
					got = append(got, m.Param(1))
					if m.Tags["batch"] == "" || (slices.Contains(tt.caps, "server-time") && m.Tags["time"] == "") {
						batched = false
					}
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("replay %v, want %v", got, tt.want)
			}
			if tt.batch && !batched {
				t.Errorf("replayed lines lack the batch or time tag")
			}
		})
	}
}

func TestHistoryExpiry(t *testing.T) {
	e := startHistEnv(t, histOpts{expire: time.Hour})
	alice := e.connect(t, "alice", key("x-alice"), histCaps...)
	alice.join("#x")
	alice.speak("#x", "old")
	e.clock.Advance(2 * time.Hour)
	alice.speak("#x", "new")
	if n := e.svc.ExpireHistoryOnce(t.Context()); n != 2 {
		t.Fatalf("expired %d entries, want 2 (alice's JOIN and the message older than an hour)", n)
	}
	if got := alice.history("CHATHISTORY LATEST #x * 10").texts(); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("after expiry: %v", got)
	}
}

func TestHistoryOrderAndBarrier(t *testing.T) {
	e := startHistEnv(t, histOpts{})
	alice := e.connect(t, "alice", key("b-alice"), histCaps...)
	bob := e.connect(t, "bob", key("b-bob"), histCaps...)
	alice.join("#o")
	bob.join("#o")
	// pipelined: the PART must not overtake the messages in the lane
	var lines []string
	for i := range 50 {
		lines = append(lines, "PRIVMSG #o :line "+strconv.Itoa(i))
	}
	lines = append(lines, "PART #o :done")
	alice.send(strings.Join(lines, "\r\n"))
	var seen []string
	for len(seen) < 51 {
		m, err := bob.read(5 * time.Second)
		if err != nil {
			t.Fatalf("bob: %v after %v", err, seen)
		}
		switch m.Command {
		case "PRIVMSG":
			seen = append(seen, m.Param(1))
		case "PART":
			seen = append(seen, "PART")
		}
	}
	for i := range 50 {
		if seen[i] != "line "+strconv.Itoa(i) {
			t.Fatalf("message %d is %q: %v", i, seen[i], seen)
		}
	}
	if seen[50] != "PART" {
		t.Fatalf("the PART overtook messages: %v", seen)
	}
	if got := bob.history("CHATHISTORY LATEST #o * 100").texts(); len(got) != 50 {
		t.Fatalf("stored %d messages, want 50", len(got))
	}
}

func TestChathistoryTargets(t *testing.T) {
	e := startHistEnv(t, histOpts{private: true})
	alice := e.connect(t, "alice", key("t-alice"), histCaps...)
	bob := e.connect(t, "bob", key("t-bob"), histCaps...)
	alice.join("#a")
	alice.join("#b")
	e.clock.Advance(time.Second)
	alice.speak("#a", "in a")
	e.clock.Advance(time.Second)
	alice.speak("bob", "hi")
	e.clock.Advance(time.Second)
	alice.speak("#b", "in b")
	bob.join("#elsewhere")
	r := alice.history("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2100-01-01T00:00:00.000Z 10")
	if r.fail != nil || len(r.batch) < 1 || r.batch[0] != "draft/chathistory-targets" {
		t.Fatalf("TARGETS: %v %v", r.fail, r.batch)
	}
	var got []string
	for _, m := range r.msgs {
		if m.Command != "CHATHISTORY" || m.Param(0) != "TARGETS" || m.Param(2) == "" {
			t.Fatalf("bad TARGETS line %v", m)
		}
		got = append(got, m.Param(1))
	}
	want := []string{"#a", accountOf(t, key("t-bob")), "#b"}
	if !slices.Equal(got, want) {
		t.Fatalf("TARGETS %v, want %v (latest message oldest first)", got, want)
	}
	if r := alice.history("CHATHISTORY TARGETS msgid=x timestamp=2100-01-01T00:00:00.000Z 10"); r.fail == nil || r.fail.Param(1) != "INVALID_PARAMS" {
		t.Fatalf("TARGETS with a msgid: %v", r.fail)
	}
}
