package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/client"
	"github.com/thorchat/thorchat/config"
	"github.com/thorchat/thorchat/identity"
	"github.com/thorchat/thorchat/sasl"
)

// childEnv names the variable that turns the test binary into the daemon:
// its value is the configuration file given to run.
const childEnv = "THORCHATD_TEST_DAEMON_CONFIG"

// TestMain lets the crash test re-exec this binary as a real daemon
// process (run, exactly as main calls it).
func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		os.Exit(run([]string{"-config", cfg}, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// testKey is a real secp256k1 identity and the account it logs in as.
type testKey struct {
	priv    *secp256k1.PrivateKey
	signer  sasl.Signer
	account string
}

func newKey(t testing.TB) *testKey {
	t.Helper()
	priv, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	acct, err := identity.AccountAddress("thor", priv.PubKey().SerializeCompressed())
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{priv: priv, signer: sasl.NewKeySigner(priv), account: acct}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	// A port below the kernel's ephemeral range (32768 and up on Linux):
	// the port 0 picks, and every outgoing connection's source port, come
	// from that range, so another test's connect() could take a port
	// picked there between this probe and the daemon's bind.
	for range 100 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue // in use: try another
		}
		if err := ln.Close(); err != nil {
			t.Fatalf("close probe listener: %v", err)
		}
		return port
	}
	t.Fatal("no free port in 20000-31999 on 127.0.0.1")
	return 0
}

// testConfig describes a daemon configuration for the tests: a dev_tcp
// listener on loopback, no onion service, no flood throttling.
type testConfig struct {
	Dir      string // data_dir (the store lives in it)
	Port     int
	Opers    []string // accounts with IRC operator privileges
	Channels []config.Channel
	ChanServ string // lines of the [chanserv] table; default: no minimum account age
	// Limits holds lines of the [limits] table. Every test client comes
	// from 127.0.0.1, one origin for origin_conn_rate on the dev
	// listener, so unless Limits sets origin_conn_* the table raises
	// that rate out of the way.
	Limits string
	Extra  string // appended verbatim
}

