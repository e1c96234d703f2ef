package ircd

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

// The ircd tests drive a real Server over loopback sockets, but ircd may
// not import bbolt, crypto or accounts, so stand-ins take the place of the
// daemon's pieces. Everything outside ircd is reached through one
// interface, Backend (backend.go); the daemon's is accounts.Service over
// bbolt. Each stand-in is listed with the real tests that cover the path
// it replaces:
//
//   - fakeClock (below) drives every timer. The daemon uses the wall clock;
//     the accounts tests use their own fake clock too.
//   - testAuth (testauth_test.go) is a fake Backend that embeds NoBackend:
//     mechanism TEST takes the account name as the whole response, name
//     prefixes pick operators, staff, failures, bans and slow logins, and
//     every login is a key login (LoginKey). Nick claims live in a map.
//     The real one, accounts.Service with secp256k1 signatures and bbolt,
//     is driven over sockets by accounts/sasl_test.go
//     (TestLoginBeforeRegistration, TestSASLReplies, TestBannedKey,
//     TestSecondLoginOtherAccount, TestSASLStageTimeout,
//     TestTooManyFailuresDisconnect), accounts/nick_test.go (TestNickClaim,
//     TestNickClaimsPersistAcrossRestart), accounts/persist_test.go,
//     accounts/operators_test.go (TestOpers), accounts/loginkind_test.go
//     (TestCredentialLoginIsOrdinaryUser: device and token logins) and
//     accounts/create_test.go (creation budget, 907, expiry); the
//     cmd/thorchatd tests log in with real signatures against the whole
//     daemon, and e2e/gochat_test.go (TestGoChatDev, TestGoChatTor) logs
//     the Go client in.
//   - operTestAuth (oper_test.go) is testAuth with FeatureOpers: it checks
//     OPER against plaintext passwords and keeps bans in a map. The real
//     bcrypt check, its refusals (491, 263) and the stored ban are covered
//     by accounts/oper_test.go (TestOperPasswordAndBan) and over sockets
//     by accounts/operflood_test.go (TestOperRefusedWithoutHashing,
//     TestOperBudget, ...); no test sends OPER to the whole daemon.
//   - jsonChannelStore (persist_test.go) is testAuth's FeatureChannels: it
//     commits registered channels to a JSON file. The bbolt store behind
//     the daemon is covered by store/channels_test.go (TestChannelCRUD,
//     TestUpdateChannelAtomic) and through the daemon by
//     cmd/thorchatd/chanserv_test.go (TestRegisteredChannelSurvivesRestart
//     and the other ChanServ tests), cmd/thorchatd/chanlimits_test.go,
//     cmd/thorchatd/crash_test.go (TestCrashKeepsAcknowledgedChanges) and
//     cmd/thorchatd/backup_test.go (TestBackupAndDump).
//   - fileAccepts (contact_test.go) keeps testAuth's ACCEPT lists in a JSON
//     file and hands them back with the login (Login.Accept). The bbolt
//     lists are covered by store/accept_test.go (TestAcceptList);
//     cmd/thorchatd/accountnames_test.go (TestNicksCannotBeAccountNames)
//     sends ACCEPT through the daemon but checks only the list in memory:
//     no test checks that the daemon brings a list back after a restart.
//
// Parts testAuth leaves to NoBackend, so no ircd test covers them against
// a backend: kept user modes (store/accounts_test.go TestSetUserModes,
// through the daemon cmd/thorchatd/usermodes_test.go TestUserModesKept),
// device credentials (accounts/devicekey_test.go,
// accounts/loginkind_test.go), linked keys (cmd/thorchatd/keylink_test.go
// TestKeyLinkKeepsAccount), account names (ParseAccount:
// cmd/thorchatd/accountnames_test.go) and the metrics Observer (a no-op
// in the ircd tests; cmd/thorchatd/metrics_test.go TestMetricsSocket).

// fakeClock drives the server's timers in the ircd tests.
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

