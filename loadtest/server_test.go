package loadtest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/thorchat/thorchat/ircd"
)

// startServer runs a real ircd.Server in this process on a loopback
// port, configured like the benchmark daemon, and returns its address.
func startServer(tb testing.TB) string {
	tb.Helper()
	srv, err := ircd.New(ircd.Config{
		Name: "bench.local",
		MOTD: []string{"ThorChat load test"},
		Limits: ircd.Limits{
			MaxClients: 20000,
			SendQBytes: 1 << 20,
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	serveTCP(tb, srv, ln, nil)
	return ln.Addr().String()
}

// closedAddr returns a loopback address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// serveTCP runs srv with ln as its TCP listener until the test ends, then
// shuts it down and, when after is set, runs it (closing the server's
// store) and fails the test on its error.
func serveTCP(tb testing.TB, srv *ircd.Server, ln net.Listener, after func() error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { srv.Run(ctx); close(runDone) }()
	serveDone := make(chan struct{})
	go func() {
		srv.Serve(ln, ircd.Listener{Kind: "tcp", Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port})
		close(serveDone)
	}()
	tb.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		srv.Shutdown(sctx)
		cancel()
		<-runDone
		<-serveDone
		if after != nil {
			if err := after(); err != nil {
				tb.Errorf("after the server stopped: %v", err)
			}
		}
	})
}
