package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// irssiOptions says how runIrssi starts irssi.
type irssiOptions struct {
	// Nick is irssi's nick (-n).
	Nick string
	// Args are further irssi arguments, e.g. irssiConnectArgs(…).
	Args []string
	// Wrapper is prepended to the irssi command line, e.g. {"torsocks"}.
	Wrapper []string
	// Config, if not empty, is written to <home>/config before start.
	Config string
}

// irssiConnectArgs are the arguments that make irssi connect to a plaintext
// IRC server at host:port at start.
func irssiConnectArgs(host string, port int) []string {
	return []string{"-c", host, "-p", strconv.Itoa(port)}
}

// irssiProc is an irssi running in a tmux session on a private tmux server,
// driven by typing (tmux send-keys) and observed through the visible pane
// (tmux capture-pane), i.e. the active irssi window.
type irssiProc struct {
	t testing.TB
	// Home is irssi's --home.
	Home string

	sock    string // the private tmux server's socket
	session string // the tmux session running irssi
	tmux    string // tmux binary
	server  *process
	panePID int
}

// runIrssi starts irssi (in a fresh --home) in a 200x50 tmux session on a
// tmux server of its own, whose PID the test owns. A cleanup kills the
// session by name, then the tmux server by PID, and makes sure irssi is
// gone. The test skips if irssi or tmux is missing (fails with
// THORCHAT_REQUIRE_CLIENTS=1).
func runIrssi(t testing.TB, opts irssiOptions) *irssiProc {
	t.Helper()
	irssiBin := requireTool(t, "irssi", "irssi")
	tmuxBin := requireTool(t, "tmux", "tmux")
	dir := t.TempDir()
	// Unix socket paths are short (108 bytes): keep the socket out of the
	// test-named temp dir.
	sockDir, err := os.MkdirTemp("", "tc-tmux-")
	if err != nil {
		t.Fatalf("tmux socket dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	p := &irssiProc{
		t:       t,
		Home:    filepath.Join(dir, "irssi"),
		sock:    filepath.Join(sockDir, "sock"),
		session: "thorchat-e2e-" + strconv.Itoa(os.Getpid()) + "-" + filepath.Base(sockDir),
		tmux:    tmuxBin,
	}
	if err := os.Mkdir(p.Home, 0o700); err != nil {
		t.Fatalf("irssi home: %v", err)
	}
	if opts.Config != "" {
		if err := os.WriteFile(filepath.Join(p.Home, "config"), []byte(opts.Config), 0o600); err != nil {
			t.Fatalf("irssi config: %v", err)
		}
	}
	serverLog := filepath.Join(dir, "tmux-server.out")
	// -D keeps the tmux server in the foreground: it is our child, with a
	// PID we own, instead of a daemon.
	p.server = startProcess(t, "tmux server", serverLog, []string{"HOME=" + dir},
		tmuxBin, "-S", p.sock, "-f", os.DevNull, "-D")
	t.Cleanup(p.stop)
	waitFor(t, "the tmux server's socket", func() (bool, error) {
		if p.server.exited() {
			return false, fmt.Errorf("tmux server exited early (%v): %s", p.server.waitErr, tailFile(serverLog, 1<<10))
		}
		fi, err := os.Stat(p.sock)
		return err == nil && fi.Mode()&os.ModeSocket != 0, nil
	}, nil)

	argv := append([]string{}, opts.Wrapper...)
	argv = append(argv, irssiBin, "--home="+p.Home, "-n", opts.Nick)
	argv = append(argv, opts.Args...)
	p.tmuxRun(append([]string{"new-session", "-d", "-s", p.session, "-x", "200", "-y", "50", "--"}, argv...)...)
	out := p.tmuxRun("display-message", "-p", "-t", p.session, "#{pane_pid}")
	if p.panePID, err = strconv.Atoi(strings.TrimSpace(out)); err != nil {
		t.Fatalf("tmux pane pid %q: %v", out, err)
	}
	return p
}

// tmuxRun runs a tmux client command against the private server and
// returns its output.
func (p *irssiProc) tmuxRun(args ...string) string {
	p.t.Helper()
	out, err := p.tmuxOutput(args...)
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (p *irssiProc) tmuxOutput(args ...string) (string, error) {
	cmd := exec.Command(p.tmux, append([]string{"-S", p.sock}, args...)...)
	cmd.Env = baseEnv()
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
		return string(out), err
	case <-time.After(waitTimeout):
		_ = cmd.Process.Kill()
		<-done
		return string(out), errors.New("tmux client timed out")
	}
}

// typeLine types text into irssi's input line and presses Enter.
func (p *irssiProc) typeLine(text string) {
	p.t.Helper()
	if strings.ContainsAny(text, "\r\n") {
		p.t.Fatalf("irssi input %q: must be one line", text)
	}
	p.tmuxRun("send-keys", "-t", p.session, "-l", "--", text)
	p.tmuxRun("send-keys", "-t", p.session, "Enter")
}

// screen is what irssi shows now, wrapped lines joined.
func (p *irssiProc) screen() (string, error) {
	out, err := p.tmuxOutput("capture-pane", "-p", "-J", "-t", p.session)
	if err != nil {
		return "", fmt.Errorf("tmux capture-pane: %w: %s", err, out)
	}
	return out, nil
}

// waitScreen waits until the screen matches; desc names it in the failure.
func (p *irssiProc) waitScreen(desc string, match func(screen string) bool) {
	p.t.Helper()
	// The screen is logged by the cleanup of a failed test.
	waitFor(p.t, "irssi to show "+desc, func() (bool, error) {
		if p.server.exited() {
			return false, fmt.Errorf("tmux server exited (%v)", p.server.waitErr)
		}
		s, err := p.screen()
		if err != nil {
			return false, err
		}
		return match(s), nil
	}, nil)
}

// waitJoined waits until irssi shows nick joining channel.
func (p *irssiProc) waitJoined(nick, channel string) {
	p.t.Helper()
	re := regexp.MustCompile(`(?m)-!- ` + regexp.QuoteMeta(nick) + ` \[[^\]]*\] has joined ` + regexp.QuoteMeta(channel) + `\s*$`)
	p.waitScreen(nick+" joining "+channel, re.MatchString)
}

// waitMessage waits until irssi shows text said by nick, as
// "<nick> text" with an optional mode prefix (" ", "@", "+"…).
func (p *irssiProc) waitMessage(nick, text string) {
	p.t.Helper()
	re := regexp.MustCompile(`(?m)<[ ~&@%+]?` + regexp.QuoteMeta(nick) + `> ` + regexp.QuoteMeta(text) + `\s*$`)
	p.waitScreen(fmt.Sprintf("<%s> %s", nick, text), re.MatchString)
}

// stop kills the tmux session by name, the tmux server by PID, and irssi by
// PID should it outlive both.
func (p *irssiProc) stop() {
	if p.t.Failed() {
		if s, err := p.screen(); err == nil {
			p.t.Logf("---- irssi screen (blank lines dropped) ----\n%s", compactScreen(s))
		}
	}
	if !p.server.exited() {
		_, _ = p.tmuxOutput("kill-session", "-t", p.session)
	}
	if _, killed := p.server.stop(5 * time.Second); killed {
		p.t.Logf("tmux server did not exit within 5s of SIGTERM and was killed")
	}
	if p.panePID > 0 {
		stopOrphan(p.t, p.panePID, "irssi")
	}
}

// stopOrphan makes sure the process pid (not our child: a tmux pane) is
// gone: it waits for it, then sends SIGKILL if /proc still names it comm.
func stopOrphan(t testing.TB, pid int, comm string) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if !processIs(pid, comm) {
			return
		}
		time.Sleep(pollInterval)
	}
	if processIs(pid, comm) {
		t.Logf("%s (pid %d) outlived its tmux session; killing it", comm, pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// processIs reports whether pid is a live (not zombie) process named comm.
func processIs(pid int, comm string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// "pid (comm) state …"
	s := string(b)
	lp, rp := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if lp < 0 || rp < lp || rp+2 >= len(s) {
		return false
	}
	return s[lp+1:rp] == comm && s[rp+2] != 'Z'
}

// compactScreen drops blank lines and trailing blanks from a screen dump.
func compactScreen(s string) string {
	var b strings.Builder
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimRight(l, " "); l != "" {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
