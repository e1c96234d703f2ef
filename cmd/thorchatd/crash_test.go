package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/thorchat/thorchat/store"
)

// crashIterationsEnv raises the number of kill/restart rounds of
// TestCrashKeepsAcknowledgedChanges (default 5).
const crashIterationsEnv = "THORCHAT_CRASH_ITERATIONS"

func crashIterations(t *testing.T) int {
	n := 5
	if v := os.Getenv(crashIterationsEnv); v != "" {
		i, err := strconv.Atoi(v)
		if err != nil || i < 1 || i > 100000 {
			t.Fatalf("%s=%q: want a positive number", crashIterationsEnv, v)
		}
		n = i
	}
	return n
}

// childDaemon is the test binary re-executed as thorchatd (see TestMain).
type childDaemon struct {
	cmd    *exec.Cmd
	exited chan error
	code   int
}

// startChild starts a daemon process on cfgPath, appending its output to
// logPath, and returns once its dev_tcp listener accepts.
func startChild(t *testing.T, tc testConfig, cfgPath, logPath string) *childDaemon {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+cfgPath)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &childDaemon{cmd: cmd, exited: make(chan error, 1)}
	go func() { c.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.kill()
		}
	})
	if err := waitAccepting(tc.addr(), c.exited, 30*time.Second); err != nil {
		t.Fatalf("daemon process: %v\n%s", err, tailFile(logPath))
	}
	return c
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *childDaemon) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
}

// terminate sends SIGTERM and returns the exit code.
func (c *childDaemon) terminate(t *testing.T) int {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(20 * time.Second):
		c.kill()
		t.Fatal("daemon did not exit within 20s of SIGTERM")
	}
	return c.cmd.ProcessState.ExitCode()
}

