package e2e

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitTimeout bounds every single wait in this package.
const waitTimeout = 20 * time.Second

// pollInterval is how often waitFor re-checks its condition.
const pollInterval = 50 * time.Millisecond

// requireClientsEnv makes a missing client binary a failure instead of a skip.
const requireClientsEnv = "THORCHAT_REQUIRE_CLIENTS"

// requireTool returns the path of binary, or skips the test naming the
// Debian package that provides it; with THORCHAT_REQUIRE_CLIENTS=1 the test
// fails instead.
func requireTool(t testing.TB, binary, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(binary)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s not found in PATH: install the Debian package %q (apt-get install -y %s)", binary, debianPackage, debianPackage)
	if os.Getenv(requireClientsEnv) == "1" {
		t.Fatalf("%s; %s=1 forbids skipping", msg, requireClientsEnv)
	}
	t.Skip(msg)
	return ""
}

// waitFor polls cond until it reports true, failing the test after
// waitTimeout. cond's error, if any, is fatal at once. desc says what is
// awaited; detail, if non-nil, adds diagnostics to the failure.
func waitFor(t testing.TB, desc string, cond func() (bool, error), detail func() string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", desc, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			extra := ""
			if detail != nil {
				extra = "\n" + detail()
			}
			t.Fatalf("timed out after %v waiting for %s%s", waitTimeout, desc, extra)
		}
		time.Sleep(pollInterval)
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	// A port below the kernel's ephemeral range (32768 and up on Linux):
	// the port 0 picks, and every outgoing connection's source port, come
	// from that range, so another test's connect() could take a port
	// picked there between this probe and the daemon's bind.
	for range 100 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue // in use: try another
		}
		if err := ln.Close(); err != nil {
			t.Fatalf("close probe listener: %v", err)
		}
		return port
	}
	t.Fatal("no free port in 20000-31999 on 127.0.0.1")
	return 0
}

// process is a child process whose output goes to a file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error // valid once done is closed
}

// startProcess starts argv with env added to a minimal environment, its
// standard output and error appended to logPath. The child is killed if the
// test binary dies (Pdeathsig). The caller stops it with stop.
func startProcess(t testing.TB, name, logPath string, env []string, argv ...string) *process {
	t.Helper()
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("%s: open log: %v", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(baseEnv(), env...)
	cmd.Stdin = nil
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("%s: start %s: %v", name, argv[0], err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p
}

// baseEnv is the environment every child starts from: PATH and a UTF-8
// locale, nothing from the user's session (no HOME, no TMUX, no proxies).
func baseEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8", "LC_ALL=C.UTF-8"}
}

// pid is the child's process id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the child has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the child (by PID), waits up to grace, then sends
// SIGKILL. It returns the child's wait error and whether it had to be killed.
func (p *process) stop(grace time.Duration) (waitErr error, killed bool) {
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = p.cmd.Process.Kill()
			<-p.done
			killed = true
		}
	}
	return p.waitErr, killed
}

// exitCode is the child's exit status, or -1 while it runs or if a signal
// ended it.
func (p *process) exitCode() int {
	if !p.exited() {
		return -1
	}
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		return ee.ExitCode()
	}
	if p.waitErr != nil {
		return -1
	}
	return 0
}

// tailFile returns at most the last n bytes of the file at path.
func tailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	off := max(fi.Size()-n, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	return string(b)
}

// maxReadBytes bounds how much of a log file a poll reads.
const maxReadBytes = 8 << 20

// readBounded reads at most maxReadBytes of the file at path; a missing file
// reads as empty.
func readBounded(path string) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxReadBytes))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return string(b), nil
}

// logOnFailure registers a cleanup that, if the test failed, logs the tail
// of the file at path under label.
func logOnFailure(t testing.TB, label, path string) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- last lines of %s ----\n%s", label, strings.TrimRight(tailFile(path, 6<<10), "\n"))
		}
	})
}
