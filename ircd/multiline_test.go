package ircd

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/irc.v4"
)

var mlCaps = []string{"draft/multiline", "batch", "message-tags", "echo-message", "labeled-response"}

// sendBatch sends a client multiline batch: lines prefixed "+" carry
// draft/multiline-concat.
func sendBatch(c *testClient, openTags, ref, target string, lines ...string) {
	c.t.Helper()
	open := "BATCH +" + ref + " draft/multiline " + target
	if openTags != "" {
		open = "@" + openTags + " " + open
	}
	c.send(open)
	for _, l := range lines {
		tags := "@batch=" + ref
		if strings.HasPrefix(l, "+") {
			tags += ";draft/multiline-concat"
			l = l[1:]
		}
		c.send(tags + " PRIVMSG " + target + " :" + l)
	}
	c.send("BATCH -" + ref)
}

// multilineBatch checks that msgs hold exactly one draft/multiline batch to
// target and returns its opening line and lines.
func multilineBatch(t *testing.T, msgs []*irc.Message, target string) (*irc.Message, []*irc.Message) {
	t.Helper()
	checkFraming(t, msgs)
	if len(msgs) < 3 || msgs[0].Command != "BATCH" || msgs[0].Param(1) != "draft/multiline" || msgs[0].Param(2) != target {
		t.Fatalf("no multiline batch to %s: %v", target, msgs)
	}
	ref := msgs[0].Param(0)[1:]
	inner := msgs[1 : len(msgs)-1]
	for _, m := range inner {
		if m.Command != "PRIVMSG" || batchOf(m) != ref || m.Param(0) != target {
			t.Fatalf("bad batch line %v", m)
		}
	}
	return msgs[0], inner
}

func TestMultiline(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.connect("alice", mlCaps...)
	bob := ts.connect("bob", "draft/multiline", "batch", "message-tags")
	carol := ts.connect("carol", "message-tags", "server-time")
	for _, c := range []*testClient{alice, bob, carol} {
		c.join("#c")
	}
	for _, c := range []*testClient{alice, bob, carol} {
		c.collect()
	}
	sendBatch(alice, "label=ml1;+draft/reply=abc", "r1", "#c", "hello", "how is ", "+everyone?", "", "bye")
	// the sender: its echo, the label on the opening BATCH only
	open, lines := multilineBatch(t, alice.collect(), "#c")
	if l, _ := labelOf(open); l != "ml1" {
		t.Fatalf("echo batch label %q: %v", l, open)
	}
	msgid := open.Tags["msgid"]
	if msgid == "" || open.Tags["+draft/reply"] != "abc" || open.Prefix.Name != "alice" {
		t.Fatalf("opening line %v", open)
	}
	if len(lines) != 5 {
		t.Fatalf("%d lines in the echo", len(lines))
	}
	// bob (multiline): the same batch
	bopen, blines := multilineBatch(t, bob.collect(), "#c")
	if bopen.Tags["msgid"] != msgid {
		t.Fatalf("bob's batch msgid %q, want %q", bopen.Tags["msgid"], msgid)
	}
	if _, ok := labelOf(bopen); ok {
		t.Fatalf("bob got the label: %v", bopen)
	}
	var texts []string
	for i, m := range blines {
		_, concat := m.Tags["draft/multiline-concat"]
		if concat != (i == 2) {
			t.Fatalf("line %d concat=%v: %v", i, concat, m)
		}
		texts = append(texts, m.Trailing())
	}
	if want := []string{"hello", "how is ", "everyone?", "", "bye"}; !slices.Equal(texts, want) {
		t.Fatalf("bob's lines %q, want %q", texts, want)
	}
	// carol (no multiline): separate lines, no blank one, msgid on the first only
	msgs := carol.collect()
	privs := filter(msgs, "PRIVMSG")
	if find(msgs, "BATCH", nil) != nil || len(privs) != 4 {
		t.Fatalf("carol got %v", msgs)
	}
	texts = nil
	for i, m := range privs {
		texts = append(texts, m.Trailing())
		if _, has := m.Tags["msgid"]; has != (i == 0) {
			t.Fatalf("carol's line %d msgid: %v", i, m)
		}
		if m.Tags["time"] == "" || batchOf(m) != "" {
			t.Fatalf("carol's line %d tags: %v", i, m)
		}
	}
	if privs[0].Tags["msgid"] != msgid || privs[0].Tags["+draft/reply"] != "abc" {
		t.Fatalf("carol's first line %v", privs[0])
	}
	if want := []string{"hello", "how is ", "everyone?", "bye"}; !slices.Equal(texts, want) {
		t.Fatalf("carol's lines %q, want %q", texts, want)
	}

	// a private multiline message
	sendBatch(alice, "", "r2", "bob", "one", "two")
	alice.collect()
	_, blines = multilineBatch(t, bob.collect(), "bob")
	if len(blines) != 2 {
		t.Fatalf("bob got %v", blines)
	}
	sendBatch(alice, "", "r3", "carol", "one", "two")
	alice.collect()
	if privs := filter(carol.collect(), "PRIVMSG"); len(privs) != 2 || privs[1].Trailing() != "two" {
		t.Fatalf("carol got %v", privs)
	}
	// refused at delivery: labeled 401 answers the batch
	sendBatch(alice, "label=ml4", "r4", "nobody", "x")
	msgs = alice.collect()
	if len(msgs) != 1 || msgs[0].Command != "401" {
		t.Fatalf("got %v", msgs)
	}
	if l, _ := labelOf(msgs[0]); l != "ml4" {
		t.Fatalf("label %q", l)
	}
}

