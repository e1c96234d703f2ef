package e2e

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/torsvc/tortest"
)

// awayChannel is where the history tests' clients meet.
const awayChannel = "#away"

// awayLines are what is said while the stock client is away.
var awayLines = []string{"said while you were away 1", ":) said while you were away 2", "grüße while away 3"}

// weechatLogTime is the logger time format the history tests set: with the
// zone, so that the test compares instants whatever weechat's local time.
const (
	weechatLogTimeSetting = `/set logger.file.time_format "%Y-%m-%dT%H:%M:%S%z"`
	weechatLogTimeLayout  = "2006-01-02T15:04:05-0700"
)

// awayNet says how the history scenario reaches the server.
type awayNet struct {
	// addr is what weechat and the raw client dial.
	addr string
	// weechatProxy are weechat commands run before /connect (a socks5
	// proxy for the onion), nil for the dev listener.
	weechatProxy func(server string) []string
	// raw registers a raw protocol client as nick.
	raw func(t *testing.T, nick string) *rawClient
}

// TestWeechatHistoryDev: a stock weechat that was away sees what was said
// meanwhile, with the original times, over the dev listener.
func TestWeechatHistoryDev(t *testing.T) {
	t.Parallel()
	requireTool(t, "weechat-headless", "weechat-headless")
	d := startDaemon(t, "")
	weechatAwayScenario(t, awayNet{
		addr: d.Addr,
		raw:  func(t *testing.T, nick string) *rawClient { return dialIRC(t, d.Addr, nick) },
	})
}

// TestWeechatHistoryTor is TestWeechatHistoryDev over the onion: a daemon
// with only its onion listener on the shared private Tor network, weechat
// through a socks5 proxy to the network's SOCKS port.
func TestWeechatHistoryTor(t *testing.T) {
	tortest.Require(t)
	requireTool(t, "weechat-headless", "weechat-headless")
	n := sharedTorNetwork(t)
	d := newOnionDaemon(t, n)
	d.start(t)
	addr := net.JoinHostPort(d.Onion, "6667")
	reachIRC(t, n, addr, "probe")
	host, port, err := net.SplitHostPort(n.SOCKSAddr)
	if err != nil {
		t.Fatal(err)
	}
	weechatAwayScenario(t, awayNet{
		addr: addr,
		weechatProxy: func(server string) []string {
			// its own circuit (isolation by SOCKS credentials), as
			// thorchat enroll prints it
			return []string{
				fmt.Sprintf("/proxy add tor socks5 %s %s weeaway weeaway", host, port),
				fmt.Sprintf("/set irc.server.%s.proxy tor", server),
			}
		},
		raw: func(t *testing.T, nick string) *rawClient { return dialOnionIRC(t, n, addr, nick) },
	})
}

// weechatAwayScenario: weechat joins awayChannel and disconnects; a raw
// client says awayLines there; weechat reconnects and rejoins, and its
// channel log shows each line, said by the raw client, at the time the
// server stamped it (server-time), which lies at least two seconds before
// the reconnection: a client shown the lines at receipt time fails. Which
// way the history came (replay on JOIN or draft/chathistory) depends on
// the capabilities weechat asked for; the test logs them.
func weechatAwayScenario(t *testing.T, n awayNet) {
	const server = "thor"
	cmds := append([]string{weechatLogTimeSetting}, weechatServerCommands(t, server, n.addr, "wee", awayChannel)...)
	if n.weechatProxy != nil {
		last := len(cmds) - 1
		cmds = append(append(cmds[:last:last], n.weechatProxy(server)...), cmds[last])
	}
	gopher := n.raw(t, "gopher")
	gopher.join(awayChannel)
	// echo-message gives the sender the server's time and msgid of its own
	// lines; asked for after registration (CAP REQ is allowed then)
	gopher.send("CAP REQ :server-time echo-message")
	gopher.expect("CAP ACK", func(m *irc.Message) bool { return m.Command == "CAP" && m.Param(1) == "ACK" })

	w := runWeechat(t, cmds)
	logOnFailure(t, "weechat server buffer", w.logPath("server", server))
	gopher.expectJoin("wee", awayChannel)
	w.waitJoined(server, awayChannel, "wee")
	caps := weechatCaps(w, server)
	t.Logf("weechat capabilities:\n%s", caps)
	if enabled := regexp.MustCompile(`capability, enabled: .*`).FindString(caps); strings.Contains(enabled, "draft/chathistory") {
		t.Logf("weechat negotiated draft/chathistory: it gets no replay on JOIN and must ask itself")
	}

	w.command("/disconnect " + server)
	gopher.expect("wee's QUIT", func(m *irc.Message) bool {
		return m.Command == "QUIT" && m.Prefix != nil && strings.EqualFold(m.Prefix.Name, "wee")
	})

	said := sayAwayLines(t, gopher)
	// whoever showed the lines at receipt time shows a later second
	time.Sleep(2100 * time.Millisecond)
	logFrom := fileSize(t, w.logPath(server, awayChannel))
	w.command("/connect " + server)
	gopher.expectJoin("wee", awayChannel)
	for i, text := range awayLines {
		want := said[i].Truncate(time.Second)
		var got []string
		waitFor(t, fmt.Sprintf("weechat to log <gopher> %s at %s", text, want.UTC().Format(time.RFC3339)), func() (bool, error) {
			lines, err := weechatLogSince(w.logPath(server, awayChannel), logFrom)
			if err != nil {
				return false, err
			}
			got = got[:0]
			for _, l := range lines {
				if strings.EqualFold(strings.TrimLeft(l.prefix, "~&@%+"), "gopher") && l.message == text {
					if l.at.Equal(want) {
						return true, nil
					}
					got = append(got, l.at.UTC().Format(time.RFC3339))
				}
			}
			return false, nil
		}, func() string {
			return fmt.Sprintf("the line was logged at %v\nchannel log since the reconnection:\n%s", got, tailFile(w.logPath(server, awayChannel), 3<<10))
		})
	}
}

