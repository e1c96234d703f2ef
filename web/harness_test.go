package web

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/thorchat/thorchat/ircd"
)

// testSite is a real ircd.Server in this process, reachable over a real
// loopback TCP listener both directly (IRC) and through this package's
// HTTP server (the page and /ws).
type testSite struct {
	httpAddr string // host:port of the web listener
	origin   string // its own origin, http://127.0.0.1:PORT
	ircAddr  string // plain IRC on TCP, for comparisons
	web      *Server
}

func (ts *testSite) wsURL() string { return "ws://" + ts.httpAddr + "/ws" }

func startSite(t testing.TB, flood ircd.FloodClass) *testSite {
	t.Helper()
	srv, err := ircd.New(ircd.Config{
		Name:    "web.test",
		Network: "ThorChat",
		MOTD:    []string{"web test"},
		Limits:  ircd.Limits{MaxClients: 20000, SendQBytes: 1 << 20},
		Flood:   ircd.FloodOptions{Default: flood, Unregistered: flood},
	})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(Options{DefaultChannels: []string{"#thorchat"}, Network: "ThorChat"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { srv.Run(ctx); close(runDone) }()

	ircLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testSite{
		httpAddr: httpLn.Addr().String(),
		origin:   "http://" + httpLn.Addr().String(),
		ircAddr:  ircLn.Addr().String(),
		web:      w,
	}
	done := make(chan struct{}, 3)
	go func() {
		srv.Serve(ircLn, ircd.Listener{Kind: "tcp", Host: "127.0.0.1", Port: ircLn.Addr().(*net.TCPAddr).Port})
		done <- struct{}{}
	}()
	go func() {
		srv.Serve(w.Listener(), ircd.Listener{Kind: "web", Host: "127.0.0.1", Port: httpLn.Addr().(*net.TCPAddr).Port})
		done <- struct{}{}
	}()
	go func() {
		w.Serve(httpLn, Site{Origin: ts.origin, Key: func(c net.Conn) string { return c.RemoteAddr().String() }})
		done <- struct{}{}
	}()
	t.Cleanup(func() {
		w.Close()
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		srv.Shutdown(sctx)
		cancel()
		<-runDone
		for range 3 {
			<-done
		}
	})
	return ts
}

// lineConn reads an IRC connection line by line (over TCP or a client
// side Conn) with a deadline per wait.
type lineConn struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func newLineConn(t testing.TB, c net.Conn) *lineConn {
	t.Cleanup(func() { c.Close() })
	return &lineConn{t: t, conn: c, r: bufio.NewReader(c)}
}

func (lc *lineConn) send(lines ...string) {
	lc.t.Helper()
	for _, l := range lines {
		if _, err := lc.conn.Write([]byte(l + "\r\n")); err != nil {
			lc.t.Fatalf("send %q: %v", l, err)
		}
	}
}

// expect reads lines until one contains want, failing after 10 s.
func (lc *lineConn) expect(want string) string {
	lc.t.Helper()
	line, err := lc.waitFor(want, 10*time.Second)
	if err != nil {
		lc.t.Fatalf("waiting for %q: %v", want, err)
	}
	return line
}

func (lc *lineConn) waitFor(want string, d time.Duration) (string, error) {
	lc.conn.SetReadDeadline(time.Now().Add(d))
	defer lc.conn.SetReadDeadline(time.Time{})
	for {
		line, err := lc.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if strings.Contains(line, want) {
			return line, nil
		}
	}
}

func (lc *lineConn) register(nick string) {
	lc.t.Helper()
	lc.send("NICK "+nick, "USER "+nick+" 0 * :"+nick)
	lc.expect(" 001 ")
}

func dialWS(t testing.TB, ts *testSite, protocols ...string) *lineConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, ts.wsURL(), ts.origin, protocols...)
	if err != nil {
		t.Fatal(err)
	}
	return newLineConn(t, c)
}

func dialTCP(t testing.TB, ts *testSite) *lineConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", ts.ircAddr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return newLineConn(t, c)
}

var nickSeq int

func nextNick(base string) string {
	nickSeq++
	return base + strconv.Itoa(nickSeq)
}
