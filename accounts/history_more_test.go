package accounts_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/store"
)

// rawLines sends cmd followed by a PING and returns the raw lines up to
// the PONG, checking that each is one well-formed IRC line.
func (c *client) rawLines(cmd string) []string {
	c.t.Helper()
	c.send(cmd)
	c.send("PING :raw")
	var out []string
	for {
		c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("%s: %v after %q", c.nick, err, out)
		}
		if !strings.HasSuffix(l, "\r\n") || strings.ContainsAny(strings.TrimSuffix(l, "\r\n"), "\r\n") {
			c.t.Fatalf("%s: malformed line %q", c.nick, l)
		}
		m, err := irc.ParseMessage(l)
		if err != nil {
			c.t.Fatalf("%s: unparsable line %q: %v", c.nick, l, err)
		}
		if m.Command == "PONG" && m.Param(1) == "raw" {
			return out
		}
		out = append(out, strings.TrimSuffix(l, "\r\n"))
	}
}

func TestHistoryMultiline(t *testing.T) {
	e := startHistEnv(t, histOpts{replay: 10})
	mlCaps := append([]string{"draft/multiline"}, histCaps...)
	alice := e.connect(t, "alice", key("ml-alice"), mlCaps...)
	alice.join("#ml")
	long := strings.Repeat("x", 300)
	for _, l := range []string{
		"BATCH +m1 draft/multiline #ml",
		"@batch=m1 PRIVMSG #ml :one",
		"@batch=m1 PRIVMSG #ml :two",
		"@batch=m1;draft/multiline-concat PRIVMSG #ml :-three",
		"@batch=m1 PRIVMSG #ml :",
		"@batch=m1 PRIVMSG #ml :" + long,
		"@batch=m1;draft/multiline-concat PRIVMSG #ml :" + long,
		"BATCH -m1",
	} {
		alice.send(l)
	}
	open := alice.expect("BATCH", func(m *irc.Message) bool { return strings.HasPrefix(m.Param(0), "+") })
	id := open.Tags["msgid"]
	alice.collect()
	ent, err := e.db.HistoryEntryByID(id)
	if want := "one\ntwo-three\n\n" + long + long; err != nil || ent.Text != want {
		t.Fatalf("stored %q, %v; want one message %q", ent.Text, err, want)
	}

	// every line of a replayed multiline message, for each kind of client
	type line struct {
		text   string
		concat bool
	}
	parse := func(raw []string) (lines []line, nested bool, firstID string) {
		for _, l := range raw {
			m, _ := irc.ParseMessage(l)
			switch m.Command {
			case "PRIVMSG":
				_, concat := m.Tags["draft/multiline-concat"]
				lines = append(lines, line{m.Param(1), concat})
				if firstID == "" {
					firstID = m.Tags["msgid"]
				}
			case "BATCH":
				if m.Param(1) == "draft/multiline" {
					nested = m.Tags["batch"] != "" && m.Tags["msgid"] == id
					firstID = m.Tags["msgid"]
				}
			}
		}
		return
	}
	cut := 512 - len(":alice!alice@ PRIVMSG #ml :\r\n") // about: the line limit
	tests := []struct {
		name   string
		caps   []string
		cmd    string
		nested bool
	}{
		{"multiline client", mlCaps, "CHATHISTORY LATEST #ml * 10", true},
		{"chathistory client without multiline", histCaps, "CHATHISTORY LATEST #ml * 10", false},
		{"replay on join, plain client", nil, "JOIN #ml", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.connect(t, "reader"+strconv.Itoa(i), nil, tt.caps...)
			lines, nested, firstID := parse(c.rawLines(tt.cmd))
			if nested != tt.nested {
				t.Fatalf("nested multiline batch: %v, want %v", nested, tt.nested)
			}
			if slices.Contains(tt.caps, "message-tags") && firstID != id {
				t.Fatalf("msgid %q, want %q", firstID, id)
			}
			if tt.nested {
				// the lines rebuild the message: a line feed before each
				// line that is not concatenated
				var b strings.Builder
				for i, l := range lines {
					if i > 0 && !l.concat {
						b.WriteByte('\n')
					}
					b.WriteString(l.text)
				}
				if b.String() != ent.Text || len(lines) < 5 || !lines[len(lines)-1].concat {
					t.Fatalf("lines %v rebuild %q, want %q", lines, b.String(), ent.Text)
				}
			} else {
				// separate lines, blank ones left out, the long one in pieces
				var texts []string
				for _, l := range lines {
					if l.concat {
						t.Fatalf("concat tag to a client without multiline: %q", l.text)
					}
					texts = append(texts, l.text)
				}
				if len(texts) < 4 || !slices.Equal(texts[:2], []string{"one", "two-three"}) || strings.Join(texts[2:], "") != long+long {
					t.Fatalf("lines %q", texts)
				}
			}
			for _, l := range lines {
				if len(l.text) > cut {
					t.Fatalf("a replayed line of %d bytes", len(l.text))
				}
			}
		})
	}
}

