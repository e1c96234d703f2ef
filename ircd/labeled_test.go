package ircd

import (
	"encoding/base64"
	"strings"
	"testing"

	"gopkg.in/irc.v4"
)

// labelOf returns the label tag of m and whether it has one.
func labelOf(m *irc.Message) (string, bool) {
	v, ok := m.Tags["label"]
	return v, ok
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// batchOf returns the batch tag of m, "" when it has none.
func batchOf(m *irc.Message) string { return m.Tags["batch"] }

// checkFraming checks that msgs open and close batches properly: every
// batch opened is closed, every batch tag refers to an open batch, and no
// reference is reused.
func checkFraming(t *testing.T, msgs []*irc.Message) {
	t.Helper()
	open := map[string]bool{}
	used := map[string]bool{}
	for _, m := range msgs {
		if ref := batchOf(m); ref != "" && !open[ref] {
			t.Fatalf("%q refers to batch %q, which is not open", m, ref)
		}
		if m.Command != "BATCH" {
			continue
		}
		p := m.Param(0)
		switch {
		case strings.HasPrefix(p, "+"):
			if used[p[1:]] {
				t.Fatalf("batch reference %q reused", p[1:])
			}
			if !validBatchRef(p[1:]) {
				t.Fatalf("bad batch reference %q", p[1:])
			}
			used[p[1:]], open[p[1:]] = true, true
		case strings.HasPrefix(p, "-"):
			if !open[p[1:]] {
				t.Fatalf("BATCH %s closes a batch that is not open", p)
			}
			delete(open, p[1:])
		default:
			t.Fatalf("bad BATCH line %q", m)
		}
	}
	if len(open) > 0 {
		t.Fatalf("batches left open: %v", open)
	}
}

func TestLabeledResponse(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.connect("alice", "labeled-response", "batch", "echo-message", "message-tags")
	bob := ts.connect("bob")
	alice.join("#c")
	bob.join("#c")
	alice.collect()
	tests := []struct {
		name  string
		line  string
		check func(t *testing.T, msgs []*irc.Message)
	}{
		{"one line gets the label", "@label=l1 PRIVMSG nobody :hi", func(t *testing.T, msgs []*irc.Message) {
			if len(msgs) != 1 || msgs[0].Command != "401" {
				t.Fatalf("got %v, want one 401", msgs)
			}
			if l, _ := labelOf(msgs[0]); l != "l1" {
				t.Fatalf("label %q on %v", l, msgs[0])
			}
		}},
		{"echo is the response", "@label=e1 PRIVMSG #c :hello", func(t *testing.T, msgs []*irc.Message) {
			if len(msgs) != 1 || msgs[0].Command != "PRIVMSG" || msgs[0].Trailing() != "hello" {
				t.Fatalf("got %v, want the echo", msgs)
			}
			if l, _ := labelOf(msgs[0]); l != "e1" {
				t.Fatalf("label %q on %v", l, msgs[0])
			}
			if msgs[0].Tags["msgid"] == "" {
				t.Fatalf("echo without msgid: %v", msgs[0])
			}
		}},
		{"no output gets ACK", "@label=a1 MONITOR - nobody", func(t *testing.T, msgs []*irc.Message) {
			if len(msgs) != 1 || msgs[0].Command != "ACK" || msgs[0].Prefix.Name != "irc.test" || len(msgs[0].Params) != 0 {
				t.Fatalf("got %v, want one ACK", msgs)
			}
			if l, _ := labelOf(msgs[0]); l != "a1" {
				t.Fatalf("label %q on %v", l, msgs[0])
			}
		}},
		{"PONG gets ACK", "@label=p1 PONG :x", func(t *testing.T, msgs []*irc.Message) {
			if len(msgs) != 1 || msgs[0].Command != "ACK" {
				t.Fatalf("got %v, want one ACK", msgs)
			}
		}},
		{"several lines: labeled-response batch", "@label=w1 WHOIS bob", func(t *testing.T, msgs []*irc.Message) {
			checkFraming(t, msgs)
			if len(msgs) < 4 || msgs[0].Command != "BATCH" || msgs[0].Param(1) != "labeled-response" {
				t.Fatalf("got %v, want a labeled-response batch", msgs)
			}
			if l, _ := labelOf(msgs[0]); l != "w1" {
				t.Fatalf("label %q on %v", l, msgs[0])
			}
			ref := msgs[0].Param(0)[1:]
			for _, m := range msgs[1 : len(msgs)-1] {
				if batchOf(m) != ref {
					t.Fatalf("%v is not in batch %s", m, ref)
				}
				if _, ok := labelOf(m); ok {
					t.Fatalf("label inside the batch: %v", m)
				}
			}
			if last := msgs[len(msgs)-1]; last.Command != "BATCH" || last.Param(0) != "-"+ref {
				t.Fatalf("last %v, want BATCH -%s", last, ref)
			}
			if find(msgs, "311", nil) == nil || find(msgs, "318", nil) == nil {
				t.Fatalf("no WHOIS reply in %v", msgs)
			}
		}},
		{"escaped label value", `@label=a\sb\:c PRIVMSG nobody :x`, func(t *testing.T, msgs []*irc.Message) {
			if l, _ := labelOf(msgs[0]); len(msgs) != 1 || l != "a b;c" {
				t.Fatalf("got %v (label %q)", msgs, l)
			}
		}},
		{"label over 64 bytes is ignored", "@label=" + strings.Repeat("x", 65) + " PRIVMSG nobody :x", func(t *testing.T, msgs []*irc.Message) {
			if len(msgs) != 1 || msgs[0].Command != "401" {
				t.Fatalf("got %v", msgs)
			}
			if _, ok := labelOf(msgs[0]); ok {
				t.Fatalf("over-long label echoed: %v", msgs[0])
			}
		}},
		{"unlabeled command: nothing added", "PRIVMSG nobody :x", func(t *testing.T, msgs []*irc.Message) {
			if len(msgs) != 1 || len(msgs[0].Tags) != 0 {
				t.Fatalf("got %v", msgs)
			}
		}},
		{"message to oneself: only the echo is labeled", "@label=s1 PRIVMSG alice :me", func(t *testing.T, msgs []*irc.Message) {
			privs := filter(msgs, "PRIVMSG")
			if len(privs) != 2 {
				t.Fatalf("got %v, want delivery and echo", msgs)
			}
			n := 0
			for _, m := range msgs {
				if _, ok := labelOf(m); ok {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d labeled lines in %v, want 1", n, msgs)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alice.send(tt.line)
			tt.check(t, alice.collect())
		})
	}
	// the other members see no label
	bob.send("PING :x")
	for _, m := range bob.collect() {
		if _, ok := labelOf(m); ok {
			t.Fatalf("bob got a label: %v", m)
		}
	}
}

// TestLabelNeedsBatch: labeled-response without batch is not honoured (the
// specification requires batch).
func TestLabelNeedsBatch(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.connect("alice", "labeled-response")
	c.send("@label=x PRIVMSG nobody :hi")
	msgs := c.collect()
	if len(msgs) != 1 || msgs[0].Command != "401" {
		t.Fatalf("got %v", msgs)
	}
	if _, ok := labelOf(msgs[0]); ok {
		t.Fatalf("labeled without batch: %v", msgs[0])
	}
}

// TestLabeledAsyncCommand: a labeled command that waits for an async step
// (a slow SASL login after registration) gets its whole response labeled
// once the step is done.
func TestLabeledAsyncCommand(t *testing.T) {
	ts := startServer(t, withAuth(newTestAuth()))
	c := ts.connect("alice", "labeled-response", "batch", "sasl")
	c.send("@label=sa AUTHENTICATE TEST")
	msgs := c.collect()
	if len(msgs) != 1 || msgs[0].Command != "AUTHENTICATE" {
		t.Fatalf("got %v, want AUTHENTICATE +", msgs)
	}
	if l, _ := labelOf(msgs[0]); l != "sa" {
		t.Fatalf("label %q on %v", l, msgs[0])
	}
	c.send("@label=sb AUTHENTICATE " + b64("slowacct"))
	msgs = c.collect()
	checkFraming(t, msgs)
	if len(msgs) < 3 || msgs[0].Command != "BATCH" {
		t.Fatalf("got %v, want a labeled-response batch", msgs)
	}
	if l, _ := labelOf(msgs[0]); l != "sb" {
		t.Fatalf("label %q on %v", l, msgs[0])
	}
	if find(msgs, "903", nil) == nil {
		t.Fatalf("no 903 in %v", msgs)
	}
}

// TestBatchNesting: a batch opened inside another carries the outer
// batch's tag on its BATCH lines, and a labeled response that holds a
// batch among other lines nests it in the labeled-response batch.
func TestBatchNesting(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.connect("alice", "batch", "labeled-response")
	ts.do(func(s *Server) {
		sc := s.st.nicks["alice"]
		outer := s.startBatch(sc, nil, "example.com/outer")
		inner := s.startBatch(sc, outer, "example.com/inner", "p1")
		inner.send(line("x!y@z", "PRIVMSG", "alice", "in"))
		inner.end(outer)
		outer.send(line("x!y@z", "PRIVMSG", "alice", "out"))
		outer.end(nil)
	})
	msgs := c.collect()
	checkFraming(t, msgs)
	if len(msgs) != 6 {
		t.Fatalf("got %v", msgs)
	}
	outer, inner := msgs[0].Param(0)[1:], msgs[1].Param(0)[1:]
	if msgs[0].Param(1) != "example.com/outer" || batchOf(msgs[0]) != "" {
		t.Fatalf("outer start %v", msgs[0])
	}
	if msgs[1].Param(1) != "example.com/inner" || msgs[1].Param(2) != "p1" || batchOf(msgs[1]) != outer {
		t.Fatalf("inner start %v", msgs[1])
	}
	if msgs[2].Trailing() != "in" || batchOf(msgs[2]) != inner {
		t.Fatalf("inner line %v", msgs[2])
	}
	if msgs[3].Param(0) != "-"+inner || batchOf(msgs[3]) != outer {
		t.Fatalf("inner end %v", msgs[3])
	}
	if msgs[4].Trailing() != "out" || batchOf(msgs[4]) != outer {
		t.Fatalf("outer line %v", msgs[4])
	}
	if msgs[5].Param(0) != "-"+outer || batchOf(msgs[5]) != "" {
		t.Fatalf("outer end %v", msgs[5])
	}

	// a client without batch gets the lines alone
	d := ts.connect("dave")
	ts.do(func(s *Server) {
		sc := s.st.nicks["dave"]
		b := s.startBatch(sc, nil, "example.com/outer")
		b.sendTo(sc, line("x!y@z", "PRIVMSG", "dave", "plain"))
		b.end(nil)
	})
	msgs = d.collect()
	if len(msgs) != 1 || msgs[0].Command != "PRIVMSG" || len(msgs[0].Tags) != 0 {
		t.Fatalf("got %v", msgs)
	}

	// a labeled response of a batch and another line: nested
	ts.do(func(s *Server) {
		sc := s.st.nicks["alice"]
		sc.label = &labelCapture{label: "n1"}
		b := s.startBatch(sc, nil, "example.com/x")
		b.send(line("x!y@z", "PRIVMSG", "alice", "a"))
		b.end(nil)
		sc.send(line("irc.test", "NOTICE", "alice", "b"))
		lc := sc.label
		sc.label = nil
		s.sendLabeled(sc, lc)
	})
	msgs = c.collect()
	checkFraming(t, msgs)
	if len(msgs) != 6 || msgs[0].Param(1) != "labeled-response" {
		t.Fatalf("got %v", msgs)
	}
	lr := msgs[0].Param(0)[1:]
	if l, _ := labelOf(msgs[0]); l != "n1" {
		t.Fatalf("label %q", l)
	}
	if batchOf(msgs[1]) != lr || batchOf(msgs[2]) != msgs[1].Param(0)[1:] || batchOf(msgs[3]) != lr || batchOf(msgs[4]) != lr {
		t.Fatalf("nesting wrong: %v", msgs)
	}
}
