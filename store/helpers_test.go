package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Child-process modes, selected by environment, for tests that need a
// second process (file locks, SIGKILL crash safety).
const (
	helperModeEnv = "THORCHAT_STORE_HELPER"
	helperPathEnv = "THORCHAT_STORE_HELPER_DB"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperModeEnv); mode != "" {
		os.Exit(runHelper(mode, os.Getenv(helperPathEnv)))
	}
	os.Exit(m.Run())
}

// runHelper is the child side. "hold" opens the database, prints "ready"
// and keeps it open until stdin closes. "crash" loops committing channel
// changes and prints "ack N" after each commit returns, until killed.
func runHelper(mode, path string) int {
	ctx := context.Background()
	db, err := Open(ctx, path, Options{LockTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper open:", err)
		return 2
	}
	defer db.Close()
	switch mode {
	case "hold":
		fmt.Println("ready")
		_, _ = io.Copy(io.Discard, os.Stdin)
		return 0
	case "crash":
		return crashLoop(db)
	case "history-crash":
		return historyCrashLoop(db)
	default:
		fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
		return 2
	}
}

const crashCounter = "#counter"

func crashName(i int) string { return fmt.Sprintf("#crash-%06d", i) }

func crashLoop(db *DB) int {
	start := 0
	if rec, err := db.GetChannel(crashCounter); err == nil {
		start = rec.Limit
	} else if errors.Is(err, ErrNotFound) {
		if err := db.PutChannel(ChannelRecord{Name: crashCounter}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	} else {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for i := start + 1; ; i++ {
		if err := db.PutChannel(ChannelRecord{Name: crashName(i), Topic: fmt.Sprint(i), Limit: i}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if err := db.UpdateChannel(crashCounter, func(r *ChannelRecord) error {
			r.Limit = i
			r.Topic = fmt.Sprint(i)
			return nil
		}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Printf("ack %d\n", i)
	}
}

// startHelper starts this test binary as a child in the given mode.
func startHelper(t *testing.T, mode, path string) (cmd *exec.Cmd, stdin io.WriteCloser, stdout *bufio.Reader) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperModeEnv+"="+mode, helperPathEnv+"="+path)
	cmd.Stderr = &testWriter{t: t}
	var err error
	if stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, stdin, bufio.NewReader(out)
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Logf("child stderr: %s", strings.TrimSpace(string(p)))
	return len(p), nil
}

func dbPath(t testing.TB) string { return filepath.Join(t.TempDir(), "thorchat.db") }

func mustOpen(t testing.TB, path string, opts Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return db
}

func mustClose(t testing.TB, db *DB) {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func fileHash(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// testKey returns a deterministic 33-byte "public key" for i (the store
// only checks the length and compares bytes).
func testKey(i int) []byte {
	k := make([]byte, PubKeyLen)
	k[0] = 0x02
	copy(k[1:], fmt.Sprintf("%032d", i))
	return k
}

func acctName(i int) string { return fmt.Sprintf("thor1test%06d", i) }

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// mustLogin creates or returns account i.
func mustLogin(t testing.TB, db *DB, i int, now time.Time) Account {
	t.Helper()
	a, _, err := db.LoginAccount(testKey(i), acctName(i), now)
	if err != nil {
		t.Fatalf("LoginAccount(%d): %v", i, err)
	}
	return a
}