// testServer runs a real Server on a loopback TCP listener.
type testServer struct {
	t     testing.TB
	srv   *Server
	addr  string
	clock *fakeClock
	stop  func()
}

func startServer(t testing.TB, mutate func(*Config)) *testServer {
	t.Helper()
	return startServerWith(t, mutate, &net.ListenConfig{})
}

// startServerWith is startServer with a custom listener configuration
// (e.g. a small SO_SNDBUF inherited by accepted sockets).
func startServerWith(t testing.TB, mutate func(*Config), lc *net.ListenConfig) *testServer {
	t.Helper()
	clock := newFakeClock()
	cfg := Config{
		Name:    "irc.test",
		Network: "TestNet",
		MOTD:    []string{"hello"},
		Clock:   clock,
		Tick:    5 * time.Millisecond,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { srv.Run(ctx); close(runDone) }()
	port := ln.Addr().(*net.TCPAddr).Port
	go srv.Serve(ln, Listener{Kind: "tcp", Host: "127.0.0.1", Port: port})
	ts := &testServer{t: t, srv: srv, addr: ln.Addr().String(), clock: clock}
	ts.stop = func() {
		sctx, c2 := context.WithTimeout(context.Background(), 5*time.Second)
		defer c2()
		srv.Shutdown(sctx)
		cancel()
		<-runDone
	}
	t.Cleanup(ts.stop)
	return ts
}

// testClient is a raw IRC client over a real socket.
type testClient struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	nick string
}

func (ts *testServer) dial() *testClient {
	ts.t.Helper()
	return ts.dialWith(&net.Dialer{})
}

// dialWith dials with a custom dialer (e.g. a small SO_RCVBUF).
func (ts *testServer) dialWith(d *net.Dialer) *testClient {
	ts.t.Helper()
	conn, err := d.Dial("tcp", ts.addr)
	if err != nil {
		ts.t.Fatal(err)
	}
	tc := &testClient{t: ts.t, conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
	ts.t.Cleanup(func() { conn.Close() })
	return tc
}

// connect dials and registers with nick, optionally requesting caps.
func (ts *testServer) connect(nick string, caps ...string) *testClient {
	ts.t.Helper()
	c := ts.dial()
	if len(caps) > 0 {
		c.send("CAP LS 302")
		c.send("CAP REQ :" + strings.Join(caps, " "))
		c.expect("CAP", func(m *irc.Message) bool { return m.Param(1) == "ACK" })
		c.send("CAP END")
	}
	c.send("NICK " + nick)
	c.send("USER " + nick + " 0 * :Real " + nick)
	c.nick = nick
	c.expectNumeric("001")
	c.expectEndOfMOTD()
	return c
}

func (c *testClient) send(s string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write([]byte(s + "\r\n")); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// read returns the next message, failing the test after timeout.
func (c *testClient) read(timeout time.Duration) (*irc.Message, error) {
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	l, err := c.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	return irc.ParseMessage(l)
}

// expect reads until a message with cmd satisfying ok arrives.
func (c *testClient) expect(cmd string, ok func(*irc.Message) bool) *irc.Message {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var seen []string
	for time.Now().Before(deadline) {
		m, err := c.read(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("%s: waiting for %s: %v; saw %q", c.nick, cmd, err, seen)
		}
		if m.Command == cmd && (ok == nil || ok(m)) {
			return m
		}
		seen = append(seen, m.String())
		if len(seen) > 200 {
			seen = seen[100:]
		}
	}
	c.t.Fatalf("%s: no %s; saw %q", c.nick, cmd, seen)
	return nil
}

func (c *testClient) expectNumeric(code string) *irc.Message {
	c.t.Helper()
	return c.expect(code, nil)
}

// expectNone checks that no message with cmd arrives within d (used only
// after a PING round trip has flushed everything before it).
func (c *testClient) sync() {
	c.t.Helper()
	c.send("PING :sync")
	c.expect("PONG", func(m *irc.Message) bool { return m.Param(1) == "sync" })
}

// collect returns all messages until a PING round trip completes.
func (c *testClient) collect() []*irc.Message {
	c.t.Helper()
	c.send("PING :collect")
	var out []*irc.Message
	for {
		m, err := c.read(5 * time.Second)
		if err != nil {
			c.t.Fatalf("collect: %v", err)
		}
		if m.Command == "PONG" && m.Param(1) == "collect" {
			return out
		}
		out = append(out, m)
	}
}

// sendRaw writes b as is (no CR LF added).
func (c *testClient) sendRaw(b []byte) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("sendRaw: %v", err)
	}
}

