package store

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashMinAcks is how many commits the child must acknowledge in each
// iteration before the random wait that ends in the kill: every kill lands
// mid-workload, never on an idle or dead child.
const crashMinAcks = 3

// TestCrashSafety SIGKILLs a child that commits channel changes, at a
// random moment after its first crashMinAcks acknowledgements, checks that
// the child ended by that signal (not on its own), then that every change
// the child saw acknowledged is on disk and that the file opens cleanly
// (full verification). THORCHAT_CRASH_ITERATIONS sets the number of kills
// (default 5).
func TestCrashSafety(t *testing.T) {
	iterations := 5
	if s := os.Getenv("THORCHAT_CRASH_ITERATIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("bad THORCHAT_CRASH_ITERATIONS %q", s)
		}
		iterations = n
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d iterations", seed, iterations)
	rng := rand.New(rand.NewPCG(seed, 2))
	path := dbPath(t)
	var acked []int
	for it := 0; it < iterations; it++ {
		cmd, _, out := startHelper(t, "crash", path)
		lines := make(chan string, 1<<16)
		go func() {
			defer close(lines)
			for {
				l, err := out.ReadString('\n')
				if err != nil {
					return // a partial last line was never acknowledged
				}
				lines <- l
			}
		}()
		// Kill mid-workload: after crashMinAcks acknowledgements, plus 50–300 ms.
		var got []string
		deadline := time.After(20 * time.Second)
		for len(got) < crashMinAcks {
			select {
			case l, ok := <-lines:
				if !ok {
					_ = cmd.Wait()
					t.Fatalf("iteration %d: child ended (%v) after %d of %d acknowledgements", it, cmd.ProcessState, len(got), crashMinAcks)
				}
				got = append(got, l)
			case <-deadline:
				t.Fatalf("iteration %d: %d of %d acknowledgements from the child within 20s", it, len(got), crashMinAcks)
			}
		}
		time.Sleep(time.Duration(50+rng.IntN(251)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		for l := range lines {
			got = append(got, l)
		}
		_ = cmd.Wait() // an error: the kill, checked next
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("iteration %d: child ended with %v, not by the SIGKILL", it, cmd.ProcessState)
		}
		for _, l := range got {
			n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSuffix(l, "\n"), "ack "))
			if err != nil {
				t.Fatalf("child printed %q", l)
			}
			if len(acked) > 0 && n <= acked[len(acked)-1] {
				t.Fatalf("child went backwards: ack %d after %d", n, acked[len(acked)-1])
			}
			acked = append(acked, n)
		}

		db, err := Open(t.Context(), path, Options{Verify: VerifyFull, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
		if err != nil {
			t.Fatalf("iteration %d: reopen after SIGKILL: %v", it, err)
		}
		last := acked[len(acked)-1]
		ctr, err := db.GetChannel(crashCounter)
		if err != nil || ctr.Limit < last || ctr.Topic != fmt.Sprint(ctr.Limit) {
			t.Fatalf("iteration %d: counter %+v, %v; last acknowledged %d", it, ctr, err, last)
		}
		for _, n := range acked {
			rec, err := db.GetChannel(crashName(n))
			if err != nil || rec.Limit != n || rec.Topic != fmt.Sprint(n) {
				t.Fatalf("iteration %d: acknowledged %d lost: %+v, %v", it, n, rec, err)
			}
		}
		mustClose(t, db)
		t.Logf("iteration %d: %d acknowledged (%d in total), counter at %d", it, len(got), len(acked), ctr.Limit)
	}
}