// write writes the configuration to Dir/config.toml and returns its path.
func (tc testConfig) write(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[server]\nname = \"irc.test\"\ndata_dir = %q\nlog_level = \"warn\"\nmotd = \"hi\"\n", tc.Dir)
	fmt.Fprintf(&b, "[listen]\nonion = false\ndev_tcp = [\"127.0.0.1:%d\"]\n", tc.Port)
	b.WriteString("[flood]\nrate = 0.0\nburst = 10\nexcess = 40\n")
	b.WriteString("[flood.unregistered]\nrate = 0.0\nburst = 20\nexcess = 40\n")
	b.WriteString("[limits]\n" + tc.Limits)
	if !strings.Contains(tc.Limits, "origin_conn_") {
		b.WriteString("origin_conn_rate = 100000.0\norigin_conn_burst = 100000\n")
	}
	if len(tc.Opers) > 0 {
		b.WriteString("[opers]\naccounts = [")
		for i, a := range tc.Opers {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", a)
		}
		b.WriteString("]\n")
	}
	chanServ := tc.ChanServ
	if chanServ == "" {
		chanServ = "min_account_age = \"0s\"\n"
	}
	b.WriteString("[chanserv]\n" + chanServ)
	for _, ch := range tc.Channels {
		fmt.Fprintf(&b, "[[channel]]\nname = %q\ntopic = %q\nmodes = %q\n", ch.Name, ch.Topic, ch.Modes)
		if ch.Speak != "" {
			fmt.Fprintf(&b, "speak = %q\n", ch.Speak)
		}
	}
	b.WriteString(tc.Extra)
	path := filepath.Join(tc.Dir, "config.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (tc testConfig) addr() string { return "127.0.0.1:" + strconv.Itoa(tc.Port) }

func (tc testConfig) dbPath() string { return filepath.Join(tc.Dir, "thorchat.db") }

// newTestConfig makes a data directory and a free port.
func newTestConfig(t testing.TB) testConfig {
	t.Helper()
	return testConfig{Dir: t.TempDir(), Port: freePort(t)}
}

// syncBuffer is a bytes.Buffer safe for the daemon's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemon is the real serve path running in this process.
type daemon struct {
	t       testing.TB
	addr    string
	cancel  context.CancelFunc
	done    chan error
	logs    *syncBuffer
	stopped bool
	startup time.Duration // from calling serve to the listener accepting
}

// startDaemon loads cfgPath and runs serve until the test ends or stop
// is called; it returns once the dev_tcp listener accepts connections.
func startDaemon(t testing.TB, cfgPath string) *daemon {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, addr: cfg.Listen.DevTCP[0], done: make(chan error, 1), logs: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	log := newLogger(d.logs, cfg.Server.LogLevel)
	start := time.Now()
	go func() { d.done <- serve(ctx, cfg, log) }()
	if err := waitAccepting(d.addr, d.done, 20*time.Second); err != nil {
		cancel()
		t.Fatalf("daemon did not start: %v\nlogs:\n%s", err, d.logs.String())
	}
	d.startup = time.Since(start)
	t.Cleanup(d.stop)
	return d
}

// waitAccepting polls addr until a TCP connection succeeds, failing early
// when exited reports that the daemon stopped.
func waitAccepting(addr string, exited <-chan error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("daemon exited before listening: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing accepts on %s after %s: %w", addr, timeout, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// stop cancels serve and waits for it to return (a graceful shutdown).
func (d *daemon) stop() {
	if d.stopped {
		return
	}
	d.stopped = true
	d.cancel()
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Errorf("serve returned %v\nlogs:\n%s", err, d.logs.String())
		}
	case <-time.After(20 * time.Second):
		d.t.Errorf("serve did not return after cancel\nlogs:\n%s", d.logs.String())
	}
}

// ircClient is a client.Conn with a reader goroutine and expectations
// bounded in time.
type ircClient struct {
	t    testing.TB
	conn *client.Conn
	nick string
	port int
	in   chan *irc.Message
	done chan struct{} // closed when the reader stops
	rerr error         // the reader's error, set before done closes
	seq  int
}

const waitFor = 10 * time.Second

// errTimedOut is next's error when nothing arrived in time.
var errTimedOut = errors.New("timed out")

// dial connects and registers nick at addr, logging in with key when it
// is not nil (SASL THORCHAT-SECP256K1 during registration).
func dial(t testing.TB, addr, nick string, key *testKey) *ircClient {
	t.Helper()
	c, err := tryDial(addr, nick, key)
	if err != nil {
		t.Fatalf("dial %s as %s: %v", addr, nick, err)
	}
	c.t = t
	t.Cleanup(func() { c.conn.Close() })
	return c
}

func tryDial(addr, nick string, key *testKey) (*ircClient, error) {
	cfg := client.Config{Addr: addr, Nick: nick, Timeout: waitFor, KeepAlive: time.Minute}
	if key != nil {
		cfg.Signer = key.signer
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	conn, err := client.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	c := &ircClient{conn: conn, nick: conn.Nick(), port: port, in: make(chan *irc.Message, 4096), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			m, err := conn.ReadMessage()
			if err != nil {
				c.rerr = err
				return
			}
			c.in <- m
		}
	}()
	return c, nil
}

// send writes one raw line ("MODE #c +l 5", "TOPIC #c :some text").
func (c *ircClient) send(line string) {
	c.t.Helper()
	if err := c.trySend(line); err != nil {
		c.t.Fatalf("%s: send %q: %v", c.nick, line, err)
	}
}

func (c *ircClient) trySend(line string) error {
	head, trailing, hasTrailing := strings.Cut(line, " :")
	f := strings.Fields(head)
	params := f[1:]
	if hasTrailing {
		params = append(params, trailing)
	}
	return c.conn.Send(f[0], params...)
}

// next returns the next message or an error after timeout.
func (c *ircClient) next(timeout time.Duration) (*irc.Message, error) {
	select {
	case m := <-c.in:
		return m, nil
	default:
	}
	select {
	case m := <-c.in:
		return m, nil
	case <-c.done:
		select {
		case m := <-c.in:
			return m, nil
		default:
		}
		return nil, fmt.Errorf("connection ended: %w", c.rerr)
	case <-time.After(timeout):
		return nil, errTimedOut
	}
}

// expect reads until a message with cmd satisfying ok arrives.
func (c *ircClient) expect(cmd string, ok func(*irc.Message) bool) *irc.Message {
	c.t.Helper()
	deadline := time.Now().Add(waitFor)
	var seen []string
	for {
		m, err := c.next(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("%s: waiting for %s: %v; saw %q", c.nick, cmd, err, seen)
		}
		if m.Command == cmd && (ok == nil || ok(m)) {
			return m
		}
		if seen = append(seen, m.String()); len(seen) > 60 {
			seen = seen[30:]
		}
	}
}

// collect returns every message up to a PING round trip.
func (c *ircClient) collect() []*irc.Message {
	c.t.Helper()
	c.seq++
	tok := "sync" + strconv.Itoa(c.seq)
	c.send("PING " + tok)
	var out []*irc.Message
	for {
		m, err := c.next(waitFor)
		if err != nil {
			c.t.Fatalf("%s: collect: %v; saw %v", c.nick, err, out)
		}
		if m.Command == "PONG" && m.Trailing() == tok {
			return out
		}
		out = append(out, m)
	}
}

// chanServ sends "CS <text>" and returns ChanServ's notices up to a round
// trip.
func (c *ircClient) chanServ(text string) []string {
	c.t.Helper()
	c.send("CS :" + text)
	var out []string
	for _, m := range c.collect() {
		if m.Command == "NOTICE" && m.Name == "ChanServ" {
			out = append(out, m.Trailing())
		}
	}
	return out
}

// expectChanServ sends "CS <text>" and fails unless a notice contains want.
func (c *ircClient) expectChanServ(text, want string) []string {
	c.t.Helper()
	got := c.chanServ(text)
	for _, n := range got {
		if strings.Contains(n, want) {
			return got
		}
	}
	c.t.Fatalf("%s: CS %s: want a notice with %q, got %q", c.nick, text, want, got)
	return nil
}

// join joins ch (with key, if any) and waits for the end of NAMES.
func (c *ircClient) join(ch, key string) []*irc.Message {
	c.t.Helper()
	line := "JOIN " + ch
	if key != "" {
		line += " " + key
	}
	c.send(line)
	var out []*irc.Message
	deadline := time.Now().Add(waitFor)
	for {
		m, err := c.next(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("%s: join %s: %v; saw %v", c.nick, ch, err, out)
		}
		out = append(out, m)
		if m.Command == "366" && strings.EqualFold(m.Param(1), ch) {
			return out
		}
		if len(m.Command) == 3 && m.Command[0] == '4' && strings.EqualFold(m.Param(1), ch) {
			c.t.Fatalf("%s: join %s refused: %v", c.nick, ch, m)
		}
	}
}

// expectSelfEcho sends a MODE or TOPIC line and waits for its echo from
// this client.
func (c *ircClient) expectSelfEcho(line string) *irc.Message {
	c.t.Helper()
	c.send(line)
	f := strings.Fields(line)
	_, text, isTopic := strings.Cut(line, " :")
	return c.expect(f[0], func(m *irc.Message) bool {
		return m.Name == c.nick && strings.EqualFold(m.Param(0), f[1]) && (f[0] != "TOPIC" || !isTopic || m.Trailing() == text)
	})
}

// expectChanServMode waits for ChanServ giving mode (e.g. "+o") to nick.
func (c *ircClient) expectChanServMode(ch, mode, nick string) {
	c.t.Helper()
	c.expect("MODE", func(m *irc.Message) bool {
		return m.Name == "ChanServ" && strings.EqualFold(m.Param(0), ch) && m.Param(1) == mode && m.Param(2) == nick
	})
}

// loginNow logs a registered client in with SASL (CAP REQ sasl, then the
// THORCHAT-SECP256K1 exchange) and waits for 903.
func (c *ircClient) loginNow(key *testKey) {
	c.t.Helper()
	c.send("CAP REQ sasl")
	c.expect("CAP", func(m *irc.Message) bool { return strings.EqualFold(m.Param(1), "ACK") })
	c.send("AUTHENTICATE " + sasl.MechSecp256k1)
	mech := sasl.NewSecp256k1Client(sasl.Endpoint{Host: "127.0.0.1", Port: uint16(c.port)}, key.signer, nil)
	var asm sasl.Assembler
	for {
		m := c.expect("AUTHENTICATE", nil)
		payload, complete, err := asm.Feed(m.Param(0))
		if err != nil {
			c.t.Fatal(err)
		}
		if !complete {
			continue
		}
		resp, err := mech.Next(payload)
		if err != nil {
			c.t.Fatal(err)
		}
		for _, p := range sasl.EncodeAuthenticate(resp) {
			c.send("AUTHENTICATE " + p)
		}
		if len(payload) > 0 {
			break
		}
	}
	c.expect("903", nil)
}

// numeric returns the first message with code in msgs, failing if none.
func findNumeric(t testing.TB, msgs []*irc.Message, code string) *irc.Message {
	t.Helper()
	for _, m := range msgs {
		if m.Command == code {
			return m
		}
	}
	t.Fatalf("no %s in %v", code, msgs)
	return nil
}

// all returns every message with cmd.
func msgsWith(msgs []*irc.Message, cmd string) []*irc.Message {
	var out []*irc.Message
	for _, m := range msgs {
		if m.Command == cmd {
			out = append(out, m)
		}
	}
	return out
}
