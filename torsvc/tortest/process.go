package tortest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long Stop waits after SIGTERM before it sends SIGKILL.
const stopGrace = 5 * time.Second

// Tor is one tor process started by this package. Its DataDirectory is Dir,
// where its notice.log and stdout.log stay after it stops.
type Tor struct {
	// Name is the node's nickname (auth0, relay1, client, or the name given
	// to Network.StartTor).
	Name string
	// Dir is the node's DataDirectory.
	Dir string
	// ControlSocket is the unix control socket path ("" when the node has
	// none); the cookie is Dir/control_auth_cookie.
	ControlSocket string

	bin   string
	torrc string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
}

// start launches the tor process with its torrc; it does not wait for tor to
// be ready.
func (t *Tor) start() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cmd != nil {
		select {
		case <-t.exited:
		default:
			return fmt.Errorf("tor %s is already running (pid %d)", t.Name, t.cmd.Process.Pid)
		}
	}
	if t.ControlSocket != "" {
		// A socket left by a killed tor would make the new one fail to bind.
		_ = os.Remove(t.ControlSocket)
	}
	out, err := os.OpenFile(filepath.Join(t.Dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open stdout log of %s: %w", t.Name, err)
	}
	cmd := exec.Command(t.bin, "-f", t.torrc)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		_ = out.Close()
		return fmt.Errorf("start tor %s: %w", t.Name, err)
	}
	exited := make(chan struct{})
	t.cmd, t.exited, t.exitErr = cmd, exited, nil
	go func() {
		err := cmd.Wait()
		_ = out.Close()
		t.mu.Lock()
		t.exitErr = err
		t.mu.Unlock()
		close(exited)
	}()
	return nil
}

// Restart starts the node again with the same torrc, DataDirectory and
// control socket after Stop or Kill. It does not wait for tor to be ready.
func (t *Tor) Restart() error { return t.start() }

// PID returns the process id of the running tor, or 0 when it is not running.
func (t *Tor) PID() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cmd == nil {
		return 0
	}
	select {
	case <-t.exited:
		return 0
	default:
		return t.cmd.Process.Pid
	}
}

// Exited returns a channel closed when the current tor process has exited
// (nil if it was never started).
func (t *Tor) Exited() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.exited
}

// exitError returns how the last process ended (nil while it runs or after a
// clean exit).
func (t *Tor) exitError() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.exitErr
}

// Kill sends SIGKILL to the tor process and waits until it is gone.
func (t *Tor) Kill() error { return t.signalAndWait(syscall.SIGKILL, stopGrace) }

// Stop sends SIGTERM to the tor process, then SIGKILL if it is still running
// after a few seconds, and waits until it is gone. Stopping a tor that is not
// running is not an error.
func (t *Tor) Stop() error {
	if err := t.signalAndWait(syscall.SIGTERM, stopGrace); err == nil {
		return nil
	}
	return t.signalAndWait(syscall.SIGKILL, stopGrace)
}

func (t *Tor) signalAndWait(sig syscall.Signal, grace time.Duration) error {
	t.mu.Lock()
	cmd, exited := t.cmd, t.exited
	t.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-exited:
		return nil
	default:
	}
	// The process is ours (started by exec, not yet reaped), so its PID
	// cannot have been reused.
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s (pid %d): %w", t.Name, cmd.Process.Pid, err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-exited:
		return nil
	case <-timer.C:
		return fmt.Errorf("tor %s (pid %d) still running %s after %v", t.Name, cmd.Process.Pid, grace, sig)
	}
}
