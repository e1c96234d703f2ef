package e2e

import (
	"context"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/thorchat/thorchat/client"
	"github.com/thorchat/thorchat/torsvc/tortest"
)

// goChatChannel is where the go-chat tests' clients meet.
const goChatChannel = "#gochat"

// sasl904 matches how weechat and irssi show a refused SASL login.
var sasl904 = regexp.MustCompile(`(?i)sasl authentication failed`)

// goChatNet says how the go-chat scenario reaches the server: over the dev
// listener, or over the onion through a private Tor network's SOCKS port.
type goChatNet struct {
	// addr is what clients dial: "127.0.0.1:PORT" or "ONION.onion:6667".
	addr string
	// socks is the SOCKS port, "" for the dev listener.
	socks string
	// torsocksConf is a torsocks.conf for socks, "" for the dev listener.
	torsocksConf string
	// dial connects a Go client to addr (directly, or through socks).
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// watcher registers a raw protocol client as nick.
	watcher func(t *testing.T, nick string) *rawClient
	// tor is the private network behind socks, nil for the dev listener.
	tor *tortest.Network
}

// TestGoChatDev runs the go-chat scenario (goChatScenario) over the dev
// listener: fast, and independent of Tor.
func TestGoChatDev(t *testing.T) {
	t.Parallel()
	requireTool(t, "weechat-headless", "weechat-headless")
	requireTool(t, "irssi", "irssi")
	requireTool(t, "tmux", "tmux")
	d := startDaemon(t, "")
	var nd net.Dialer
	goChatScenario(t, goChatNet{
		addr:    d.Addr,
		dial:    nd.DialContext,
		watcher: func(t *testing.T, nick string) *rawClient { return dialIRC(t, d.Addr, nick) },
	})
}

// goChatScenario is what `make go-chat` promises, with real clients and
// real signatures: thorchat enroll logs in with a node key and enrols a
// weechat device key and an irssi token; weechat-headless, fed only the
// lines enroll printed, logs in with ecdsa-nist256p-challenge, irssi
// (under torsocks when there is a SOCKS port) with PLAIN, both join a
// channel and talk to a watcher; the example bot, with its own key, greets
// joiners and answers !ping, and the bot command enroll printed logs in
// with the token; after REVOKE, the device key and the token are refused
// (904) on the next login, by weechat, irssi and raw logins alike.
func goChatScenario(t *testing.T, n goChatNet) {
	tools := buildGoChatTools(t)
	nodeKey, account := tools.keygen(t, "node")
	botKey, botAccount := tools.keygen(t, "bot")
	base := []string{"-key", nodeKey, "-addr", n.addr, "-timeout", "60s"}
	if n.socks != "" {
		base = append(base, "-socks", n.socks)
	}
	wee := tools.enroll(t, append(base, "-weechat-key", t.TempDir()+"/weechat.pem", "-nick", "wee")...)
	irs := tools.enroll(t, append(base, "-token", "irssi", "-nick", "irs")...)
	if wee.Account != account || irs.Account != account {
		t.Fatalf("enroll logged in as %s and %s, want %s", wee.Account, irs.Account, account)
	}

	watcher := n.watcher(t, "watcher")
	watcher.join(goChatChannel)

	// The example bot with its own key; it greets everyone who joins after it.
	botArgs := []string{"-addr", n.addr, "-key", botKey, "-channel", goChatChannel, "-nick", "pingbot"}
	if n.socks != "" {
		botArgs = append(botArgs, "-socks", n.socks)
	}
	tools.startBot(t, "thorchat-bot", botArgs...)
	watcher.expectJoin("pingbot", goChatChannel)
	watcher.expectAccount("pingbot", botAccount)

	// weechat, with exactly the printed lines.
	start := time.Now()
	t.Logf("weechat set-up printed by thorchat enroll:\n%s", strings.Join(wee.Sections["weechat"], "\n"))
	w := runWeechat(t, wee.commands(t, "weechat"))
	logOnFailure(t, "weechat server buffer", w.logPath("server", "thorchat"))
	w.waitLog("server", "thorchat", "the ECDSA signature", func(l logLine) bool {
		return strings.Contains(l.message, "signing the challenge with ECC public key")
	})
	w.waitLog("server", "thorchat", "SASL success", func(l logLine) bool {
		return strings.Contains(l.message, "SASL authentication successful")
	})
	w.waitLog("server", "thorchat", "the welcome (001)", func(l logLine) bool {
		return strings.HasPrefix(l.message, "Welcome to the ")
	})
	t.Logf("TIMING weechat logged in and registered: %.1fs", time.Since(start).Seconds())
	w.command("/join -server thorchat " + goChatChannel)
	watcher.expectJoin("wee", goChatChannel)
	watcher.expectPrivmsg("pingbot", goChatChannel, "welcome, wee")
	watcher.expectAccount("wee", account)
	w.say("thorchat", goChatChannel, "hello from weechat")
	watcher.expectPrivmsg("wee", goChatChannel, "hello from weechat")
	watcher.privmsg(goChatChannel, "hello weechat")
	w.waitMessage("thorchat", goChatChannel, "watcher", "hello weechat")
	w.say("thorchat", goChatChannel, "!ping")
	watcher.expectPrivmsg("pingbot", goChatChannel, "pong")
	w.waitMessage("thorchat", goChatChannel, "pingbot", "pong")

	// irssi, started as printed, with the printed lines typed in.
	start = time.Now()
	wrapper := irs.irssiStart(t)
	if n.torsocksConf != "" {
		requireTool(t, "torsocks", "torsocks")
		wrapper = append([]string{"env", "TORSOCKS_CONF_FILE=" + n.torsocksConf}, wrapper...)
	}
	if m := irs.irssiMapAddress(); m != nil {
		if n.tor == nil {
			t.Fatalf("the irssi set-up for the dev listener asks for a MapAddress:\n%s", irs.Raw)
		}
		torSetMapAddress(t, n.tor, m[0], m[1])
	} else if n.tor != nil {
		t.Fatalf("the irssi set-up for an onion asks for no MapAddress:\n%s", irs.Raw)
	}
	ir := runIrssi(t, irssiOptions{Nick: "irs", Wrapper: wrapper})
	for _, l := range irs.commands(t, "irssi") {
		ir.typeLine(l)
	}
	ir.waitScreen("the server's welcome (001)", welcomed.MatchString)
	t.Logf("TIMING irssi registered: %.1fs", time.Since(start).Seconds())
	watcher.expectAccount("irs", account)
	ir.typeLine("/join " + goChatChannel)
	watcher.expectJoin("irs", goChatChannel)
	watcher.expectPrivmsg("pingbot", goChatChannel, "welcome, irs")
	ir.waitJoined("irs", goChatChannel)
	ir.typeLine("hello from irssi")
	watcher.expectPrivmsg("irs", goChatChannel, "hello from irssi")
	w.waitMessage("thorchat", goChatChannel, "irs", "hello from irssi")
	ir.typeLine("!ping")
	watcher.expectPrivmsg("pingbot", goChatChannel, "pong")
	ir.waitMessage("pingbot", "pong")

	// The bot command enroll printed: PLAIN with the token.
	tools.startBot(t, "printed-bot", append(irs.botArgs(t, goChatChannel), "-nick", "tokenbot")...)
	watcher.expectJoin("tokenbot", goChatChannel)
	watcher.expectAccount("tokenbot", account)

	// Revoke both credentials; every next login with them is refused.
	for _, label := range []string{"weechat", "irssi"} {
		if out := tools.cli(t, append(append([]string{"enroll"}, base...), "-revoke", label, "-list")...); strings.Contains(out, label+" ") {
			t.Fatalf("after -revoke %s the list still has it:\n%s", label, out)
		}
	}
	dk, err := client.LoadDeviceKeyFile(wee.weechatKeyPath(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), attemptBudget)
	defer cancel()
	conn, err := n.dial(ctx, "tcp", n.addr)
	if err != nil {
		t.Fatal(err)
	}
	if got := deviceLoginOver(t, conn, account, dk); got != "904" {
		t.Fatalf("device login after REVOKE: %s, want 904", got)
	}
	if got := plainLoginOver(t, n.dial, n.addr, account, irs.token(t)); got != "904" {
		t.Fatalf("PLAIN login after REVOKE: %q, want 904", got)
	}
	w.command("/reconnect thorchat")
	w.waitLog("server", "thorchat", "weechat's refused login", func(l logLine) bool {
		return sasl904.MatchString(l.message)
	})
	ir.typeLine("/window 1")
	ir.typeLine("/reconnect")
	ir.waitScreen("irssi's refused login", sasl904.MatchString)
	if testing.Verbose() {
		if s, err := ir.screen(); err == nil {
			t.Logf("irssi after REVOKE and /reconnect:\n%s", compactScreen(s))
		}
		t.Logf("weechat after REVOKE and /reconnect:\n%s", tailFile(w.logPath("server", "thorchat"), 1500))
	}
	// Connected sessions stay (revocation acts on the next login); the
	// bot with its own key is unaffected.
	watcher.privmsg(goChatChannel, "!ping")
	watcher.expectPrivmsg("pingbot", goChatChannel, "pong")
}