// weechatCaps returns the capability lines of weechat's server buffer.
func weechatCaps(w *weechatProc, server string) string {
	text, err := readBounded(w.logPath("server", server))
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for l := range strings.SplitSeq(text, "\n") {
		if strings.Contains(l, "capabilit") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// timedLogLine is a weechat log line with its time.
type timedLogLine struct {
	at              time.Time
	prefix, message string
}

// weechatLogSince parses the lines of a weechat log written with
// weechatLogTimeSetting from byte offset from on.
func weechatLogSince(path string, from int64) ([]timedLogLine, error) {
	text, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	if int64(len(text)) < from {
		return nil, nil
	}
	var out []timedLogLine
	for l := range strings.SplitSeq(text[from:], "\n") {
		f := strings.SplitN(l, "\t", 3)
		if len(f) != 3 {
			continue
		}
		at, err := time.Parse(weechatLogTimeLayout, f[0])
		if err != nil {
			return nil, fmt.Errorf("weechat log time %q: %w", f[0], err)
		}
		out = append(out, timedLogLine{at: at, prefix: f[1], message: f[2]})
	}
	return out, nil
}

// fileSize is the size of path (0 when it does not exist yet).
func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// irssiHistorySettings make irssi show seconds in its timestamps and the
// server's time of a message (server-time) instead of its receipt time
// (show_server_time, off by default in irssi 1.4).
var irssiHistorySettings = []string{"/set timestamp_format %H:%M:%S", "/set show_server_time on"}

// TestIrssiHistoryDev: a stock irssi that left a channel sees, when it
// joins again, what was said meanwhile (the replay on JOIN), stamped with
// the original times (server-time, shown with show_server_time on) at
// least two seconds before the rejoin.
func TestIrssiHistoryDev(t *testing.T) {
	t.Parallel()
	requireTool(t, "irssi", "irssi")
	requireTool(t, "tmux", "tmux")
	d := startDaemon(t, "")
	gopher := dialIRC(t, d.Addr, "gopher")
	gopher.join(awayChannel)
	gopher.send("CAP REQ :server-time echo-message")
	gopher.expect("CAP ACK", func(m *irc.Message) bool { return m.Command == "CAP" && m.Param(1) == "ACK" })

	ir := startIrssiOn(t, d, "irs")
	for _, l := range irssiHistorySettings {
		ir.typeLine(l)
	}
	ir.typeLine("/join " + awayChannel)
	gopher.expectJoin("irs", awayChannel)
	ir.waitJoined("irs", awayChannel)
	ir.typeLine("/part " + awayChannel)
	gopher.expect("irs's PART", func(m *irc.Message) bool {
		return m.Command == "PART" && m.Prefix != nil && strings.EqualFold(m.Prefix.Name, "irs")
	})
	said := sayAwayLines(t, gopher)
	time.Sleep(2100 * time.Millisecond)
	ir.typeLine("/join " + awayChannel)
	gopher.expectJoin("irs", awayChannel)
	for i, text := range awayLines {
		// irssi shows times in its local zone, which is the test's (both
		// read /etc/localtime: baseEnv sets no TZ)
		stamp := said[i].In(irssiZone()).Format("15:04:05")
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(stamp) + ` <[ ~&@%+]?gopher> ` + regexp.QuoteMeta(text) + `\s*$`)
		ir.waitScreen(fmt.Sprintf("%s <gopher> %s", stamp, text), re.MatchString)
	}
}

// irssiZone is the zone irssi shows times in: the system's, as baseEnv
// sets no TZ (the test's own time.Local follows TZ when it is set).
func irssiZone() *time.Location {
	if os.Getenv("TZ") == "" {
		return time.Local
	}
	b, err := os.ReadFile("/etc/localtime")
	if err != nil {
		return time.UTC // glibc's default without the file
	}
	l, err := time.LoadLocationFromTZData("system", b)
	if err != nil {
		return time.UTC
	}
	return l
}

// sayAwayLines has gopher (with echo-message and server-time) say
// awayLines in awayChannel and returns the server time of each, from its
// echo.
func sayAwayLines(t *testing.T, gopher *rawClient) []time.Time {
	t.Helper()
	said := make([]time.Time, len(awayLines))
	for i, text := range awayLines {
		gopher.privmsg(awayChannel, text)
		echo := gopher.expect("the echo of "+text, func(m *irc.Message) bool {
			return m.Command == "PRIVMSG" && m.Prefix != nil && strings.EqualFold(m.Prefix.Name, "gopher") && m.Trailing() == text
		})
		at, err := time.Parse(time.RFC3339Nano, echo.Tags["time"])
		if err != nil {
			t.Fatalf("echo of %q: server-time %q: %v", text, echo.Tags["time"], err)
		}
		said[i] = at
	}
	return said
}
