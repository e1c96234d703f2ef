package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cretz/bine/control"
	"golang.org/x/net/proxy"

	"github.com/thorchat/thorchat/torsvc/tortest"
)

// Bounds of the onion tests' waits (a private network on a loaded 2-core
// machine: see docs/tor.md for measured values).
const (
	networkBudget = 3 * time.Minute  // tortest.Start + Wait
	publishBudget = 2 * time.Minute  // daemon start -> descriptor published
	reachBudget   = 2 * time.Minute  // published -> an IRC client registered
	attemptBudget = 20 * time.Second // one SOCKS dial + registration
	keepNetEnv    = "THORCHAT_KEEP_TORNET"
)

// verboseStderr passes the network's progress lines on only with go test -v.
type verboseStderr struct{}

func (verboseStderr) Write(p []byte) (int, error) {
	if testing.Verbose() {
		return os.Stderr.Write(p)
	}
	return len(p), nil
}

// onionDaemon is a thorchatd with only the onion listener, its embedded tor
// joined to a private network. It can be stopped and started again on the
// same data directory (same key, same address).
type onionDaemon struct {
	// Dir is a short temporary directory (unix socket paths must fit in
	// 108 bytes): the configuration, the log and data/.
	Dir, ConfigPath, LogPath string
	// Onion is the address the last run logged ("xxxx.onion").
	Onion string

	proc    *process
	logFrom int64 // log size when the current run started
}

// newOnionDaemon writes the configuration of an onion-only daemon joined to
// n (no dev_tcp, no unix listener), with extra TOML documents merged over
// it, and checks it with -check.
func newOnionDaemon(t *testing.T, n *tortest.Network, extra ...string) *onionDaemon {
	t.Helper()
	if daemonBin == "" {
		t.Fatal("thorchatd was not built (TestMain did not run)")
	}
	dir, err := os.MkdirTemp("", "tc")
	if err != nil {
		t.Fatalf("short temp dir: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("daemon directory kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	d := &onionDaemon{
		Dir:        dir,
		ConfigPath: filepath.Join(dir, "thorchatd.toml"),
		LogPath:    filepath.Join(dir, "thorchatd.log"),
	}
	dataDir := filepath.Join(dir, "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatalf("create data dir: %v", err)
	}
	base := fmt.Sprintf(`
[server]
name = "thorchat.onion.test"
[listen]
onion = true
onion_port = 6667
dev_tcp = []
unix = []
[tor]
mode = "embedded"
extra_torrc = %q
`, n.TorrcSnippet)
	cfg, err := daemonConfig(dataDir, 0, append([]string{base}, extra...)...)
	if err != nil {
		t.Fatalf("daemon configuration: %v", err)
	}
	if len(cfg.devTCP) != 0 {
		t.Fatalf("onion daemon configuration still has dev_tcp %v", cfg.devTCP)
	}
	if err := os.WriteFile(d.ConfigPath, cfg.text, 0o600); err != nil {
		t.Fatalf("write daemon configuration: %v", err)
	}
	check := exec.Command(daemonBin, "-config", d.ConfigPath, "-check")
	check.Env = baseEnv()
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("thorchatd -check: %v\n%s\nconfiguration:\n%s", err, out, cfg.text)
	}
	logOnFailure(t, "thorchatd log", d.LogPath)
	// registered on the parent test: the daemon outlives the subtest that
	// started it
	t.Cleanup(func() { d.stop(t) })
	return d
}

// configuredRE finds the address in the daemon's "onion service configured"
// line.
var configuredRE = regexp.MustCompile(`msg="onion service configured" address=([a-z2-7]{56}\.onion)`)

// start runs the daemon (appending to LogPath) and waits, bounded, until it
// logged its onion address and that the descriptor is published. The
// cleanup registered by newOnionDaemon stops it if the test leaves it
// running.
func (d *onionDaemon) start(t *testing.T) {
	t.Helper()
	if fi, err := os.Stat(d.LogPath); err == nil {
		d.logFrom = fi.Size()
	}
	d.proc = startProcess(t, "thorchatd", d.LogPath, []string{"HOME=" + d.Dir}, daemonBin, "-config", d.ConfigPath)
	d.waitLog(t, "the onion service to be configured", publishBudget, func(log string) bool {
		m := configuredRE.FindStringSubmatch(log)
		if m != nil {
			d.Onion = m[1]
		}
		return m != nil
	})
	d.waitLog(t, "the onion descriptor to be published", publishBudget, func(log string) bool {
		return strings.Contains(log, `msg="onion service descriptor published; reachable"`)
	})
}

// stop sends SIGTERM and fails the test unless the daemon exits cleanly
// (under -race that includes reporting no data race). Stopping a stopped
// daemon does nothing.
func (d *onionDaemon) stop(t *testing.T) {
	t.Helper()
	if d.proc == nil {
		return
	}
	wasRunning := !d.proc.exited()
	// shutdown_timeout (4 s) plus tor's stop (SIGTERM, at most 10 s).
	_, killed := d.proc.stop(20 * time.Second)
	switch code := d.proc.exitCode(); {
	case !wasRunning:
		t.Errorf("thorchatd had exited before it was stopped (%v)", d.proc.waitErr)
	case killed:
		t.Errorf("thorchatd did not exit within 20s of SIGTERM and was killed")
	case code == 66 && raceEnabled:
		t.Errorf("thorchatd (built with -race) reported a data race:\n%s", raceReport(d.LogPath))
	case code != 0:
		t.Errorf("thorchatd exited with %v after SIGTERM, want status 0", d.proc.waitErr)
	}
	d.proc = nil
}

// pid is the running daemon's process id.
func (d *onionDaemon) pid() int { return d.proc.pid() }

// logSince returns the log from byte offset from on (0: every run; at most
// maxReadBytes).
func (d *onionDaemon) logSince(from int64) (string, error) {
	f, err := os.Open(d.LogPath)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("open %s: %w", d.LogPath, err)
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return "", fmt.Errorf("seek %s: %w", d.LogPath, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxReadBytes))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", d.LogPath, err)
	}
	return string(b), nil
}

