package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
)

// onionPort is the onion service's virtual port in the demo configuration.
const onionPort = 6667

// webPort is the onion's port of the browser client ([web] onion_port).
const webPort = 80

// stopGrace is how long stop waits after SIGTERM: the daemon's shutdown
// (4 s) plus its tor's (at most 10 s).
const stopGrace = 20 * time.Second

// daemon is the thorchatd process the demo runs.
type daemon struct {
	bin, configPath, logPath string
	onion                    string

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error // valid once exited is closed
}

// prepareDaemon writes the demo configuration into dir (an onion-only
// daemon whose embedded tor includes the network's torrc snippet), checks it
// with -check and reads the onion address with `thorchatd onion`.
func prepareDaemon(ctx context.Context, bin, dir, snippet string) (*daemon, error) {
	d := &daemon{
		bin:        bin,
		configPath: filepath.Join(dir, "thorchatd.toml"),
		logPath:    filepath.Join(dir, "thorchatd.log"),
	}
	cfg := map[string]any{
		"server": map[string]any{
			"name":      "thorchat.demo",
			"data_dir":  filepath.Join(dir, "data"),
			"log_level": "info",
			"motd":      "ThorChat demo: an onion service on a private Tor network on this machine.",
		},
		"listen": map[string]any{
			"onion":      true,
			"onion_port": onionPort,
			"dev_tcp":    []string{},
			"unix":       []string{},
		},
		"web": map[string]any{
			"enabled":          true,
			"onion_port":       webPort,
			"default_channels": []string{"#thorchat"},
		},
		"tor": map[string]any{
			"mode":        "embedded",
			"extra_torrc": snippet,
		},
		"channel": []map[string]any{
			{"name": "#thorchat", "topic": "ThorChat demo over a private Tor network", "modes": "+nt"},
		},
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(cfg); err != nil {
		return nil, fmt.Errorf("encode demo configuration: %w", err)
	}
	if err := os.WriteFile(d.configPath, buf.Bytes(), 0o600); err != nil {
		return nil, fmt.Errorf("write demo configuration: %w", err)
	}
	if out, err := d.command(ctx, "-config", d.configPath, "-check"); err != nil {
		return nil, fmt.Errorf("thorchatd -check: %w: %s", err, out)
	}
	out, err := d.command(ctx, "onion", "-config", d.configPath)
	if err != nil {
		return nil, fmt.Errorf("thorchatd onion: %w: %s", err, out)
	}
	d.onion = strings.TrimSpace(out)
	if !strings.HasSuffix(d.onion, ".onion") || len(d.onion) != 62 {
		return nil, fmt.Errorf("thorchatd onion printed %q, want a v3 onion address", d.onion)
	}
	return d, nil
}

// command runs a short thorchatd command (bounded) and returns its output.
func (d *daemon) command(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// start runs the daemon, its output appended to logPath.
func (d *daemon) start() error {
	logFile, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("daemon log: %w", err)
	}
	cmd := exec.Command(d.bin, "-config", d.configPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start thorchatd: %w", err)
	}
	d.cmd, d.exited = cmd, make(chan struct{})
	go func() {
		d.waitErr = cmd.Wait()
		logFile.Close()
		close(d.exited)
	}()
	return nil
}

// stop sends SIGTERM to the daemon (by its pid), SIGKILL after stopGrace,
// and waits for it.
func (d *daemon) stop() error {
	if d.cmd == nil {
		return nil
	}
	select {
	case <-d.exited:
		return nil
	default:
	}
	// not reaped until exited closes, so the pid is still ours
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal thorchatd (pid %d): %w", d.cmd.Process.Pid, err)
	}
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-d.exited:
		return nil
	case <-t.C:
	}
	_ = d.cmd.Process.Kill()
	<-d.exited
	return fmt.Errorf("thorchatd (pid %d) ignored SIGTERM for %v and was killed", d.cmd.Process.Pid, stopGrace)
}

// waitPublished polls the daemon's log until it reports the onion
// descriptor published, failing after timeout or when the daemon exits.
func (d *daemon) waitPublished(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		if log, err := readHead(d.logPath, 8<<20); err == nil &&
			strings.Contains(log, `msg="onion service descriptor published; reachable"`) {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("thorchatd exited (%v); last lines of %s:\n%s", d.waitErr, d.logPath, tail(d.logPath, 2<<10))
		case <-ctx.Done():
			return fmt.Errorf("onion descriptor not published within %v (%w); last lines of %s:\n%s",
				timeout, ctx.Err(), d.logPath, tail(d.logPath, 2<<10))
		case <-tick.C:
		}
	}
}

// readHead reads at most limit bytes of the file at path.
func readHead(path string, limit int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit))
	return string(b), err
}

// tail returns at most the last n bytes of the file at path.
func tail(path string, n int64) string {
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
