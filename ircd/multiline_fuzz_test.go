package ircd

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// batchFragments are the pieces hostile batch sequences are made of.
var batchFragments = []string{
	"BATCH +a draft/multiline #x",
	"BATCH +b draft/multiline bob",
	"BATCH +a draft/multiline #x,bob",
	"BATCH +a draft/multiline",
	"BATCH +a example/other #x",
	"BATCH +",
	"BATCH -",
	"BATCH +-- draft/multiline #x",
	"BATCH +a draft/multiline NickServ",
	"BATCH +a draft/multiline #nowhere",
	"@batch=a BATCH +c draft/multiline #x",
	"BATCH -a",
	"BATCH -b",
	"BATCH -zz",
	"BATCH a",
	"BATCH",
	"@batch=a PRIVMSG #x :hello",
	"@batch=a PRIVMSG #x :",
	"@batch=a PRIVMSG #x",
	"@batch=a PRIVMSG",
	"@batch=a;draft/multiline-concat PRIVMSG #x :more",
	"@batch=a;draft/multiline-concat PRIVMSG #x :",
	"@batch=a PRIVMSG #X :case",
	"@batch=a PRIVMSG bob :wrong target",
	"@batch=b PRIVMSG bob :hi",
	"@batch=a NOTICE #x :n",
	"@batch=a TAGMSG #x",
	"@batch= PRIVMSG #x :empty ref",
	"@batch=a;label=l PRIVMSG #x :labeled",
	"@label=L1 BATCH +a draft/multiline #x",
	"@label=L2 BATCH -a",
	"@+draft/reply=x BATCH +a draft/multiline #x",
	"@batch=a PRIVMSG #x :" + strings.Repeat("y", 400),
	"@batch=a PRIVMSG #x :\x01ACTION waves\x01",
	"PING :p",
	"PONG :p",
	"JOIN #x",
	"PART #x",
	"PRIVMSG #x :plain",
	"@label=L3 PRIVMSG #x :plain labeled",
	"NICK other",
	"NICK alice",
	"MONITOR + bob,alice,other",
	"MONITOR C",
	"@+typing=active TAGMSG #x",
	"CAP REQ :-draft/multiline",
	"CAP REQ :draft/multiline",
	"CAP REQ :-batch",
	"CAP REQ :batch",
}

// runBatchSequence feeds lines to a registered multiline client and checks
// that nothing panicked, the output is well formed and the state is sound.
func runBatchSequence(t *testing.T, lines []string, chunk int) {
	ps := newPipeServer(t, func(c *Config) {
		c.Limits.MultilineMaxBytes = 1024
		c.Limits.MultilineMaxLines = 4
		c.Limits.MaxMonitor = 2
	})
	bob := ps.register("bob", "draft/multiline", "batch", "message-tags", "echo-message")
	ps.line(bob, "JOIN #x")
	alice := ps.register("alice", "draft/multiline", "batch", "message-tags", "echo-message", "labeled-response")
	ps.line(alice, "JOIN #x")
	ps.feed(alice, []byte(strings.Join(lines, "\r\n")+"\r\n"), chunk)
	ps.checkState()
	for _, pc := range []*pipeClient{alice, bob} {
		if c := pc.c; c.ml != nil && (len(c.ml.lines) > 4 || c.ml.bytes > 1024) {
			t.Fatalf("open batch over its bounds: %d lines, %d bytes", len(c.ml.lines), c.ml.bytes)
		}
		out := ps.output(pc, "seq-end")
		checkOutput(t, out)
		if strings.Contains(out, "Internal server error") {
			t.Fatalf("a handler panicked on %q: %q", lines, out)
		}
	}
	if alice.c.label != nil && alice.c.busy == 0 {
		t.Fatalf("a label capture was left open")
	}
	for f, w := range ps.s.monitors {
		for c := range w {
			if _, ok := c.monitor[f]; !ok || c.gone {
				t.Fatalf("monitor index entry %q → %q not in its list", f, c.nick)
			}
		}
	}
}

// TestHostileBatchSequences: random sequences of batch lines, well formed
// and not, never panic, never leave state over its bounds.
func TestHostileBatchSequences(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 7))
	n := 300
	if testing.Short() {
		n = 50
	}
	for i := range n {
		lines := make([]string, 1+r.IntN(30))
		for j := range lines {
			lines[j] = batchFragments[r.IntN(len(batchFragments))]
		}
		chunk := []int{0, 1, 13, 100}[i%4]
		runBatchSequence(t, lines, chunk)
	}
}

func FuzzMultilineBatches(f *testing.F) {
	f.Add([]byte{0, 16, 20, 11})
	f.Add([]byte{0, 16, 16, 16, 16, 16, 11})
	f.Add([]byte{29, 16, 30, 10, 12, 13})
	f.Fuzz(func(t *testing.T, picks []byte) {
		if len(picks) > 64 {
			picks = picks[:64]
		}
		lines := make([]string, len(picks))
		for i, p := range picks {
			lines[i] = batchFragments[int(p)%len(batchFragments)]
		}
		runBatchSequence(t, lines, 0)
	})
}
