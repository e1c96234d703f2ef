package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thorchat/thorchat/store"
)

// dumpDoc is the part of `thorchatd dump` the tests read.
type dumpDoc struct {
	Format   string                `json:"format"`
	Accounts []store.Account       `json:"accounts"`
	Channels []store.ChannelRecord `json:"channels"`
}

// runCmd runs the daemon binary's entry point with args.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e syncBuffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func parseDump(t *testing.T, raw string) (dumpDoc, any) {
	t.Helper()
	var d dumpDoc
	var generic any
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		t.Fatalf("dump is not JSON: %v\n%s", err, raw)
	}
	if err := json.Unmarshal([]byte(raw), &generic); err != nil {
		t.Fatal(err)
	}
	return d, generic
}

// dumpFile dumps a database file directly.
func dumpFile(t *testing.T, path string) string {
	t.Helper()
	db, err := store.Open(context.Background(), path, store.Options{Verify: store.VerifyFull})
	if err != nil {
		t.Fatalf("%s does not open: %v", path, err)
	}
	defer db.Close()
	var b bytes.Buffer
	if err := db.Dump(&b, store.DumpOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func hasAccount(d dumpDoc, acct string) bool {
	for _, a := range d.Accounts {
		if a.Name == acct {
			return true
		}
	}
	return false
}

func dumpChannel(d dumpDoc, name string) (store.ChannelRecord, bool) {
	for _, c := range d.Channels {
		if c.Name == name {
			return c, true
		}
	}
	return store.ChannelRecord{}, false
}

// TestBackupAndDump: `thorchatd backup` while the daemon runs (through
// its admin socket) writes a file that opens with the same data, even
// while channels change; with the daemon stopped it works offline; `dump`
// prints the accounts and channels as JSON either way.
func TestBackupAndDump(t *testing.T) {
	alice, bob := newKey(t), newKey(t)
	tc := newTestConfig(t)
	cfgPath := tc.write(t)
	out := t.TempDir()
	d := startDaemon(t, cfgPath)
	a := dial(t, d.addr, "alice", alice)
	dial(t, d.addr, "bob", bob)
	a.join("#data", "")
	a.expectChanServ("REGISTER #data", "is now registered")
	a.expectSelfEcho("TOPIC #data :first topic")
	a.expectSelfEcho("MODE #data +b spam!*@*")

	// hot: dump and backup go through the running daemon
	code, liveDump, errOut := runCmd(t, "dump", "-config", cfgPath)
	if code != 0 {
		t.Fatalf("dump exit %d: %s", code, errOut)
	}
	live, liveAll := parseDump(t, liveDump)
	if live.Format != store.DumpFormat || !hasAccount(live, alice.account) || !hasAccount(live, bob.account) {
		t.Fatalf("dump: format %q, accounts %+v", live.Format, live.Accounts)
	}
	if rec, ok := dumpChannel(live, "#data"); !ok || rec.Topic != "first topic" || len(rec.Bans) != 1 || rec.Founder != alice.account {
		t.Fatalf("dump: #data is %+v", rec)
	}
	hot := filepath.Join(out, "hot.db")
	code, msg, errOut := runCmd(t, "backup", "-config", cfgPath, "-out", hot)
	if code != 0 || !strings.Contains(msg, "backup written to "+hot+" (2 accounts)") {
		t.Fatalf("backup exit %d: %q %q", code, msg, errOut)
	}
	_, hotAll := parseDump(t, dumpFile(t, hot))
	if !reflect.DeepEqual(hotAll, liveAll) {
		t.Fatalf("the hot backup differs from the live data:\n%v\n%v", hotAll, liveAll)
	}

	// a backup taken while a client keeps changing the channel is
	// consistent (it opens with full verification) and holds at least
	// what was acknowledged before it: topic "busy K" with K at least the
	// last acknowledged number when the backup started, and at most the
	// last one sent
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var sent, acked atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := int64(1); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if a.trySend(fmt.Sprintf("TOPIC #data :busy %d", i)) != nil {
				return
			}
			sent.Store(i)
			for {
				m, err := a.next(waitFor)
				if err != nil {
					return
				}
				if m.Command == "TOPIC" && m.Name == "alice" {
					break
				}
			}
			acked.Store(i)
		}
	}()
	const minAcked = 3 // acknowledged before the backup starts
	for deadline := time.Now().Add(waitFor); acked.Load() < minAcked; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatalf("%d topic changes acknowledged within %s, want %d", acked.Load(), waitFor, minAcked)
		}
	}
	before := acked.Load()
	busy := filepath.Join(out, "busy.db")
	code, _, errOut = runCmd(t, "backup", "-config", cfgPath, "-out", busy)
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Fatalf("backup during writes: exit %d: %s", code, errOut)
	}
	doc, _ := parseDump(t, dumpFile(t, busy))
	rec, _ := dumpChannel(doc, "#data")
	k, err := strconv.ParseInt(strings.TrimPrefix(rec.Topic, "busy "), 10, 64)
	if err != nil || k < before || k > sent.Load() {
		t.Fatalf("backup during writes: topic %q; %d were acknowledged before the backup started, %d sent in all", rec.Topic, before, sent.Load())
	}
	t.Logf("backup taken after %d topic changes were acknowledged holds change %d (%d acknowledged by the end)", before, k, acked.Load())
	a.expectSelfEcho("TOPIC #data :last topic")
	d.stop()

	// offline: the daemon is stopped, the commands open the file
	cold := filepath.Join(out, "cold.db")
	code, msg, errOut = runCmd(t, "backup", "-config", cfgPath, "-out", cold)
	if code != 0 || !strings.Contains(msg, "(2 accounts)") {
		t.Fatalf("offline backup exit %d: %q %q", code, msg, errOut)
	}
	code, offDump, errOut := runCmd(t, "dump", "-config", cfgPath)
	if code != 0 {
		t.Fatalf("offline dump exit %d: %s", code, errOut)
	}
	off, offAll := parseDump(t, offDump)
	if rec, ok := dumpChannel(off, "#data"); !ok || rec.Topic != "last topic" || !hasAccount(off, bob.account) {
		t.Fatalf("offline dump: %+v", off)
	}
	_, coldAll := parseDump(t, dumpFile(t, cold))
	if !reflect.DeepEqual(coldAll, offAll) {
		t.Fatalf("the offline backup differs from the database:\n%v\n%v", coldAll, offAll)
	}

	// the backup serves: a daemon started on it has the channel
	tc2 := newTestConfig(t)
	tc2.Dir = filepath.Dir(cold)
	cfg2 := tc2.write(t)
	if code, _, errOut := runCmd(t, "backup", "-config", cfgPath, "-out", tc2.dbPath()); code != 0 {
		t.Fatalf("backup into a new data directory: %s", errOut)
	}
	d2 := startDaemon(t, cfg2)
	a2 := dial(t, d2.addr, "alice", alice)
	msgs := a2.join("#data", "")
	if got := findNumeric(t, msgs, "332").Trailing(); got != "last topic" {
		t.Fatalf("daemon on the backup: topic %q", got)
	}
}

