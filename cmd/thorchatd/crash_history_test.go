package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/store"
)

// histCrashWorker is one client pipelining channel messages and
// collecting the msgids of the ones it saw echoed.
type histCrashWorker struct {
	nick    string
	key     *testKey
	seq     int
	echoed  map[string]string // msgid → text of every echo seen, all iterations
	acks    int               // echoes in this iteration
	reached chan struct{}     // closed at histCrashMinAcks
	last    []string          // msgids echoed in this iteration
}

const (
	histCrashMinAcks = 20
	histCrashWindow  = 50 // messages in flight: the sender is never held per message
)

// stream sends messages with up to histCrashWindow unechoed and records
// each echo until the connection ends.
func (w *histCrashWorker) stream(c *ircClient) error {
	inflight := 0
	for {
		for inflight < histCrashWindow {
			w.seq++
			if err := c.trySend(fmt.Sprintf("PRIVMSG #crash :%s %d", w.nick, w.seq)); err != nil {
				return nil // the daemon is gone
			}
			inflight++
		}
		m, err := c.next(waitFor)
		if err != nil {
			if err == errTimedOut {
				return fmt.Errorf("%s: no echo within %s", w.nick, waitFor)
			}
			return nil // the kill
		}
		switch {
		case m.Command == "PRIVMSG" && m.Name == c.nick:
			id := m.Tags["msgid"]
			if id == "" {
				return fmt.Errorf("%s: echo without msgid: %v", w.nick, m)
			}
			w.echoed[id] = m.Trailing()
			w.last = append(w.last, id)
			inflight--
			if w.acks++; w.acks == histCrashMinAcks {
				close(w.reached)
			}
		case m.Command == "FAIL" || len(m.Command) == 3 && (m.Command[0] == '4' || m.Command[0] == '5'):
			return fmt.Errorf("%s: %v", w.nick, m)
		}
	}
}

// verifyHistory checks that every message a client saw echoed is stored,
// with its text, and that the file opens cleanly.
func verifyHistory(t *testing.T, dbPath string, workers []*histCrashWorker) int {
	t.Helper()
	db, err := store.Open(context.Background(), dbPath, store.Options{Verify: store.VerifyFull})
	if err != nil {
		t.Fatalf("the database does not open cleanly after SIGKILL: %v", err)
	}
	defer db.Close()
	n := 0
	for _, w := range workers {
		for id, text := range w.echoed {
			e, err := db.HistoryEntryByID(id)
			if err != nil {
				t.Fatalf("%s saw the echo of %q (msgid %s), but it is not in history: %v", w.nick, text, id, err)
			}
			if e.Text != text || e.Target != store.ChannelTarget("#crash") {
				t.Fatalf("msgid %s: stored %q in %q, echoed %q", id, e.Text, e.Target, text)
			}
			n++
		}
	}
	return n
}

// TestCrashKeepsEchoedMessages runs the daemon as a child process; two
// logged-in clients pipeline channel messages (echo-message) while the
// process is killed with SIGKILL at a random moment. After each kill the
// file must open cleanly and hold every message whose echo a client saw;
// after the last restart the daemon serves them through CHATHISTORY.
// THORCHAT_CRASH_ITERATIONS sets the number of kills (default 5).
func TestCrashKeepsEchoedMessages(t *testing.T) {
	iterations := crashIterations(t)
	tc := newTestConfig(t)
	cfgPath := tc.write(t)
	logPath := filepath.Join(t.TempDir(), "daemon.log")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d iterations", seed, iterations)
	rng := rand.New(rand.NewPCG(seed, 0x6869))
	workers := []*histCrashWorker{
		{nick: "alice", key: newKey(t), echoed: map[string]string{}},
		{nick: "bob", key: newKey(t), echoed: map[string]string{}},
	}
	checked := 0
	for it := range iterations {
		child := startChild(t, tc, cfgPath, logPath)
		var wg sync.WaitGroup
		errs := make(chan error, len(workers))
		ended := make([]chan struct{}, len(workers))
		for wi, w := range workers {
			w.reached, w.acks, w.last = make(chan struct{}), 0, nil
			ended[wi] = make(chan struct{})
			c, err := tryDial(tc.addr(), w.nick, w.key)
			if err != nil {
				t.Fatalf("iteration %d: %v\n%s", it, err, tailFile(logPath))
			}
			c.t = t
			c.join("#crash", "")
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(ended[wi])
				defer c.conn.Close()
				if err := w.stream(c); err != nil {
					errs <- err
				}
			}()
		}
		deadline := time.After(30 * time.Second)
		for wi, w := range workers {
			select {
			case <-w.reached:
			case <-ended[wi]:
				child.kill()
				wg.Wait()
				close(errs)
				t.Fatalf("iteration %d: %s's connection ended early (%v)\n%s", it, w.nick, <-errs, tailFile(logPath))
			case <-deadline:
				t.Fatalf("iteration %d: %s saw fewer than %d echoes within 30s\n%s", it, w.nick, histCrashMinAcks, tailFile(logPath))
			}
		}
		time.Sleep(time.Duration(10+rng.IntN(200)) * time.Millisecond)
		killAndCheck(t, it, child, &wg, errs, logPath)
		checked = verifyHistory(t, tc.dbPath(), workers)
	}
	t.Logf("%d kills, %d echoed messages found in history", iterations, checked)

	// a last start: the restarted daemon serves the last iteration's
	// echoed messages through CHATHISTORY
	child := startChild(t, tc, cfgPath, logPath)
	for _, w := range workers {
		c := dial(t, tc.addr(), w.nick, w.key)
		c.join("#crash", "")
		for i, id := range w.last {
			if i%7 != 0 && i != len(w.last)-1 {
				continue // a sample, and the very last echo
			}
			c.send("CHATHISTORY AROUND #crash msgid=" + id + " 1")
			var got *irc.Message
			for _, m := range c.collect() {
				if m.Command == "PRIVMSG" && m.Tags["msgid"] == id {
					got = m
				}
			}
			if got == nil || got.Trailing() != w.echoed[id] || !strings.HasPrefix(got.Prefix.Name, w.nick) {
				t.Fatalf("after restart, CHATHISTORY does not serve %s's echoed %q (msgid %s): %v", w.nick, w.echoed[id], id, got)
			}
		}
		c.conn.Close()
	}
	if code := child.terminate(t); code != 0 {
		t.Fatalf("daemon exited with %d after SIGTERM\n%s", code, tailFile(logPath))
	}
}