// join joins each channel and waits for its end of NAMES.
func (c *testClient) join(chans ...string) {
	c.t.Helper()
	for _, ch := range chans {
		c.send("JOIN " + ch)
		c.expect("366", func(m *irc.Message) bool { return Fold(m.Param(1)) == Fold(ch) })
	}
}

// expectClosed reads until the server closes the connection and returns
// every message seen on the way.
func (c *testClient) expectClosed() []*irc.Message {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var out []*irc.Message
	for {
		c.conn.SetReadDeadline(deadline)
		l, err := c.r.ReadString('\n')
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("%s: connection not closed; saw %d messages", c.nick, len(out))
			}
			return out
		}
		if m, perr := irc.ParseMessage(l); perr == nil {
			out = append(out, m)
		}
	}
}

// expectErrorClose waits for "ERROR :<text>" and then for the socket to
// close; text must be a prefix of the ERROR text.
func (c *testClient) expectErrorClose(text string) {
	c.t.Helper()
	msgs := c.expectClosed()
	for _, m := range msgs {
		if m.Command == "ERROR" {
			if !strings.HasPrefix(m.Trailing(), text) {
				c.t.Fatalf("%s: ERROR %q, want prefix %q", c.nick, m.Trailing(), text)
			}
			return
		}
	}
	c.t.Fatalf("%s: closed without ERROR %q; saw %v", c.nick, text, msgs)
}

// expectCode sends line and returns the first reply with the numeric code,
// failing if the round trip ends without one.
func (c *testClient) expectCode(line, code string) *irc.Message {
	c.t.Helper()
	c.send(line)
	msgs := c.collect()
	m := find(msgs, code, nil)
	if m == nil {
		c.t.Fatalf("%s: %q: no %s; got %v", c.nick, line, code, msgs)
	}
	return m
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

// filter returns the messages with cmd.
func filter(msgs []*irc.Message, cmd string) []*irc.Message {
	var out []*irc.Message
	for _, m := range msgs {
		if m.Command == cmd {
			out = append(out, m)
		}
	}
	return out
}

// errorNumerics returns the 4xx..9xx numerics in msgs.
func errorNumerics(msgs []*irc.Message) []*irc.Message {
	var out []*irc.Message
	for _, m := range msgs {
		if len(m.Command) == 3 && m.Command[0] >= '4' && m.Command[0] <= '9' {
			out = append(out, m)
		}
	}
	return out
}

// advance moves the fake clock and runs a sweep (registration and ping
// timers) on the processing goroutine, so its effects are ordered before
// anything the test sends next. The 5 ms ticker sweeps as well; sweeping
// twice at one instant is harmless.
func (ts *testServer) advance(d time.Duration) {
	ts.t.Helper()
	ts.clock.Advance(d)
	ts.do(func(s *Server) { s.sweep() })
}

// do runs f on the server's processing goroutine.
func (ts *testServer) do(f func(s *Server)) {
	ts.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.srv.Do(ctx, func() { f(ts.srv) }); err != nil {
		ts.t.Fatal(err)
	}
}

// expectEndOfMOTD waits for 376, or 422 when the server has no MOTD.
func (c *testClient) expectEndOfMOTD() {
	c.t.Helper()
	for {
		m, err := c.read(5 * time.Second)
		if err != nil {
			c.t.Fatalf("%s: waiting for end of MOTD: %v", c.nick, err)
		}
		if m.Command == "376" || m.Command == "422" {
			return
		}
	}
}
