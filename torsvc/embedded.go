package torsvc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cretz/bine/process"
)

// Bounds of the embedded tor's life cycle.
const (
	controlReadyTimeout = 90 * time.Second
	stopGrace           = 10 * time.Second
	// a tor that ran this long before dying restarts after minBackoff again
	healthyRun = 2 * time.Minute
)

// embedded is the state of embedded mode that survives restarts of tor.
type embedded struct {
	bin, torrc  string
	sock, ports string // control socket, or control port file
}

// torProc is one run of the embedded tor.
type torProc struct {
	cmd     *exec.Cmd
	out     *torOutput
	started time.Time
	exited  chan struct{}
	exitErr error
}

func (s *Service) startEmbedded(ctx context.Context) error {
	cfg := s.cfg
	bin, err := lookTor(cfg.Binary)
	if err != nil {
		return err
	}
	var extra []byte
	if cfg.ExtraTorrc != "" {
		if extra, err = readExtraTorrc(cfg.ExtraTorrc); err != nil {
			return err
		}
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return configErr("tor.data_dir", "%w", err)
	}
	keyDir, err := filepath.Abs(cfg.KeyDir)
	if err != nil {
		return configErr("tor.key_dir", "%w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return configErr("tor.data_dir", "create %s: %w", dataDir, err)
	}
	if err := os.Chmod(dataDir, 0o700); err != nil {
		return configErr("tor.data_dir", "make %s private (0700): %w", dataDir, err)
	}
	sup, err := detectBinarySupport(ctx, bin)
	if err != nil {
		return err
	}
	accepted, rejected := filterOptions(hardeningOptions(cfg), sup)
	s.setAccepted(accepted)
	s.logOptions(torVersion(ctx, bin), accepted, rejected)

	e := &embedded{bin: bin, torrc: filepath.Join(dataDir, "torrc"), sock: controlSocketPath(dataDir)}
	if e.sock == "" {
		e.ports = filepath.Join(dataDir, "control.port")
	}
	torrc := embeddedTorrc(torrcParams{
		DataDir: dataDir, ControlSocket: e.sock, ControlPortFile: e.ports, OwnerPID: os.Getpid(),
		Extra: extra, ExtraName: cfg.ExtraTorrc, KeyDir: keyDir, Port: cfg.VirtualPort,
		Target: cfg.Target, ExtraPorts: cfg.ExtraPorts, Options: accepted,
	})
	if err := writeFileAtomic(e.torrc, []byte(torrc)); err != nil {
		return configErr("tor.data_dir", "write %s: %w", e.torrc, err)
	}
	p, sess, err := s.launch(ctx, e)
	if err != nil {
		return fmt.Errorf("start embedded tor: %w", err)
	}
	go s.superviseEmbedded(ctx, e, p, sess)
	return nil
}

// torVersion returns the first line of tor --version ("" on failure).
func torVersion(ctx context.Context, bin string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return ""
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(first), "Tor version "), ".")
}

// launch starts tor and returns once its control connection is
// authenticated and subscribed to events.
func (s *Service) launch(ctx context.Context, e *embedded) (*torProc, *session, error) {
	for _, stale := range []string{e.sock, e.ports} {
		if stale != "" {
			_ = os.Remove(stale)
		}
	}
	p := &torProc{out: newTorOutput(s.log), exited: make(chan struct{})}
	creator := process.CmdCreatorFunc(func(_ context.Context, args ...string) (*exec.Cmd, error) {
		// not CommandContext: the supervisor stops tor itself, gracefully
		p.cmd = exec.Command(e.bin, args...)
		p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
		return p.cmd, nil
	})
	// --defaults-torrc keeps the system's torrc-defaults out
	proc, err := creator.New(ctx, "--defaults-torrc", os.DevNull, "-f", e.torrc)
	if err != nil {
		return nil, nil, err
	}
	if err := proc.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return nil, nil, configErr("tor.binary", "%s: %v: %s", e.bin, err, installHint)
		}
		return nil, nil, fmt.Errorf("run %s: %w", e.bin, err)
	}
	p.started = time.Now()
	go func() {
		p.exitErr = proc.Wait()
		close(p.exited)
	}()
	s.setPID(p.cmd.Process.Pid)
	sess, err := s.waitControl(ctx, e, p)
	if err == nil {
		// tor exits when this connection closes, on top of
		// __OwningControllerProcess
		if _, err = sess.request("TAKEOWNERSHIP"); err == nil {
			err = s.beginSession(sess)
		}
		if err != nil {
			sess.close()
		}
	}
	if err != nil {
		s.stopTor(p)
		s.setPID(0)
		return nil, nil, err
	}
	s.log.Info("embedded tor running", "tor_pid", p.cmd.Process.Pid)
	return p, sess, nil
}