// logSize is the current size of the log, for logSince.
func (d *onionDaemon) logSize(t *testing.T) int64 {
	t.Helper()
	fi, err := os.Stat(d.LogPath)
	if err != nil {
		t.Fatalf("daemon log: %v", err)
	}
	return fi.Size()
}

// waitLog polls the current run's log until cond holds, failing after
// budget or when the daemon exits.
func (d *onionDaemon) waitLog(t *testing.T, desc string, budget time.Duration, cond func(log string) bool) {
	t.Helper()
	d.waitLogSince(t, d.logFrom, desc, budget, cond)
}

// waitLogSince is waitLog on the log written after offset from.
func (d *onionDaemon) waitLogSince(t *testing.T, from int64, desc string, budget time.Duration, cond func(log string) bool) {
	t.Helper()
	deadline := time.Now().Add(budget)
	for {
		log, err := d.logSince(from)
		if err != nil {
			t.Fatal(err)
		}
		if cond(log) {
			return
		}
		if d.proc.exited() {
			t.Fatalf("waiting for %s: thorchatd exited (%v)", desc, d.proc.waitErr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", budget, desc)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// onionDialer returns a dialer through the network's SOCKS port whose
// streams go on circuits of their own: tor isolates streams by SOCKS
// credentials (IsolateSOCKSAuth), and isolation is sent as both user name
// and password. Each client of these tests has its own, as separate client
// programs would, so none runs into the server's per-circuit connection
// bound (limits.max_per_circuit).
func onionDialer(t *testing.T, n *tortest.Network, isolation string) proxy.ContextDialer {
	t.Helper()
	d, err := proxy.SOCKS5("tcp", n.SOCKSAddr, &proxy.Auth{User: isolation, Password: isolation}, &net.Dialer{Timeout: attemptBudget})
	if err != nil {
		t.Fatalf("socks5 dialer %s: %v", n.SOCKSAddr, err)
	}
	cd, ok := d.(proxy.ContextDialer)
	if !ok {
		t.Fatalf("socks5 dialer %s has no DialContext", n.SOCKSAddr)
	}
	return cd
}

// reachIRC retries until an IRC client registers with the server at addr
// through the network's SOCKS port, bounded by reachBudget, and returns how
// long that took. Between failed attempts it sends NEWNYM to the network's
// client tor: a client holding the descriptor of a service instance that
// just died can otherwise keep trying dead intro points for minutes (client
// behaviour, see docs/tor.md).
func reachIRC(t *testing.T, n *tortest.Network, addr, nickPrefix string) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), reachBudget)
	defer cancel()
	start := time.Now()
	for attempt := 1; ; attempt++ {
		nick := fmt.Sprintf("%s%d", nickPrefix, attempt)
		err := registerOnce(ctx, onionDialer(t, n, nick), addr, nick)
		if err == nil {
			t.Logf("%s reached after %d attempt(s)", addr, attempt)
			return time.Since(start)
		}
		t.Logf("attempt %d at %.1fs: %v", attempt, time.Since(start).Seconds(), err)
		if err := newnym(ctx, n); err != nil {
			t.Logf("NEWNYM: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s not reachable within %v: last error: %v", addr, reachBudget, err)
		case <-time.After(time.Second):
		}
	}
}

// registerOnce connects through d, registers as nick and quits once 001
// (welcome) arrived.
func registerOnce(ctx context.Context, d proxy.ContextDialer, addr, nick string) error {
	ctx, cancel := context.WithTimeout(ctx, attemptBudget)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	if err := c.SetDeadline(dl); err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	if _, err := fmt.Fprintf(c, "NICK %s\r\nUSER %s 0 * :onion probe\r\n", nick, nick); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 4096), maxLineBytes)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[1] == "001" {
			_, _ = io.WriteString(c, "QUIT :probe done\r\n")
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return errors.New("connection closed before 001")
}

