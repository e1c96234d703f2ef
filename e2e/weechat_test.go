package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// weechatPlugins are the only plugins weechat loads: no scripting language,
// no script manager (it downloads the script list), no relay, xfer or spell.
const weechatPlugins = "irc,logger,fifo"

// pipeBuf is the largest write a FIFO takes atomically (PIPE_BUF on Linux).
const pipeBuf = 4096

// weechatProc is a weechat-headless started by runWeechat. It is steered
// through its FIFO (each command runs verbatim: no ";" splitting and no
// ${…} evaluation) and observed through its logger files, which it writes
// at once (logger.file.flush_delay 0).
type weechatProc struct {
	t testing.TB
	// Dir is weechat's home (--dir): configuration, logs/ and the FIFO.
	Dir string
	// OutPath receives weechat's standard output and error (--stdout).
	OutPath string

	proc *process
	fifo string
}

// runWeechat starts weechat-headless in a fresh home with only the irc,
// logger and fifo plugins, waits for its FIFO, then runs setupCommands in
// order in the core buffer (see weechatServerCommands). A cleanup stops it
// by PID. The test skips if weechat-headless is missing (fails with
// THORCHAT_REQUIRE_CLIENTS=1).
func runWeechat(t testing.TB, setupCommands []string) *weechatProc {
	t.Helper()
	bin := requireTool(t, "weechat-headless", "weechat-headless")
	dir := t.TempDir()
	w := &weechatProc{t: t, Dir: filepath.Join(dir, "weechat"), OutPath: filepath.Join(dir, "weechat.out")}
	if err := os.Mkdir(w.Dir, 0o700); err != nil {
		t.Fatalf("weechat home: %v", err)
	}
	logOnFailure(t, "weechat output", w.OutPath)
	w.proc = startProcess(t, "weechat", w.OutPath, []string{"HOME=" + dir},
		bin, "--dir", w.Dir, "--stdout", "--plugins", weechatPlugins,
		"--run-command", "/set logger.file.flush_delay 0")
	t.Cleanup(func() {
		if _, killed := w.proc.stop(5 * time.Second); killed {
			t.Logf("weechat did not exit within 5s of SIGTERM and was killed")
		}
	})
	// weechat names its FIFO after its PID (fifo.file.path default
	// "${weechat_runtime_dir}/weechat_fifo_${info:pid}"; --dir sets the
	// runtime dir).
	w.fifo = filepath.Join(w.Dir, "weechat_fifo_"+strconv.Itoa(w.proc.pid()))
	waitFor(t, "weechat's FIFO", func() (bool, error) {
		if w.proc.exited() {
			return false, fmt.Errorf("weechat exited early (%v)", w.proc.waitErr)
		}
		f, err := os.OpenFile(w.fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return false, nil // not created yet, or no reader yet (ENXIO)
		}
		return true, f.Close()
	}, nil)
	for _, cmd := range setupCommands {
		w.command(cmd)
	}
	return w
}

// weechatServerCommands are the commands that add an IRC server named
// server at addr ("host:port") in plaintext, set nick, username and
// realname, autojoin channels and connect. The plaintext flag depends on the
// installed weechat (see weechatNoTLSFlag).
func weechatServerCommands(t testing.TB, server, addr, nick string, channels ...string) []string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("weechat server address %q: %v", addr, err)
	}
	cmds := []string{
		fmt.Sprintf("/server add %s %s/%s %s", server, host, port, weechatNoTLSFlag(t)),
		fmt.Sprintf("/set irc.server.%s.nicks %s", server, nick),
		fmt.Sprintf("/set irc.server.%s.username %s", server, nick),
		fmt.Sprintf("/set irc.server.%s.realname %s", server, "weechat e2e"),
	}
	if len(channels) > 0 {
		cmds = append(cmds, fmt.Sprintf("/set irc.server.%s.autojoin %s", server, strings.Join(channels, ",")))
	}
	return append(cmds, "/connect "+server)
}