func TestMultilineLimitsAdvertised(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Limits.MultilineMaxBytes, c.Limits.MultilineMaxLines = 1000, 5 })
	c := ts.dial()
	c.send("CAP LS 302")
	c.send("NICK x")
	c.send("USER x 0 * :x")
	c.send("CAP END")
	msgs := c.collect()
	ls := find(msgs, "CAP", nil)
	if !slices.Contains(strings.Fields(ls.Trailing()), "draft/multiline=max-bytes=1000,max-lines=5") {
		t.Fatalf("CAP LS %v", ls)
	}
	var toks []string
	for _, m := range filter(msgs, "005") {
		toks = append(toks, m.Params[1:len(m.Params)-1]...)
	}
	if !slices.Contains(toks, "MULTILINE=max-bytes=1000,max-lines=5") {
		t.Fatalf("005 %q", toks)
	}
}

// TestMultilineFailures: each violation gets its FAIL BATCH code, nothing
// of the batch is relayed, and the client goes on normally.
func TestMultilineFailures(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Limits.MultilineMaxBytes, c.Limits.MultilineMaxLines = 600, 3 })
	alice := ts.connect("alice", mlCaps...)
	bob := ts.connect("bob", "draft/multiline", "batch")
	alice.join("#c")
	bob.join("#c")
	alice.collect()
	bob.collect()
	long := strings.Repeat("x", 300)
	tests := []struct {
		name  string
		lines []string // sent as is
		fail  []string // FAIL params after BATCH
	}{
		{"max-bytes", []string{"BATCH +b1 draft/multiline #c", "@batch=b1 PRIVMSG #c :" + long, "@batch=b1 PRIVMSG #c :" + long, "BATCH -b1"},
			[]string{"MULTILINE_MAX_BYTES", "600"}},
		{"max-bytes: concatenated", []string{"BATCH +b2 draft/multiline #c", "@batch=b2 PRIVMSG #c :" + long, "@batch=b2;draft/multiline-concat PRIVMSG #c :" + long + "x", "BATCH -b2"},
			[]string{"MULTILINE_MAX_BYTES", "600"}},
		{"max-lines", []string{"BATCH +b3 draft/multiline #c", "@batch=b3 PRIVMSG #c :1", "@batch=b3 PRIVMSG #c :2", "@batch=b3 PRIVMSG #c :3", "@batch=b3 PRIVMSG #c :4", "BATCH -b3"},
			[]string{"MULTILINE_MAX_LINES", "3"}},
		{"target mismatch", []string{"BATCH +b4 draft/multiline #c", "@batch=b4 PRIVMSG #c :1", "@batch=b4 PRIVMSG bob :2", "BATCH -b4"},
			[]string{"MULTILINE_INVALID_TARGET", "#c", "bob"}},
		{"empty batch", []string{"BATCH +b5 draft/multiline #c", "BATCH -b5"},
			[]string{"MULTILINE_INVALID"}},
		{"only blank lines", []string{"BATCH +b6 draft/multiline #c", "@batch=b6 PRIVMSG #c :", "@batch=b6 PRIVMSG #c :", "BATCH -b6"},
			[]string{"MULTILINE_INVALID"}},
		{"blank concat line", []string{"BATCH +b7 draft/multiline #c", "@batch=b7 PRIVMSG #c :a", "@batch=b7;draft/multiline-concat PRIVMSG #c :", "BATCH -b7"},
			[]string{"MULTILINE_INVALID"}},
		{"NOTICE in the batch", []string{"BATCH +b8 draft/multiline #c", "@batch=b8 NOTICE #c :a", "BATCH -b8"},
			[]string{"MULTILINE_INVALID"}},
		{"other command while open", []string{"BATCH +b9 draft/multiline #c", "@batch=b9 PRIVMSG #c :a", "TOPIC #c", "@batch=b9 PRIVMSG #c :b", "BATCH -b9"},
			[]string{"MULTILINE_INVALID"}},
		{"unknown type", []string{"BATCH +c1 example.com/foo #c", "@batch=c1 PRIVMSG #c :a", "BATCH -c1"},
			[]string{"MULTILINE_INVALID"}},
		{"no target", []string{"BATCH +c2 draft/multiline", "@batch=c2 PRIVMSG #c :a", "BATCH -c2"},
			[]string{"MULTILINE_INVALID"}},
		{"two targets", []string{"BATCH +c3 draft/multiline #c,bob", "@batch=c3 PRIVMSG #c :a", "BATCH -c3"},
			[]string{"MULTILINE_INVALID"}},
		{"bad reference", []string{"BATCH +a_b draft/multiline #c"},
			[]string{"MULTILINE_INVALID"}},
		{"nested batch", []string{"BATCH +d1 draft/multiline #c", "BATCH +d2 draft/multiline #c", "@batch=d2 PRIVMSG #c :a", "BATCH -d2"},
			[]string{"MULTILINE_INVALID"}},
		{"close of no batch", []string{"BATCH -zz"},
			[]string{"MULTILINE_INVALID"}},
		{"line of no batch", []string{"@batch=zz PRIVMSG #c :a"},
			[]string{"MULTILINE_INVALID"}},
		{"to a service", []string{"BATCH +e1 draft/multiline NickServ", "@batch=e1 PRIVMSG NickServ :help", "BATCH -e1"},
			[]string{"MULTILINE_INVALID_TARGET"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, l := range tt.lines {
				alice.send(l)
			}
			msgs := alice.collect()
			fails := filter(msgs, "FAIL")
			if len(fails) != 1 {
				t.Fatalf("got %v, want one FAIL", msgs)
			}
			f := fails[0]
			if f.Param(0) != "BATCH" || !slices.Equal(f.Params[1:1+len(tt.fail)], tt.fail) {
				t.Fatalf("got %v, want FAIL BATCH %q", f, tt.fail)
			}
			if got := filter(msgs, "PRIVMSG"); len(got) != 0 {
				t.Fatalf("alice got an echo: %v", got)
			}
			if got := append(filter(bob.collect(), "PRIVMSG"), filter(bob.collect(), "BATCH")...); len(got) != 0 {
				t.Fatalf("bob got %v", got)
			}
		})
	}
	// afterwards a batch works; exactly max-bytes: 300 + line feed + 299,
	// and 300 + 300 concatenated
	sendBatch(alice, "", "ok1", "#c", long, long[1:])
	sendBatch(alice, "", "ok2", "#c", long, "+"+long)
	alice.collect()
	msgs := bob.collect()
	if _, lines := multilineBatch(t, msgs[:4], "#c"); len(lines) != 2 {
		t.Fatalf("bob got %v", lines)
	}
	if _, lines := multilineBatch(t, msgs[4:], "#c"); len(lines) != 2 {
		t.Fatalf("bob got %v", lines)
	}
	// a labeled batch that fails: the FAIL carries the label
	alice.send("@label=f1 BATCH +f1 draft/multiline #c")
	for i := range 4 {
		alice.send("@batch=f1 PRIVMSG #c :" + itoa(i))
	}
	alice.send("BATCH -f1")
	msgs = alice.collect()
	if len(msgs) != 1 || msgs[0].Command != "FAIL" {
		t.Fatalf("got %v", msgs)
	}
	if l, _ := labelOf(msgs[0]); l != "f1" {
		t.Fatalf("FAIL label %q", l)
	}
	// BATCH without the cap
	d := ts.connect("dave")
	d.send("BATCH +x draft/multiline #c")
	if f := find(d.collect(), "FAIL", nil); f == nil || f.Param(1) != "MULTILINE_INVALID" {
		t.Fatalf("got %v", f)
	}
}