// TestGoChatTor runs the go-chat scenario over Tor: a daemon with only its
// onion listener, its embedded tor joined to the shared private network,
// every client (thorchat enroll, weechat's socks5 proxy, irssi under
// torsocks, the bots, the watcher) through the network's SOCKS port to the
// onion name.
func TestGoChatTor(t *testing.T) {
	tortest.Require(t)
	requireTool(t, "weechat-headless", "weechat-headless")
	requireTool(t, "irssi", "irssi")
	requireTool(t, "tmux", "tmux")
	requireTool(t, "torsocks", "torsocks")
	start := time.Now()
	n := sharedTorNetwork(t)
	d := newOnionDaemon(t, n)
	d.start(t)
	addr := net.JoinHostPort(d.Onion, "6667")
	took := reachIRC(t, n, addr, "probe")
	t.Logf("TIMING onion reachable: %.1fs after the test started (%.1fs of probing)", time.Since(start).Seconds(), took.Seconds())
	// the test's own logins on circuits of their own, as every client
	// should (the server bounds connections per circuit)
	dial, err := client.IsolatedSOCKSDialer(n.SOCKSAddr, "e2e-checks")
	if err != nil {
		t.Fatal(err)
	}
	scenario := time.Now()
	goChatScenario(t, goChatNet{
		addr:         addr,
		socks:        n.SOCKSAddr,
		torsocksConf: writeTorsocksConf(t, n.SOCKSAddr),
		tor:          n,
		dial:         dial,
		watcher:      func(t *testing.T, nick string) *rawClient { return dialOnionIRC(t, n, addr, nick) },
	})
	t.Logf("TIMING go-chat scenario over Tor: %.1fs (whole test %.1fs)", time.Since(scenario).Seconds(), time.Since(start).Seconds())
}
