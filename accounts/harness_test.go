package accounts_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/accounts"
	"github.com/thorchat/thorchat/identity"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/sasl"
	"github.com/thorchat/thorchat/store"
)

// fakeClock is the only fake these tests use: the server's timers (SASL
// stage timeout, registration, ping) and account timestamps follow it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// envOptions configures one server + account service + store.
type envOptions struct {
	path   string     // store file; default a new file in t.TempDir()
	clock  *fakeClock // default a new fake clock
	policy accounts.Policy
	acfg   func(*accounts.Config)
	icfg   func(*ircd.Config)
	noSync bool
}

// env is a real ircd.Server with a real accounts.Service over a real bbolt
// file, listening on loopback TCP.
type env struct {
	t     testing.TB
	path  string
	clock *fakeClock
	db    *store.DB
	svc   *accounts.Service
	srv   *ircd.Server
	addr  string
	ep    sasl.Endpoint

	stopOnce sync.Once
	stopFn   func()
}

func startEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.path == "" {
		o.path = filepath.Join(t.TempDir(), "thorchat.db")
	}
	if o.clock == nil {
		o.clock = newFakeClock()
	}
	db, err := store.Open(context.Background(), o.path, store.Options{NoSync: o.noSync})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	acfg := accounts.Config{HRP: "thor", Store: db, Policy: o.policy, Now: o.clock.Now}
	if o.acfg != nil {
		o.acfg(&acfg)
	}
	svc, err := accounts.New(acfg)
	if err != nil {
		db.Close()
		t.Fatalf("accounts.New: %v", err)
	}
	icfg := ircd.Config{
		Name:    "irc.test",
		Network: "TestNet",
		MOTD:    []string{"hello"},
		Clock:   o.clock,
		Tick:    5 * time.Millisecond,
		Backend: svc,
	}
	if o.icfg != nil {
		o.icfg(&icfg)
	}
	srv, err := ircd.New(icfg)
	if err != nil {
		db.Close()
		t.Fatalf("ircd.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { srv.Run(ctx); close(runDone) }()
	serveDone := make(chan struct{})
	go func() { srv.Serve(ln, ircd.Listener{Kind: "tcp", Host: "127.0.0.1", Port: port}); close(serveDone) }()
	e := &env{
		t: t, path: o.path, clock: o.clock, db: db, svc: svc, srv: srv,
		addr: ln.Addr().String(),
		ep:   sasl.Endpoint{Host: "127.0.0.1", Port: uint16(port)},
	}
	e.stopFn = func() {
		sctx, c2 := context.WithTimeout(context.Background(), 5*time.Second)
		defer c2()
		srv.Shutdown(sctx)
		cancel()
		<-runDone
		ln.Close()
		<-serveDone
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	}
	t.Cleanup(e.stop)
	return e
}

// stop shuts the server down and closes the store; it is idempotent.
func (e *env) stop() { e.stopOnce.Do(e.stopFn) }

// key returns a deterministic private key for a test identity.
func key(name string) *secp256k1.PrivateKey {
	h := sha256.Sum256([]byte("thorchat accounts test key " + name))
	return secp256k1.PrivKeyFromBytes(h[:])
}

// pub33 returns the compressed public key of priv.
func pub33(priv *secp256k1.PrivateKey) []byte { return priv.PubKey().SerializeCompressed() }

// hexPub returns the compressed public key of priv in hex, an allowlist entry.
func hexPub(priv *secp256k1.PrivateKey) string { return hex.EncodeToString(pub33(priv)) }

// accountOf returns the account address of priv.
func accountOf(t testing.TB, priv *secp256k1.PrivateKey) string {
	t.Helper()
	a, err := identity.AccountAddress("thor", pub33(priv))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// client is a raw IRC client over a real socket.
type client struct {
	t    testing.TB
	e    *env
	conn net.Conn
	r    *bufio.Reader
	nick string
}

// dial connects a client whose failures are reported to t.
func (e *env) dial(t testing.TB) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &client{t: t, e: e, conn: conn, r: bufio.NewReaderSize(conn, 16<<10), nick: "*"}
}

func (c *client) send(s string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write([]byte(s + "\r\n")); err != nil {
		c.t.Fatalf("%s: send %q: %v", c.nick, s, err)
	}
}

func (c *client) read(timeout time.Duration) (*irc.Message, error) {
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	l, err := c.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	return irc.ParseMessage(l)
}

// expect reads until a message with cmd satisfying ok arrives.
func (c *client) expect(cmd string, ok func(*irc.Message) bool) *irc.Message {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var seen []string
	for {
		m, err := c.read(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("%s: waiting for %s: %v; saw %q", c.nick, cmd, err, seen)
		}
		if m.Command == cmd && (ok == nil || ok(m)) {
			return m
		}
		seen = append(seen, m.String())
		if len(seen) > 100 {
			seen = seen[50:]
		}
	}
}

// readUntil returns every message up to and including the first whose
// command is in cmds.
func (c *client) readUntil(cmds ...string) []*irc.Message {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var out []*irc.Message
	for {
		m, err := c.read(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("%s: waiting for one of %v: %v; saw %v", c.nick, cmds, err, out)
		}
		out = append(out, m)
		for _, want := range cmds {
			if m.Command == want {
				return out
			}
		}
		if len(out) > 500 {
			c.t.Fatalf("%s: no %v in 500 messages", c.nick, cmds)
		}
	}
}

// collect returns all messages until a PING round trip completes.
func (c *client) collect() []*irc.Message {
	c.t.Helper()
	c.send("PING :collect")
	var out []*irc.Message
	for {
		m, err := c.read(5 * time.Second)
		if err != nil {
			c.t.Fatalf("%s: collect: %v; saw %v", c.nick, err, out)
		}
		if m.Command == "PONG" && m.Param(1) == "collect" {
			return out
		}
		out = append(out, m)
	}
}

// expectClosed reads until the server closes the connection and returns
// every message seen on the way.
func (c *client) expectClosed() []*irc.Message {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var out []*irc.Message
	for {
		c.conn.SetReadDeadline(deadline)
		l, err := c.r.ReadString('\n')
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("%s: connection not closed; saw %v", c.nick, out)
			}
			return out
		}
		if m, perr := irc.ParseMessage(l); perr == nil {
			out = append(out, m)
		}
	}
}