func tailFile(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// chanState is the part of a registered channel the crash test changes.
type chanState struct {
	registered bool
	topic      string
	limit      int
	throttle   string
	flags      string // letters in the server's order, e.g. "Cmnst"
	bans       []string
}

func (s chanState) String() string {
	if !s.registered {
		return "(not registered)"
	}
	return fmt.Sprintf("+%s l=%d j=%q topic=%q bans=%v", s.flags, s.limit, s.throttle, s.topic, s.bans)
}

func stateOf(r store.ChannelRecord) chanState {
	s := chanState{registered: true, topic: r.Topic, limit: r.Limit, throttle: r.JoinThrottle, flags: strings.TrimPrefix(r.Modes, "+")}
	for _, b := range r.Bans {
		s.bans = append(s.bans, b.Mask)
	}
	return s
}

const flagOrder = "CMRimnst"

// crashChannels is how many registered channels a founder keeps; beyond
// it the oldest is dropped.
const crashChannels = 4

func toggleFlag(flags string, l byte) string {
	var out []byte
	for i := 0; i < len(flagOrder); i++ {
		f := flagOrder[i]
		has := strings.IndexByte(flags, f) >= 0
		if f == l {
			has = !has
		}
		if has {
			out = append(out, f)
		}
	}
	return string(out)
}

// chanModel is the history of one channel as its founder sent changes:
// history[0] is the state known to be on disk; every sent command appends
// the state it leads to; history[acked] is the last one acknowledged.
type chanModel struct {
	name    string
	history []chanState
	acked   int
}

func (m *chanModel) last() chanState { return m.history[len(m.history)-1] }

// step is one change: the line to send and the state it leads to.
type step struct {
	ch     *chanModel
	line   string
	state  chanState
	notice string // acknowledged by a ChanServ notice with this text, not an echo
}

// crashMinAcks is how many changes each founder must see acknowledged in
// every iteration before the random wait that ends in the kill: every kill
// lands mid-workload, never on a daemon that stopped serving.
const crashMinAcks = 3

// crashWorker is one founder changing its channels through one connection.
type crashWorker struct {
	nick    string
	key     *testKey
	chans   []*chanModel
	seq     int
	acks    int           // acknowledged in this iteration
	reached chan struct{} // closed when acks reaches crashMinAcks
}

// next picks a random change to a registered channel.
func (w *crashWorker) next(rng *rand.Rand) step {
	var regd []*chanModel
	for _, c := range w.chans {
		if c.last().registered {
			regd = append(regd, c)
		}
	}
	c := regd[rng.IntN(len(regd))]
	s := c.last()
	s.bans = slices.Clone(s.bans)
	w.seq++
	n := w.seq
	var line string
	switch rng.IntN(5) {
	case 0:
		s.topic = fmt.Sprintf("topic %d of %s", n, w.nick)
		line = "TOPIC " + c.name + " :" + s.topic
	case 1:
		s.limit = 1000 + n
		line = fmt.Sprintf("MODE %s +l %d", c.name, s.limit)
	case 2:
		s.throttle = fmt.Sprintf("%d:10", 1+n%50)
		line = fmt.Sprintf("MODE %s +j %s", c.name, s.throttle)
	case 3:
		l := "msCM"[rng.IntN(4)]
		sign := "+"
		if strings.IndexByte(s.flags, l) >= 0 {
			sign = "-"
		}
		s.flags = toggleFlag(s.flags, l)
		line = fmt.Sprintf("MODE %s %s%c", c.name, sign, l)
	default:
		if len(s.bans) >= 8 {
			line = "MODE " + c.name + " -b " + s.bans[0]
			s.bans = s.bans[1:]
		} else {
			mask := fmt.Sprintf("x%d!*@*", n)
			line = "MODE " + c.name + " +b " + mask
			s.bans = append(s.bans, mask)
		}
	}
	return step{ch: c, line: line, state: s}
}

// stream sends changes (at most window unacknowledged) and reads their
// acknowledgements until the connection ends.
func (w *crashWorker) stream(c *ircClient, pending []step, rng *rand.Rand) error {
	const window = 4
	var inflight []step
	for {
		for len(inflight) < window {
			var st step
			if len(pending) > 0 {
				st, pending = pending[0], pending[1:]
			} else {
				st = w.next(rng)
			}
			if err := c.trySend(st.line); err != nil {
				return nil // the daemon is gone
			}
			st.ch.history = append(st.ch.history, st.state)
			inflight = append(inflight, st)
		}
		m, err := c.next(waitFor)
		if err != nil {
			if errors.Is(err, errTimedOut) {
				return fmt.Errorf("%s: no acknowledgement for %q within %s", w.nick, inflight[0].line, waitFor)
			}
			return nil // connection ended: the kill
		}
		st := inflight[0]
		switch {
		case m.Command == "NOTICE" && m.Name == "ChanServ":
			if strings.Contains(m.Trailing(), "could not") || strings.Contains(m.Trailing(), "Could not") {
				return fmt.Errorf("%s: ChanServ: %s", w.nick, m.Trailing())
			}
			if st.notice == "" || !strings.Contains(m.Trailing(), st.notice) {
				return fmt.Errorf("%s: unexpected ChanServ notice %q while waiting for %q", w.nick, m.Trailing(), st.line)
			}
		case (m.Command == "MODE" || m.Command == "TOPIC") && m.Name == c.nick:
			if st.notice != "" || m.Command != strings.Fields(st.line)[0] || !strings.EqualFold(m.Param(0), st.ch.name) {
				return fmt.Errorf("%s: echo %v while waiting for %q", w.nick, m, st.line)
			}
		case len(m.Command) == 3 && m.Command[0] >= '4' && m.Command[0] <= '5':
			return fmt.Errorf("%s: error %v while waiting for %q", w.nick, m, st.line)
		default:
			continue
		}
		inflight = inflight[1:]
		st.ch.acked = len(st.ch.history) - 1 - countFor(inflight, st.ch)
		if w.acks++; w.acks == crashMinAcks {
			close(w.reached)
		}
	}
}

func countFor(inflight []step, c *chanModel) int {
	n := 0
	for _, s := range inflight {
		if s.ch == c {
			n++
		}
	}
	return n
}

// verify checks the database against the models: every channel is in a
// state at or after its last acknowledged one. The models then restart
// from what is on disk.
func verify(t *testing.T, dbPath string, workers []*crashWorker) {
	t.Helper()
	db, err := store.Open(context.Background(), dbPath, store.Options{Verify: store.VerifyFull})
	if err != nil {
		t.Fatalf("the database does not open cleanly after SIGKILL: %v", err)
	}
	recs, err := db.ListChannels()
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]store.ChannelRecord{}
	for _, r := range recs {
		stored[r.Name] = r
	}
	for _, w := range workers {
		var keep []*chanModel
		for _, c := range w.chans {
			got := chanState{}
			if r, ok := stored[c.name]; ok {
				got = stateOf(r)
				delete(stored, c.name)
			}
			match := -1
			for i := c.acked; i < len(c.history); i++ {
				if c.history[i].String() == got.String() {
					match = i
				}
			}
			if match < 0 {
				var h []string
				for i := max(c.acked-1, 0); i < len(c.history) && i < c.acked+8; i++ {
					h = append(h, fmt.Sprintf("  %d: %s", i, c.history[i]))
				}
				t.Fatalf("%s: on disk %s; the last acknowledged state is #%d of %d sent:\n%s", c.name, got, c.acked, len(c.history)-1, strings.Join(h, "\n"))
			}
			c.history, c.acked = []chanState{got}, 0
			if got.registered {
				keep = append(keep, c)
			}
		}
		w.chans = keep
	}
	for name := range stored {
		t.Errorf("unexpected channel %s on disk", name)
	}
}

