package loadtest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/web"
)

// TestIdleWebSocket: the idle scenario holds registered clients over the
// web client's WebSocket listener (what -ws measures against the daemon).
func TestIdleWebSocket(t *testing.T) {
	addr := startWSServer(t)
	res, held, err := Idle(testContext(t), IdleConfig{Addr: addr, Clients: 20, WebSocket: true})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if res.Clients != 20 || held.Len() != 20 {
		t.Fatalf("held %d of %d", held.Len(), res.Clients)
	}
}

// startWSServer runs an ircd.Server with the limits of startServer behind
// the web package's HTTP server on a loopback listener, and returns that
// listener's address (its /ws is IRC over WebSocket).
func startWSServer(tb testing.TB) string {
	tb.Helper()
	srv, err := ircd.New(ircd.Config{Name: "bench.local", Limits: ircd.Limits{MaxClients: 20000, SendQBytes: 1 << 20}})
	if err != nil {
		tb.Fatal(err)
	}
	w, err := web.New(web.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { srv.Run(ctx); close(runDone) }()
	done := make(chan struct{}, 2)
	go func() {
		srv.Serve(w.Listener(), ircd.Listener{Kind: "websocket", Host: "bench.local"})
		done <- struct{}{}
	}()
	go func() { w.Serve(ln, web.Site{Origin: "http://" + ln.Addr().String()}); done <- struct{}{} }()
	tb.Cleanup(func() {
		w.Close()
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		srv.Shutdown(sctx)
		cancel()
		<-runDone
		<-done
		<-done
	})
	return ln.Addr().String()
}
