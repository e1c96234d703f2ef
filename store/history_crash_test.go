package store

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const historyCrashBatch = 20

func historyCrashID(batch, i int) string { return fmt.Sprintf("c%06d-%02d", batch, i) }

// historyCrashLoop is the child of TestHistoryCrashSafety: it appends
// batches of historyCrashBatch entries and prints "ack N" after batch N's
// AppendHistory returned, until killed.
func historyCrashLoop(db *DB) int {
	start := 0
	last, err := db.HistoryLatest(HistoryQuery{Target: "#crash", Limit: 1}, HistoryRef{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if len(last) == 1 {
		if _, err := fmt.Sscanf(last[0].MsgID, "c%06d-", &start); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	es := make([]HistoryEntry, historyCrashBatch)
	for n := start + 1; ; n++ {
		for i := range es {
			es[i] = histEntry("#crash", historyCrashID(n, i), float64(n))
		}
		if err := db.AppendHistory(es); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Printf("ack %d\n", n)
	}
}

// TestHistoryCrashSafety: every batch AppendHistory acknowledged survives
// a SIGKILL, whole, and the file opens cleanly with full verification.
func TestHistoryCrashSafety(t *testing.T) {
	path := dbPath(t)
	acked := 0
	for it := range 2 {
		cmd, _, out := startHelper(t, "history-crash", path)
		lines := make(chan string, 1<<16)
		go func() {
			defer close(lines)
			for {
				l, err := out.ReadString('\n')
				if err != nil {
					return
				}
				lines <- l
			}
		}()
		deadline := time.After(20 * time.Second)
		for seen := 0; seen < 5; seen++ {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("iteration %d: child ended early", it)
				}
				acked = ackNumber(t, l)
			case <-deadline:
				t.Fatalf("iteration %d: no acknowledgements within 20s", it)
			}
		}
		time.Sleep(time.Duration(30+it*70) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		for l := range lines {
			acked = ackNumber(t, l)
		}
		_ = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("iteration %d: child ended with %v, not by the SIGKILL", it, cmd.ProcessState)
		}
		db := mustOpen(t, path, Options{Verify: VerifyFull})
		for n := 1; n <= acked; n++ {
			for _, i := range []int{0, historyCrashBatch - 1} {
				if _, err := db.HistoryEntryByID(historyCrashID(n, i)); err != nil {
					t.Fatalf("iteration %d: acknowledged batch %d lost: %v", it, n, err)
				}
			}
		}
		cs, err := db.HistoryCounts()
		if err != nil || len(cs) != 1 || cs[0].Messages%historyCrashBatch != 0 || cs[0].Messages < int64(acked*historyCrashBatch) {
			t.Fatalf("iteration %d: counts %+v, %v (acknowledged %d batches)", it, cs, err, acked)
		}
		mustClose(t, db)
		t.Logf("iteration %d: %d batches acknowledged, %d entries stored", it, acked, cs[0].Messages)
	}
}

func ackNumber(t *testing.T, l string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSuffix(l, "\n"), "ack "))
	if err != nil {
		t.Fatalf("child printed %q", l)
	}
	return n
}