// find returns the first message with cmd satisfying ok, or nil.
func find(msgs []*irc.Message, cmd string, ok func(*irc.Message) bool) *irc.Message {
	for _, m := range msgs {
		if m.Command == cmd && (ok == nil || ok(m)) {
			return m
		}
	}
	return nil
}

// saslEnd are the numerics that end one SASL attempt.
var saslEnd = []string{"903", "904", "905", "906", "907"}

// capSASL negotiates CAP LS 302 and requests sasl plus caps.
func (c *client) capSASL(caps ...string) {
	c.t.Helper()
	c.send("CAP LS 302")
	c.send("CAP REQ :" + strings.Join(append([]string{"sasl"}, caps...), " "))
	c.expect("CAP", func(m *irc.Message) bool { return m.Param(1) == "ACK" })
}

// authenticate runs one THORCHAT-SECP256K1 exchange with priv against ep
// and returns every message up to the numeric that ends the attempt.
func (c *client) authenticate(priv *secp256k1.PrivateKey, ep sasl.Endpoint) []*irc.Message {
	c.t.Helper()
	c.send("AUTHENTICATE " + sasl.MechSecp256k1)
	msgs := c.readUntil(append([]string{"AUTHENTICATE"}, saslEnd...)...)
	if last := msgs[len(msgs)-1]; last.Command != "AUTHENTICATE" || last.Param(0) != "+" {
		return msgs
	}
	cli := sasl.NewSecp256k1Client(ep, sasl.NewKeySigner(priv), nil)
	first, err := cli.Next(nil)
	if err != nil {
		c.t.Fatalf("client-first: %v", err)
	}
	for _, p := range sasl.EncodeAuthenticate(first) {
		c.send("AUTHENTICATE " + p)
	}
	challenge, more := c.readChallenge(&msgs)
	if !more {
		return msgs
	}
	sig, err := cli.Next(challenge)
	if err != nil {
		c.t.Fatalf("sign: %v", err)
	}
	for _, p := range sasl.EncodeAuthenticate(sig) {
		c.send("AUTHENTICATE " + p)
	}
	return append(msgs, c.readUntil(saslEnd...)...)
}

// readChallenge reads AUTHENTICATE lines into one decoded payload; more
// is false when the attempt ended instead (msgs then holds the end).
func (c *client) readChallenge(msgs *[]*irc.Message) (payload []byte, more bool) {
	c.t.Helper()
	var asm sasl.Assembler
	for {
		got := c.readUntil(append([]string{"AUTHENTICATE"}, saslEnd...)...)
		*msgs = append(*msgs, got...)
		last := got[len(got)-1]
		if last.Command != "AUTHENTICATE" {
			return nil, false
		}
		p, done, err := asm.Feed(last.Param(0))
		if err != nil {
			c.t.Fatalf("server challenge framing: %v", err)
		}
		if done {
			return p, true
		}
	}
}

// login authenticates and fails the test unless it ends with 903; it
// returns the 900 reply.
func (c *client) login(priv *secp256k1.PrivateKey) *irc.Message {
	c.t.Helper()
	msgs := c.authenticate(priv, c.e.ep)
	if last := msgs[len(msgs)-1]; last.Command != "903" {
		c.t.Fatalf("%s: login: got %v", c.nick, msgs)
	}
	m := find(msgs, "900", nil)
	if m == nil {
		c.t.Fatalf("%s: 903 without 900: %v", c.nick, msgs)
	}
	return m
}

// register sends CAP END, NICK and USER and waits for the end of the MOTD.
func (c *client) register(nick string) []*irc.Message {
	c.t.Helper()
	c.send("CAP END")
	c.send("NICK " + nick)
	c.send("USER " + nick + " 0 * :Real " + nick)
	msgs := c.readUntil("376", "433", "ERROR")
	if last := msgs[len(msgs)-1]; last.Command != "376" {
		c.t.Fatalf("%s: registration: %v", nick, msgs)
	}
	c.nick = nick
	return msgs
}

// connect dials, negotiates sasl and caps, logs in with priv (when not
// nil) and registers as nick.
func (e *env) connect(t testing.TB, nick string, priv *secp256k1.PrivateKey, caps ...string) *client {
	t.Helper()
	c := e.dial(t)
	c.nick = nick
	c.capSASL(caps...)
	if priv != nil {
		c.login(priv)
	}
	c.register(nick)
	return c
}

// join joins ch and waits for the end of NAMES.
func (c *client) join(ch string) []*irc.Message {
	c.t.Helper()
	c.send("JOIN " + ch)
	return c.readUntil("366")
}
