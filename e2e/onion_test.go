package e2e

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/torsvc/tortest"
)

// onionChannel is where the onion test's clients meet.
const onionChannel = "#onion"

// dropBudget bounds how long after the kill of the embedded tor the
// clients that were connected through it may still see their connection
// open (the circuit teardown has to reach their tor; 3 s to 32 s measured).
const dropBudget = 90 * time.Second

// TestOnionEndToEnd runs thorchatd with only its onion listener, its
// embedded tor joined to a private Tor network, and reaches it through that
// network's SOCKS port: chat both ways, no TCP listening socket in the
// daemon, no client address in its log, the same address after a restart,
// and recovery after the embedded tor is killed. The steps share one
// network and one daemon directory and run in order; a failed step stops
// the rest.
func TestOnionEndToEnd(t *testing.T) {
	tortest.Require(t)
	n := sharedTorNetwork(t)
	d := newOnionDaemon(t, n)
	var onion, addr string
	// the texts exchanged; none may appear in the daemon's log
	var said []string
	// local ports of the clients' connections to the SOCKS port
	var clientPorts []int

	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"ChatThroughOnion", func(t *testing.T) {
			start := time.Now()
			d.start(t)
			onion = d.Onion
			addr = net.JoinHostPort(onion, "6667")
			t.Logf("TIMING daemon start -> descriptor published: %.1fs", time.Since(start).Seconds())
			took := reachIRC(t, n, addr, "probe")
			t.Logf("TIMING first reachable: %.1fs after daemon start (%.1fs after published)",
				time.Since(start).Seconds(), took.Seconds())
			said = append(said, chatOverOnion(t, n, addr, "alice", "bob", &clientPorts)...)
		}},
		{"OnlyOnionListener", func(t *testing.T) {
			// a client stays connected while the sockets are inspected
			c := dialOnionIRC(t, n, addr, "watcher")
			clientPorts = append(clientPorts, localPort(c.conn))
			checkNoTCPListener(t, d, n)
			checkLogPrivacy(t, d, said, clientPorts)
		}},
		{"SameAddressAfterRestart", func(t *testing.T) {
			oldTor, err := childTor(d.pid())
			if err != nil || oldTor == 0 {
				t.Fatalf("embedded tor of the daemon not found (pid %d, %v)", oldTor, err)
			}
			d.stop(t)
			if t.Failed() {
				t.FailNow()
			}
			waitGone(t, oldTor, 10*time.Second)
			if got := onionCommand(t, d); got != onion {
				t.Fatalf("thorchatd onion = %q, the daemon published %q", got, onion)
			}
			start := time.Now()
			d.start(t)
			if d.Onion != onion {
				t.Fatalf("after restart the daemon configured %s, want %s", d.Onion, onion)
			}
			reachIRC(t, n, addr, "again")
			t.Logf("TIMING reachable after restart: %.1fs after the new daemon started", time.Since(start).Seconds())
			said = append(said, chatOverOnion(t, n, addr, "carol", "dave", &clientPorts)...)
		}},
		{"RecoverFromTorKill", func(t *testing.T) {
			recoverFromTorKill(t, n, d, addr, &said, &clientPorts)
		}},
		{"LogPrivacyAtEnd", func(t *testing.T) {
			checkLogPrivacy(t, d, said, clientPorts)
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			return
		}
	}
}

// chatOverOnion registers two clients through the onion, joins them to
// onionChannel and exchanges channel and private messages both ways. It
// returns the texts sent and adds the clients' local ports to ports.
func chatOverOnion(t *testing.T, n *tortest.Network, addr, nickA, nickB string, ports *[]int) []string {
	t.Helper()
	a := dialOnionIRC(t, n, addr, nickA)
	b := dialOnionIRC(t, n, addr, nickB)
	*ports = append(*ports, localPort(a.conn), localPort(b.conn))
	a.join(onionChannel)
	b.join(onionChannel)
	a.expectJoin(nickB, onionChannel)
	var said []string
	for i, m := range chatMessages {
		textA := fmt.Sprintf("%s over the onion %d: %s", nickA, i, m.text)
		a.privmsg(onionChannel, textA)
		b.expectPrivmsg(nickA, onionChannel, textA)
		textB := fmt.Sprintf("%s over the onion %d: %s", nickB, i, m.text)
		b.privmsg(onionChannel, textB)
		a.expectPrivmsg(nickB, onionChannel, textB)
		said = append(said, textA, textB)
	}
	private := fmt.Sprintf("a private word from %s", nickB)
	b.privmsg(nickA, private)
	a.expectPrivmsg(nickB, nickA, private)
	return append(said, private)
}