// dialOnionIRC connects through the network's SOCKS port on a circuit of
// its own (one attempt; call reachIRC first) and registers nick.
func dialOnionIRC(t *testing.T, n *tortest.Network, addr, nick string) *rawClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), attemptBudget)
	defer cancel()
	conn, err := onionDialer(t, n, nick).DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("%s: dial %s through %s: %v", nick, addr, n.SOCKSAddr, err)
	}
	return startRawClient(t, conn, nick)
}

// newnym sends SIGNAL NEWNYM to the network's client tor (cookie
// authentication on its control port).
func newnym(ctx context.Context, n *tortest.Network) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var nd net.Dialer
	raw, err := nd.DialContext(ctx, "tcp", n.ControlAddr)
	if err != nil {
		return fmt.Errorf("dial control %s: %w", n.ControlAddr, err)
	}
	defer raw.Close()
	dl, _ := ctx.Deadline()
	if err := raw.SetDeadline(dl); err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	c := control.NewConn(textproto.NewConn(raw))
	if err := c.Authenticate(""); err != nil {
		return fmt.Errorf("authenticate: %w", err)
	}
	if err := c.Signal("NEWNYM"); err != nil {
		return fmt.Errorf("SIGNAL NEWNYM: %w", err)
	}
	return nil
}

// watchDrop reports, once, how long after start the server closed c's
// connection (the channel stays empty while it is open; the test's cleanup
// closes it at the latest, ending the goroutine).
func watchDrop(c *rawClient, start time.Time) <-chan time.Duration {
	ch := make(chan time.Duration, 1)
	go func() {
		<-c.done
		ch <- time.Since(start)
	}()
	return ch
}
