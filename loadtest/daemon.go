package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Daemon is a thorchatd the load tool started itself (the history
// scenario runs the daemon with history off and on, and times its
// start-up). It is stopped by its PID only.
type Daemon struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	// Startup is how long it took from exec to the listener answering.
	Startup StartupResult
}

// StartupResult times a daemon's start: from exec to the first TCP
// connection accepted on its listener, and to the end of the MOTD of a
// registration on it (the event loop answering).
type StartupResult struct {
	ConnectSeconds    float64 `json:"connect_seconds"`
	RegisteredSeconds float64 `json:"registered_seconds"`
}

// StartDaemon execs argv (the daemon's command line, e.g. taskset -c 0
// bin/thorchatd -config FILE) with its output appended to logPath, and
// waits, bounded by budget, until a client registers on addr.
func StartDaemon(ctx context.Context, argv []string, logPath, addr string, budget time.Duration) (*Daemon, error) {
	if len(argv) == 0 {
		return nil, errors.New("daemon: empty command")
	}
	if err := CheckLoopback(addr); err != nil {
		return nil, err
	}
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("daemon log: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	d := &Daemon{cmd: cmd, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		out.Close()
		close(d.done)
	}()
	wctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	connected := time.Duration(0)
	for {
		select {
		case <-d.done:
			return nil, fmt.Errorf("daemon exited at start (%v); see %s", d.err, logPath)
		case <-wctx.Done():
			d.Stop(5 * time.Second)
			return nil, fmt.Errorf("daemon not answering on %s within %v", addr, budget)
		default:
		}
		c, err := dial(wctx, addr)
		if err != nil {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		if connected == 0 {
			connected = time.Since(start)
		}
		err = register(wctx, newLineReader(c, 4096), "startup")
		c.Close()
		if err == nil {
			d.Startup = StartupResult{ConnectSeconds: connected.Seconds(), RegisteredSeconds: time.Since(start).Seconds()}
			return d, nil
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// PID is the daemon's process id.
func (d *Daemon) PID() int { return d.cmd.Process.Pid }

// Stop sends SIGTERM, then SIGKILL after grace, and waits; it reports
// whether the daemon exited cleanly on SIGTERM.
func (d *Daemon) Stop(grace time.Duration) error {
	select {
	case <-d.done:
		return d.exitErr()
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-d.done:
		return d.exitErr()
	case <-t.C:
		_ = d.cmd.Process.Kill()
		<-d.done
		return fmt.Errorf("daemon did not exit within %v of SIGTERM and was killed", grace)
	}
}

func (d *Daemon) exitErr() error {
	if d.err != nil {
		return fmt.Errorf("daemon exited: %w", d.err)
	}
	return nil
}

// DirBytes is the total size of the regular files under dir.
func DirBytes(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() {
			fi, err := e.Info()
			if err != nil {
				return err
			}
			total += fi.Size()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dir, err)
	}
	return total, nil
}
