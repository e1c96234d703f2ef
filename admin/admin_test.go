package admin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/thorchat/thorchat/store"
)

// dialEnv makes the test binary a one-shot admin client (used to connect
// as another user): it asks for a DUMP and exits 0 only if it got one.
const dialEnv = "THORCHAT_ADMIN_TEST_DIAL"

func TestMain(m *testing.M) {
	if path := os.Getenv(dialEnv); path != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := Request(ctx, path, "DUMP", io.Discard); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type storeSource struct{ db *store.DB }

func (s storeSource) WriteBackup(w io.Writer) (int64, error) { return s.db.WriteBackup(w) }
func (s storeSource) DumpJSON(w io.Writer) error             { return s.db.Dump(w, store.DumpOptions{}) }
func (s storeSource) Status(context.Context) Status          { return Status{} }

// serveIn runs Serve on dir/admin.sock over a real store until the test
// ends, and returns the socket path once it answers.
func serveIn(t *testing.T, dir string) string {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "admin.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	go func() { done <- Serve(ctx, ln, storeSource{db}, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		db.Close()
	})
	for deadline := time.Now().Add(5 * time.Second); ; {
		if err := Request(context.Background(), path, "DUMP", io.Discard); err == nil {
			return path
		} else if time.Now().After(deadline) {
			t.Fatalf("admin socket does not answer: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSocketIsPrivate: the socket is 0600 where it is found, no private
// bind directory is left behind, the owner's requests are served, and the
// socket is removed when Serve stops.
func TestSocketIsPrivate(t *testing.T) {
	dir := t.TempDir()
	path := serveIn(t, dir)
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket: %v %v", fi.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".adm*")); len(left) != 0 {
		t.Fatalf("bind directory left behind: %v", left)
	}
	var out bytes.Buffer
	if err := Request(context.Background(), path, "DUMP", &out); err != nil || !strings.Contains(out.String(), "accounts") {
		t.Fatalf("DUMP: %v %q", err, out.String())
	}
}

// TestRefusesOtherUsers: even when the file modes let another user reach
// the socket, a peer whose uid is not the daemon's gets an ERR and no
// data. It needs root to run a client as another user.
func TestRefusesOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to connect as another user")
	}
	// a directory every user may use, with a copy of this test binary
	dir, err := os.MkdirTemp("", "thorchat-admin-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "admin.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	path := serveIn(t, dir)
	if err := os.Chmod(path, 0o666); err != nil { // a careless setup
		t.Fatal(err)
	}
	run := func(uid uint32) (int, string) {
		cmd := exec.Command(bin)
		cmd.Env = []string{dialEnv + "=" + path}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), stderr.String()
		}
		if err != nil {
			t.Fatalf("run client as uid %d: %v", uid, err)
		}
		return 0, stderr.String()
	}
	if code, msg := run(0); code != 0 {
		t.Fatalf("the daemon's own user was refused: %d %s", code, msg)
	}
	code, msg := run(65534)
	if code != 3 || !strings.Contains(msg, "not the daemon's user") {
		t.Fatalf("another user: exit %d, %q", code, msg)
	}
}