// localPort is the client-side port of a connection to the SOCKS port.
func localPort(c net.Conn) int {
	if ta, ok := c.LocalAddr().(*net.TCPAddr); ok {
		return ta.Port
	}
	return 0
}

// checkNoTCPListener asserts that the daemon process holds no TCP socket in
// LISTEN state while its onion unix socket listens, with positive controls:
// the network's client tor (a different process) does hold LISTEN sockets,
// which the same inode mapping finds, and they are not the daemon's.
func checkNoTCPListener(t *testing.T, d *onionDaemon, n *tortest.Network) {
	t.Helper()
	all, err := tcpListeners()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no TCP LISTEN socket at all in /proc/net/tcp{,6}: the tor network's must be there")
	}
	mine, err := listenersOf(d.pid(), all)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range mine {
		t.Errorf("thorchatd (pid %d) listens on TCP: /proc/net/%s %s (port %d, inode %d)", d.pid(), l.file, l.local, l.port, l.inode)
	}
	clientTor, err := listenersOf(n.Client.PID(), all)
	if err != nil {
		t.Fatal(err)
	}
	socksPort, _ := strconv.Atoi(n.SOCKSAddr[strings.LastIndexByte(n.SOCKSAddr, ':')+1:])
	if !slices.ContainsFunc(clientTor, func(l tcpListener) bool { return l.port == socksPort }) {
		t.Errorf("control failed: the client tor (pid %d) LISTEN sockets %v do not include its SOCKS port %d", n.Client.PID(), clientTor, socksPort)
	}
	embedded, err := childTor(d.pid())
	if err != nil || embedded == 0 {
		t.Fatalf("embedded tor of the daemon not found (%d, %v)", embedded, err)
	}
	torLn, err := listenersOf(embedded, all)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(d.Dir, "data", "irc.sock")
	ok, err := unixListening(d.pid(), sock)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Errorf("thorchatd (pid %d) holds no listening unix socket at %s", d.pid(), sock)
	}
	t.Logf("TCP LISTEN sockets: %d in the namespace, %d of thorchatd (pid %d), %d of its embedded tor (pid %d), %d of the client tor",
		len(all), len(mine), d.pid(), len(torLn), embedded, len(clientTor))
}

// loopbackPortRE finds loopback host:port pairs in a log.
var loopbackPortRE = regexp.MustCompile(`(?:127\.\d+\.\d+\.\d+|\[::1\]|::1):(\d{1,5})\b`)

// circuitKeyRE finds a logged key naming a circuit (circuit=, circ_id=...).
var circuitKeyRE = regexp.MustCompile(`(?i)\bcirc[a-z_]*=`)

// checkLogPrivacy asserts that the daemon's whole log (every run) holds no
// message text, no trace of tor's PROXY line (which carries the circuit ID)
// and no client address: every loopback host:port in it must be a listening
// port of the tor network (a relay's address in tor's own output), never
// the ephemeral port of a client connection.
func checkLogPrivacy(t *testing.T, d *onionDaemon, said []string, clientPorts []int) {
	t.Helper()
	log, err := d.logSince(0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log, "onion service configured") {
		t.Fatalf("the daemon log looks empty or wrong (%d bytes)", len(log))
	}
	lower := strings.ToLower(log)
	for _, s := range said {
		if strings.Contains(log, s) {
			t.Errorf("the daemon log holds message text %q", s)
		}
	}
	for _, bad := range []string{"fc00:dead:beef", "proxy tcp6", "proxy tcp4", "->127.", "-> 127."} {
		if strings.Contains(lower, bad) {
			t.Errorf("the daemon log holds %q (client or circuit identity)", bad)
		}
	}
	if m := circuitKeyRE.FindString(log); m != "" {
		t.Errorf("the daemon log holds %q: circuit IDs must never be logged", m)
	}
	all, err := tcpListeners()
	if err != nil {
		t.Fatal(err)
	}
	listening := make(map[int]bool)
	for _, l := range all {
		listening[l.port] = true
	}
	seen := make(map[int]bool)
	for _, m := range loopbackPortRE.FindAllStringSubmatch(log, -1) {
		p, _ := strconv.Atoi(m[1])
		seen[p] = true
		if slices.Contains(clientPorts, p) {
			t.Errorf("the daemon log holds %q: a client connection's port", m[0])
		} else if !listening[p] {
			t.Errorf("the daemon log holds %q, not a listening port of the tor network", m[0])
		}
	}
	t.Logf("daemon log: %d bytes, %d distinct loopback ports mentioned (all tor network listeners), %d client ports checked",
		len(log), len(seen), len(clientPorts))
}