// waitControl polls until tor's control socket (or port) accepts an
// authenticated connection, failing early if tor exits.
func (s *Service) waitControl(ctx context.Context, e *embedded, p *torProc) (*session, error) {
	ctx, cancel := context.WithTimeout(ctx, controlReadyTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		network, addr := "unix", e.sock
		if e.sock == "" {
			network, addr = "tcp", readControlPortFile(e.ports)
		}
		if addr != "" {
			sess, err := dialSession(ctx, network, addr, "")
			if err == nil {
				return sess, nil
			}
			last = err
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("tor exited during start (%v); it said: %s", p.exitErr, p.out.tail())
		case <-ctx.Done():
			return nil, fmt.Errorf("tor control not ready: %w (last error: %v); it said: %s", ctx.Err(), last, p.out.tail())
		case <-tick.C:
		}
	}
}

// readControlPortFile returns the address in tor's ControlPortWriteToFile
// file ("PORT=127.0.0.1:N"), or "".
func readControlPortFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "PORT=")
	if !ok {
		return ""
	}
	return addr
}

// stopTor stops a tor run: SIGTERM, then SIGKILL after stopGrace. It returns
// once the process is gone.
func (s *Service) stopTor(p *torProc) {
	select {
	case <-p.exited:
		return
	default:
	}
	// p.cmd is not reaped before p.exited closes, so the PID is still ours.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-p.exited:
		return
	case <-t.C:
	}
	s.log.Warn("embedded tor ignored SIGTERM; killing it", "tor_pid", p.cmd.Process.Pid)
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// superviseEmbedded follows tor's events and restarts tor with back-off when
// it dies, until ctx is done.
func (s *Service) superviseEmbedded(ctx context.Context, e *embedded, p *torProc, sess *session) {
	defer close(s.done)
	delay := minBackoff
	for {
		err := sess.readEvents(ctx, s.handleEvent)
		sess.close()
		if ctx.Err() != nil {
			s.stopTor(p)
			s.setPID(0)
			s.log.Info("embedded tor stopped")
			return
		}
		// The control connection broke: tor died (or hung, then stop it).
		s.noteDown()
		t := time.NewTimer(5 * time.Second)
		select {
		case <-p.exited:
		case <-t.C:
			s.stopTor(p)
		}
		t.Stop()
		s.setPID(0)
		if time.Since(p.started) > healthyRun {
			delay = minBackoff
		}
		s.log.Error("embedded tor died; restarting it", "tor_pid", p.cmd.Process.Pid, "exit", fmt.Sprint(p.exitErr),
			"control", err.Error(), "tor_said", p.out.tail(), "retry_in", delay.String())
		for {
			if !sleepCtx(ctx, delay) {
				s.log.Info("embedded tor not restarted: shutting down")
				return
			}
			delay = nextBackoff(delay)
			np, nsess, err := s.launch(ctx, e)
			if err == nil {
				p, sess = np, nsess
				break
			}
			if ctx.Err() != nil {
				return
			}
			s.log.Error("restart of embedded tor failed", "err", err.Error(), "retry_in", delay.String())
		}
	}
}
