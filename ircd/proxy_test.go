package ircd

import (
	"bufio"
	"context"
	"net"
	"testing"
	"time"

	"github.com/thorchat/thorchat/proxyproto"
)

// startProxyServer serves a loopback listener wired like the onion one:
// every connection starts with tor's PROXY v1 line, which the
// proxyproto.Listener reads and turns into the connection's origin.
func startProxyServer(t *testing.T, maxPerCircuit int) *testServer {
	t.Helper()
	return startProxyServerWith(t, func(c *Config) { c.Limits.MaxPerCircuit = maxPerCircuit })
}

// startProxyServerWith is startProxyServer with the configuration changed
// by mutate.
func startProxyServerWith(t *testing.T, mutate func(*Config)) *testServer {
	t.Helper()
	clock := newFakeClock()
	cfg := Config{Name: "irc.test", Clock: clock, Tick: 5 * time.Millisecond}
	mutate(&cfg)
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// the host reads tor's PROXY header before ircd sees the connection
	ln := proxyproto.NewListener(inner, proxyproto.Options{Refuse: []byte("ERROR :Closing Link: bad PROXY header\r\n")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	go srv.Serve(ln, Listener{Kind: "onion", Host: "x.onion", Port: 6667, Origin: ln.Origin, OriginKind: "Tor circuit"})
	ts := &testServer{t: t, srv: srv, addr: ln.Addr().String(), clock: clock}
	t.Cleanup(func() {
		sctx, c2 := context.WithTimeout(context.Background(), 5*time.Second)
		defer c2()
		srv.Shutdown(sctx)
		cancel()
		<-done
	})
	return ts
}

func (ts *testServer) dialCircuit(circuit string, nick string) *testClient {
	ts.t.Helper()
	c := ts.dial()
	c.nick = nick
	c.sendRaw([]byte("PROXY TCP6 fc00:dead:beef:4dad::" + circuit + " ::1 65535 6667\r\n"))
	return c
}

func TestProxyHeaderAndCircuitLimit(t *testing.T) {
	ts := startProxyServer(t, 2)
	a := ts.dialCircuit("0:2a", "a1")
	a.send("NICK a1")
	a.send("USER a 0 * :a")
	a.expectNumeric("001")
	b := ts.dialCircuit("0:2a", "a2")
	b.send("NICK a2")
	b.send("USER a 0 * :a")
	b.expectNumeric("001")
	// a third connection over the same circuit is refused…
	c := ts.dialCircuit("0:2a", "a3")
	c.send("NICK a3")
	c.expectErrorClose("Closing Link: Too many connections over one Tor circuit")
	// …another circuit is not
	d := ts.dialCircuit("1:0", "b1")
	d.send("NICK b1")
	d.send("USER b 0 * :b")
	d.expectNumeric("001")
	// a slot frees when a connection on the circuit quits
	a.send("QUIT")
	a.expectClosed()
	e := ts.dialCircuit("0:2a", "a4")
	e.send("NICK a4")
	e.send("USER a 0 * :a")
	e.expectNumeric("001")
}

func TestProxyHeaderRequired(t *testing.T) {
	ts := startProxyServer(t, 4)
	tests := []struct{ name, first string }{
		{"plain IRC instead of PROXY", "NICK x"},
		{"garbage address", "PROXY TCP6 not-an-address ::1 1 2"},
		{"short", "PROXY TCP6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ts.dial()
			c.sendRaw([]byte(tt.first + "\r\n"))
			c.expectErrorClose("Closing Link: bad PROXY header")
		})
	}
	// PROXY UNKNOWN (no circuit) is accepted
	c := ts.dial()
	c.sendRaw([]byte("PROXY UNKNOWN\r\nNICK u\r\nUSER u 0 * :u\r\n"))
	c.r = bufio.NewReader(c.conn)
	c.expectNumeric("001")
}