// weechatNoTLSFlag is the /server add flag for a plaintext server: weechat
// 4.0 renamed the "ssl" server options to "tls" and turned TLS on by
// default, so it needs -notls; 3.x (Debian 12 ships 3.8) has TLS off by
// default, knows only -nossl and silently ignores -notls, hence the version
// check.
func weechatNoTLSFlag(t testing.TB) string {
	t.Helper()
	bin := requireTool(t, "weechat-headless", "weechat-headless")
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("weechat-headless --version: %v", err)
	}
	v := strings.TrimSpace(string(out))
	majorStr, _, _ := strings.Cut(v, ".")
	major, err := strconv.Atoi(majorStr)
	if err != nil {
		t.Fatalf("weechat-headless --version: unexpected output %q", v)
	}
	if major >= 4 {
		return "-notls"
	}
	return "-nossl"
}

// on returns w reporting to t: a subtest's waits on a weechat its parent
// started.
func (w *weechatProc) on(t testing.TB) *weechatProc {
	c := *w
	c.t = t
	return &c
}

// command runs cmd (e.g. "/connect thor") in weechat's core buffer.
func (w *weechatProc) command(cmd string) {
	w.t.Helper()
	w.writeFIFO("*" + cmd)
}

// input types text into buffer (full name, e.g. "irc.thor.#e2e") as if the
// user entered it there: plain text is sent to the channel.
func (w *weechatProc) input(buffer, text string) {
	w.t.Helper()
	w.writeFIFO(buffer + " *" + text)
}

// say sends text to channel on server.
func (w *weechatProc) say(server, channel, text string) {
	w.t.Helper()
	w.input("irc."+server+"."+channel, text)
}

func (w *weechatProc) writeFIFO(line string) {
	w.t.Helper()
	if strings.ContainsAny(line, "\r\n") || len(line)+1 > pipeBuf {
		w.t.Fatalf("weechat FIFO line %q: must be one line shorter than %d bytes", line, pipeBuf)
	}
	f, err := os.OpenFile(w.fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		w.t.Fatalf("open weechat FIFO: %v", err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		w.t.Fatalf("write weechat FIFO: %v", err)
	}
}

// logPath is the logger file of buffer irc.<server>.<channel>.
func (w *weechatProc) logPath(server, channel string) string {
	return filepath.Join(w.Dir, "logs", strings.ToLower("irc."+server+"."+channel+".weechatlog"))
}

// logLine is one line of a weechat log: time, prefix (nick or "--", "-->"…)
// and message, tab separated.
type logLine struct {
	prefix, message string
}

// waitLog waits until the log of channel on server has a line match
// accepts; desc names it in the failure.
func (w *weechatProc) waitLog(server, channel, desc string, match func(logLine) bool) {
	w.t.Helper()
	path := w.logPath(server, channel)
	waitFor(w.t, "weechat to log "+desc, func() (bool, error) {
		if w.proc.exited() {
			return false, fmt.Errorf("weechat exited (%v)", w.proc.waitErr)
		}
		text, err := readBounded(path)
		if err != nil {
			return false, err
		}
		for l := range strings.SplitSeq(text, "\n") {
			f := strings.SplitN(l, "\t", 3)
			if len(f) == 3 && match(logLine{prefix: f[1], message: f[2]}) {
				return true, nil
			}
		}
		return false, nil
	}, func() string {
		text, err := readBounded(path)
		if errors.Is(err, os.ErrNotExist) || text == "" {
			return "(" + path + " is empty or missing)\nserver buffer:\n" + tailFile(filepath.Join(w.Dir, "logs", strings.ToLower("irc.server."+server+".weechatlog")), 3<<10)
		}
		return "channel log:\n" + tailFile(path, 3<<10)
	})
}

// waitJoined waits until weechat shows its own JOIN (as nick) of channel.
func (w *weechatProc) waitJoined(server, channel, nick string) {
	w.t.Helper()
	w.waitLog(server, channel, nick+" joining "+channel, func(l logLine) bool {
		first, _, _ := strings.Cut(l.message, " ")
		return l.prefix == "-->" && strings.EqualFold(first, nick) &&
			strings.Contains(l.message, "has joined "+channel)
	})
}

// waitMessage waits until weechat shows text said by nick in channel.
func (w *weechatProc) waitMessage(server, channel, nick, text string) {
	w.t.Helper()
	w.waitLog(server, channel, fmt.Sprintf("<%s> %s", nick, text), func(l logLine) bool {
		return strings.EqualFold(strings.TrimLeft(l.prefix, "~&@%+"), nick) && l.message == text
	})
}