// onionCommand runs `thorchatd onion -config FILE` and returns its output.
func onionCommand(t *testing.T, d *onionDaemon) string {
	t.Helper()
	cmd := exec.Command(daemonBin, "onion", "-config", d.ConfigPath)
	cmd.Env = baseEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("thorchatd onion: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// recoverFromTorKill kills the daemon's embedded tor with SIGKILL while two
// clients are connected, and checks: the daemon logs the loss at ERROR and
// stays up (same pid), a new tor is started and publishes again, the
// clients' connections (whose streams lived in the killed tor) are closed
// and leave no ghost behind, and new clients reach the onion and chat.
func recoverFromTorKill(t *testing.T, n *tortest.Network, d *onionDaemon, addr string, said *[]string, ports *[]int) {
	t.Helper()
	daemonPID := d.pid()
	e := dialOnionIRC(t, n, addr, "erin")
	f := dialOnionIRC(t, n, addr, "frank")
	*ports = append(*ports, localPort(e.conn), localPort(f.conn))
	e.join(onionChannel)
	f.join(onionChannel)
	e.expectJoin("frank", onionChannel)

	oldTor := waitChildTor(t, daemonPID, 0, 5*time.Second)
	from := d.logSize(t)
	if err := syscall.Kill(oldTor, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 embedded tor %d: %v", oldTor, err)
	}
	start := time.Now()
	// Connected clients: their streams ended in the killed tor; the daemon
	// sees their unix connections close at once, the clients when the
	// circuit teardown reaches their tor. Watched from now on.
	drops := []<-chan time.Duration{watchDrop(e, start), watchDrop(f, start)}
	died := regexp.MustCompile(`level=ERROR msg="embedded tor died; restarting it" [^\n]*\btor_pid=` + strconv.Itoa(oldTor) + `\b`)
	d.waitLogSince(t, from, "the daemon to log the loss of its tor at ERROR", 30*time.Second, died.MatchString)
	t.Logf("TIMING loss of tor logged: %.1fs after kill -9", time.Since(start).Seconds())

	newTor := waitChildTor(t, daemonPID, oldTor, 30*time.Second)
	published := regexp.MustCompile(`msg="onion service descriptor published" [^\n]*\btor_pid=` + strconv.Itoa(newTor) + `\b`)
	d.waitLogSince(t, from, "the new tor to publish the descriptor", publishBudget, published.MatchString)
	t.Logf("TIMING new tor published: %.1fs after kill -9", time.Since(start).Seconds())
	reachIRC(t, n, addr, "back")
	t.Logf("TIMING reachable after tor kill: %.1fs after kill -9", time.Since(start).Seconds())
	if d.proc.exited() || d.pid() != daemonPID {
		t.Fatalf("thorchatd did not stay up (exited: %v)", d.proc.waitErr)
	}
	*said = append(*said, chatOverOnion(t, n, addr, "gina", "hank", ports)...)

	deadline := time.NewTimer(dropBudget - time.Since(start))
	defer deadline.Stop()
	for i, c := range []*rawClient{e, f} {
		select {
		case took := <-drops[i]:
			t.Logf("TIMING %s's connection closed: %.1fs after kill -9", c.nick, took.Seconds())
		case <-deadline.C:
			t.Errorf("%s: connection still open %v after kill -9 (its stream lived in the killed tor)", c.nick, dropBudget)
		}
	}
	// the dropped clients left no ghost behind
	g := dialOnionIRC(t, n, addr, "ivy")
	for _, nick := range []string{"erin", "frank"} {
		g.send("WHOIS " + nick)
		g.expect("401 no such nick "+nick, func(m *irc.Message) bool {
			return m.Command == "401" && strings.EqualFold(m.Param(1), nick)
		})
	}
}