func TestLabeledMessageHistory(t *testing.T) {
	for _, history := range []bool{true, false} {
		t.Run("history "+strconv.FormatBool(history), func(t *testing.T) {
			e := startHistEnv(t, histOpts{off: !history})
			caps := []string{"batch", "labeled-response", "message-tags", "server-time"}
			echo := e.connect(t, "echo", key("l-echo"), append(caps, "echo-message")...)
			quiet := e.connect(t, "quiet", key("l-quiet"), caps...)
			for _, c := range []*client{echo, quiet} {
				c.join("#l1")
				c.join("#l2")
			}
			echo.collect()
			quiet.collect()

			// one echo: the label on it
			echo.send("@label=one PRIVMSG #l1 :hello")
			m := echo.expect("PRIVMSG", nil)
			if m.Tags["label"] != "one" || m.Param(1) != "hello" {
				t.Fatalf("labeled echo: %v", m)
			}
			// without echo-message: ACK
			quiet.send("@label=two PRIVMSG #l1 :hi")
			if m := quiet.expect("ACK", nil); m.Tags["label"] != "two" {
				t.Fatalf("ACK: %v", m)
			}
			// two echoes: a labeled-response batch holding both
			echo.send("@label=three PRIVMSG #l1,#l2 :both")
			msgs := echo.readUntil("BATCH")
			open := msgs[len(msgs)-1]
			if open.Tags["label"] != "three" || open.Param(1) != "labeled-response" {
				t.Fatalf("batch open: %v (after %v)", open, msgs)
			}
			ref := strings.TrimPrefix(open.Param(0), "+")
			var in []string
			for _, m := range echo.readUntil("BATCH") {
				if m.Command == "PRIVMSG" && m.Tags["batch"] == ref {
					in = append(in, m.Param(0))
				}
			}
			if !slices.Equal(in, []string{"#l1", "#l2"}) {
				t.Fatalf("labeled batch holds %v", in)
			}
			// a refused message: the error is the response
			echo.send("@label=four PRIVMSG #nowhere :x")
			if m := echo.expect("401", nil); m.Tags["label"] != "four" {
				t.Fatalf("labeled error: %v", m)
			}
			// nothing else carries a label
			for _, c := range []*client{echo, quiet} {
				for _, m := range c.collect() {
					if m.Tags["label"] != "" {
						t.Fatalf("%s: a stray labeled line %v", c.nick, m)
					}
				}
			}
		})
	}
}

func TestHistoryReacts(t *testing.T) {
	e := startHistEnv(t, histOpts{})
	alice := e.connect(t, "alice", key("p-alice"), histCaps...)
	alice.join("#poll")
	poll := alice.speak("#poll", "Lunch: 🍕 or 🍣?")
	voters := []struct {
		nick, tags string
	}{
		{"bob", "+draft/react=🍕"},
		{"carol", "+draft/react=🍣"},
		{"dave", "+draft/react=🍕"},
		{"dave", "+draft/unreact=🍕"},
	}
	clients := map[string]*client{}
	var ids []string
	for _, v := range voters {
		c := clients[v.nick]
		if c == nil {
			c = e.connect(t, v.nick, key("p-"+v.nick), histCaps...)
			c.join("#poll")
			clients[v.nick] = c
		}
		c.send("@" + v.tags + ";+draft/reply=" + poll + " TAGMSG #poll")
		ids = append(ids, c.expect("TAGMSG", nil).Tags["msgid"])
	}
	// typing notifications are not stored
	clients["bob"].send("@+typing=active TAGMSG #poll")
	clients["bob"].collect()

	tests := []struct {
		name string
		caps []string
		want []string // "CMD nick tags"
	}{
		{"message-tags client", []string{"batch", "server-time", "message-tags", "draft/chathistory"}, []string{
			"PRIVMSG alice ",
			"TAGMSG bob +draft/react=🍕 " + ids[0],
			"TAGMSG carol +draft/react=🍣 " + ids[1],
			"TAGMSG dave +draft/react=🍕 " + ids[2],
			"TAGMSG dave +draft/unreact=🍕 " + ids[3],
		}},
		{"client without message-tags", []string{"batch", "server-time", "draft/chathistory"}, []string{"PRIVMSG alice "}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.connect(t, "fresh"+strconv.Itoa(i), nil, tt.caps...)
			var got []string
			for _, m := range c.history("CHATHISTORY LATEST #poll * 50").msgs {
				s := m.Command + " " + m.Prefix.Name + " "
				if m.Command == "TAGMSG" {
					if m.Tags["+draft/reply"] != poll {
						t.Fatalf("react without its reply tag: %v", m)
					}
					for _, k := range []string{"+draft/react", "+draft/unreact"} {
						if v, ok := m.Tags[k]; ok {
							s += k + "=" + v
						}
					}
					s += " " + m.Tags["msgid"]
				}
				got = append(got, s)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("history %q, want %q", got, tt.want)
			}
		})
	}
}