// TestCrashKeepsAcknowledgedChanges runs the daemon as a child process;
// two founders log in over real sockets, register (and drop) channels and
// change their topics and modes in a pipelined loop while the process is
// killed with SIGKILL at a random moment. After each kill the file must
// open cleanly and hold every change a client saw acknowledged (its
// MODE/TOPIC echo, or ChanServ's notice), and nothing that was never sent.
// Each kill comes after every founder saw crashMinAcks acknowledgements,
// and the daemon must have ended by that SIGKILL, not on its own.
// THORCHAT_CRASH_ITERATIONS sets the number of kills (default 5).
func TestCrashKeepsAcknowledgedChanges(t *testing.T) {
	iterations := crashIterations(t)
	tc := newTestConfig(t)
	cfgPath := tc.write(t)
	logPath := filepath.Join(t.TempDir(), "daemon.log")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d iterations", seed, iterations)
	rng := rand.New(rand.NewPCG(seed, 0x7468))
	workers := []*crashWorker{{nick: "alice", key: newKey(t)}, {nick: "bob", key: newKey(t)}}
	totalAcks := 0
	for it := 0; it < iterations; it++ {
		child := startChild(t, tc, cfgPath, logPath)
		var wg sync.WaitGroup
		errs := make(chan error, len(workers))
		started := make(chan struct{}, len(workers))
		ended := make([]chan struct{}, len(workers))
		for wi, w := range workers {
			w.reached = make(chan struct{})
			ended[wi] = make(chan struct{})
			wrng := rand.New(rand.NewPCG(rng.Uint64(), uint64(wi)))
			c, err := tryDial(tc.addr(), w.nick, w.key)
			if err != nil {
				t.Fatalf("iteration %d: %v\n%s", it, err, tailFile(logPath))
			}
			c.t = t
			// rejoin the registered channels (ChanServ ops the founder)
			for _, ch := range w.chans {
				c.join(ch.name, "")
				c.expectChanServMode(ch.name, "+o", w.nick)
			}
			// drop the oldest channel when there are enough, and register
			// a new one: both are acknowledged after their commit
			var first []step
			if len(w.chans) >= crashChannels {
				old := w.chans[0]
				first = append(first, step{ch: old, line: "CS DROP " + old.name, state: chanState{}, notice: old.name + " is no longer registered"})
			}
			name := fmt.Sprintf("#%s%d", w.nick, it)
			c.join(name, "")
			nc := &chanModel{name: name, history: []chanState{{}}}
			w.chans = append(w.chans, nc)
			first = append(first, step{ch: nc, line: "CS REGISTER " + name, state: chanState{registered: true, flags: "nt"}, notice: name + " is now registered"})
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(ended[wi])
				defer c.conn.Close()
				started <- struct{}{}
				if err := w.stream(c, first, wrng); err != nil {
					errs <- err
				}
			}()
		}
		for range workers {
			<-started
		}
		deadline := time.After(30 * time.Second)
		for wi, w := range workers {
			select {
			case <-w.reached:
			case <-ended[wi]:
				child.kill()
				wg.Wait()
				close(errs)
				t.Fatalf("iteration %d: %s's connection ended before %d acknowledgements (%v; daemon %v)\n%s",
					it, w.nick, crashMinAcks, <-errs, child.cmd.ProcessState, tailFile(logPath))
			case <-deadline:
				t.Fatalf("iteration %d: %s saw fewer than %d acknowledgements within 30s\n%s", it, w.nick, crashMinAcks, tailFile(logPath))
			}
		}
		time.Sleep(time.Duration(20+rng.IntN(280)) * time.Millisecond)
		killAndCheck(t, it, child, &wg, errs, logPath)
		for _, w := range workers {
			if w.acks < crashMinAcks {
				t.Fatalf("iteration %d: %s saw %d acknowledgements, want at least %d", it, w.nick, w.acks, crashMinAcks)
			}
			totalAcks += w.acks
			w.acks = 0
		}
		verify(t, tc.dbPath(), workers)
	}
	t.Logf("%d kills, %d acknowledged changes checked", iterations, totalAcks)

	// a last start: the daemon serves what is on disk, and stops cleanly
	child := startChild(t, tc, cfgPath, logPath)
	for _, w := range workers {
		c := dial(t, tc.addr(), w.nick, w.key)
		for _, ch := range w.chans {
			want := ch.history[0]
			msgs := c.join(ch.name, "")
			topic := ""
			for _, m := range msgs {
				if m.Command == "332" {
					topic = m.Trailing()
				}
			}
			if topic != want.topic {
				t.Errorf("%s: topic %q served, %q on disk", ch.name, topic, want.topic)
			}
			c.send("MODE " + ch.name)
			got := findNumeric(t, c.collect(), "324").Params[2]
			flags := strings.TrimRight(strings.TrimPrefix(got, "+"), "jl")
			if flags != want.flags {
				t.Errorf("%s: modes %q served, +%s on disk", ch.name, got, want.flags)
			}
		}
		c.conn.Close()
	}
	if code := child.terminate(t); code != 0 {
		t.Fatalf("daemon exited with %d after SIGTERM\n%s", code, tailFile(logPath))
	}
	verify(t, tc.dbPath(), workers)
}

// killAndCheck SIGKILLs child in the middle of iteration it, waits for the
// clients' goroutines, fails on any error they reported, and checks that
// the daemon died of the SIGKILL, not on its own before it.
func killAndCheck(t *testing.T, it int, child *childDaemon, wg *sync.WaitGroup, errs chan error, logPath string) {
	t.Helper()
	child.kill()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("iteration %d: %v\n%s", it, err, tailFile(logPath))
	}
	if ws, ok := child.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("iteration %d: daemon ended with %v, not by the SIGKILL\n%s", it, child.cmd.ProcessState, tailFile(logPath))
	}
}