// TestMultilineTimeout: a batch left open is dropped with FAIL BATCH
// TIMEOUT; its late lines are ignored.
func TestMultilineTimeout(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.connect("alice", mlCaps...)
	bob := ts.connect("bob", "draft/multiline", "batch")
	alice.join("#c")
	bob.join("#c")
	alice.send("BATCH +t1 draft/multiline #c")
	alice.send("@batch=t1 PRIVMSG #c :a")
	alice.collect()
	ts.advance(ts.srv.lim.MultilineTimeout - 1)
	if f := find(alice.collect(), "FAIL", nil); f != nil {
		t.Fatalf("early timeout %v", f)
	}
	ts.advance(1)
	f := alice.expect("FAIL", nil)
	if f.Param(0) != "BATCH" || f.Param(1) != "TIMEOUT" || f.Param(2) != "t1" {
		t.Fatalf("got %v", f)
	}
	alice.send("@batch=t1 PRIVMSG #c :b")
	alice.send("BATCH -t1")
	if msgs := alice.collect(); len(msgs) != 0 {
		t.Fatalf("late lines answered: %v", msgs)
	}
	if got := filter(bob.collect(), "PRIVMSG"); len(got) != 0 {
		t.Fatalf("bob got %v", got)
	}
	ts.do(func(s *Server) {
		if c := s.st.nicks["alice"]; c.ml != nil {
			t.Error("batch kept")
		}
	})
}

// TestMultilinePingPasses: PING and PONG inside an open batch are answered
// and do not break it.
func TestMultilinePingPasses(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.connect("alice", mlCaps...)
	bob := ts.connect("bob", "draft/multiline", "batch")
	alice.join("#c")
	bob.join("#c")
	bob.collect()
	alice.send("BATCH +p1 draft/multiline #c")
	alice.send("@batch=p1 PRIVMSG #c :a")
	alice.sync()
	alice.send("PONG :x")
	alice.send("@batch=p1 PRIVMSG #c :b")
	alice.send("BATCH -p1")
	alice.collect()
	if _, lines := multilineBatch(t, bob.collect(), "#c"); len(lines) != 2 {
		t.Fatalf("bob got %v", lines)
	}
}