// A client joining while messages are on their way through the history
// lane gets each of them once, in order: the replay (what was stored
// before its JOIN), then the live ones. The lane is stalled by holding
// the database's write lock, so that messages sent before the JOIN are
// still waiting to be relayed when it comes.
func TestReplayOnJoinOrder(t *testing.T) {
	e := startHistEnv(t, histOpts{replay: 500})
	alice := e.connect(t, "alice", key("o-alice"), histCaps...)
	alice.join("#o")
	late := e.connect(t, "late", nil, "batch", "server-time")
	if err := e.db.PutChannel(store.ChannelRecord{Name: "#lock", Founder: accountOf(t, key("o-alice")), Registered: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	locked, release := make(chan struct{}), make(chan struct{})
	go e.db.UpdateChannel("#lock", func(*store.ChannelRecord) error {
		close(locked)
		<-release
		return errors.New("only holding the lock")
	})
	<-locked
	say := func(from, to int) {
		var burst strings.Builder
		for i := from; i < to; i++ {
			burst.WriteString("PRIVMSG #o :" + strconv.Itoa(i) + "\r\n")
		}
		alice.conn.Write([]byte(burst.String()))
	}
	say(0, 10)
	time.Sleep(100 * time.Millisecond) // the loop takes them into the stalled lane
	late.send("JOIN #o")
	time.Sleep(100 * time.Millisecond)
	say(10, 20)
	time.Sleep(100 * time.Millisecond)
	close(release)
	alice.expect("PRIVMSG", func(m *irc.Message) bool { return m.Param(1) == "19" })
	var got []int
	replayed := 0
	for _, m := range late.collect() {
		if m.Command == "PRIVMSG" {
			i, _ := strconv.Atoi(m.Param(1))
			got = append(got, i)
			if m.Tags["batch"] != "" {
				replayed++
			}
		}
	}
	for i := range got {
		if got[i] != i {
			t.Fatalf("the joiner saw %v: not each message once, in order", got)
		}
	}
	if len(got) != 20 || replayed != 10 {
		t.Fatalf("the joiner saw %v, %d of them replayed; want 0..19, 0..9 replayed", got, replayed)
	}
}

// A channel that is neither registered nor declared starts a new history
// when it is created again after its last member left.
func TestHistoryNewChannelEpoch(t *testing.T) {
	e := startHistEnv(t, histOpts{replay: 10})
	alice := e.connect(t, "alice", key("ep-alice"), histCaps...)
	alice.join("#ep")
	alice.send("MODE #ep +s")
	alice.speak("#ep", "old secret")
	alice.send("PART #ep")
	alice.expect("PART", nil)
	e.clock.Advance(time.Second)

	bob := e.connect(t, "bob", key("ep-bob"), histCaps...)
	bob.join("#ep") // a new, open channel of the same name
	bob.speak("#ep", "new")
	if got := bob.history("CHATHISTORY LATEST #ep * 10").texts(); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("the new channel shows %v", got)
	}
	guest := e.connect(t, "guest", nil)
	var replayed []string
	for _, m := range guest.join("#ep") {
		if m.Command == "PRIVMSG" {
			replayed = append(replayed, m.Param(1))
		}
	}
	for _, m := range guest.collect() {
		if m.Command == "PRIVMSG" {
			replayed = append(replayed, m.Param(1))
		}
	}
	if !slices.Equal(replayed, []string{"new"}) {
		t.Fatalf("replay on the new channel: %v", replayed)
	}
	// an account that was in the earlier channel reads from its first join
	alice.join("#ep")
	if got := alice.history("CHATHISTORY LATEST #ep * 10").texts(); !slices.Equal(got, []string{"old secret", "new"}) {
		t.Fatalf("its earlier member, back in the new channel, reads %v", got)
	}
	alice.send("PART #ep")
	alice.expect("PART", nil)
	// the earlier channel's history stays readable to its member while no
	// channel of that name exists
	bob.send("PART #ep")
	bob.expect("PART", nil)
	guest.send("PART #ep")
	guest.expect("PART", func(m *irc.Message) bool { return m.Prefix.Name == "guest" })
	if got := alice.history("CHATHISTORY LATEST #ep * 10").texts(); !slices.Equal(got, []string{"old secret", "new"}) {
		t.Fatalf("its earlier member reads %v", got)
	}
}