// TestBackupUsage: missing flags are usage errors (exit 2), and a bad
// output path fails without leaving files behind: no temporary
// ".backup-*" file anywhere under the data directory, nothing new in an
// output directory.
func TestBackupUsage(t *testing.T) {
	tc := newTestConfig(t)
	cfgPath := tc.write(t)
	// an output path that is a non-empty directory: the copy is made in
	// its parent, then cannot be renamed over it
	outDir := filepath.Join(tc.Dir, "out")
	if err := os.MkdirAll(filepath.Join(outDir, "x.db", "keep"), 0o700); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no -out", []string{"backup", "-config", cfgPath}, 2, "usage: thorchatd backup"},
		{"unknown flag", []string{"dump", "-config", cfgPath, "-x"}, 2, "flag provided but not defined"},
		{"missing config", []string{"dump", "-config", filepath.Join(tc.Dir, "nope.toml")}, 1, "nope.toml"},
		{"output directory missing", []string{"backup", "-config", cfgPath, "-out", filepath.Join(tc.Dir, "no", "such", "dir", "x.db")}, 1, "backup"},
		{"output is a directory", []string{"backup", "-config", cfgPath, "-out", filepath.Join(outDir, "x.db")}, 1, "backup"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, c.args...)
			if code != c.code || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, c.code, c.want)
			}
			if err := filepath.WalkDir(tc.Dir, func(p string, e os.DirEntry, err error) error {
				if err == nil && strings.HasPrefix(e.Name(), ".backup-") {
					t.Errorf("left behind: %s", p)
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if left, err := os.ReadDir(outDir); err != nil || len(left) != 1 || left[0].Name() != "x.db" {
				t.Errorf("output directory holds %v, %v; want only x.db", left, err)
			}
		})
	}
}
