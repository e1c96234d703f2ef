package web

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// TestProxyListener: on the onion's unix socket every stream starts with
// tor's PROXY line; the page loads behind it, a WebSocket carries the
// circuit as its origin key, and a stream without the line gets nothing.
func TestProxyListener(t *testing.T) {
	w, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "http.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	const origin = "http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuv.onion"
	done := make(chan struct{})
	go func() { w.Serve(ProxyListener{Listener: ln}, Site{Origin: origin, Key: ProxyKey}); close(done) }()
	t.Cleanup(func() { w.Close(); <-done })
	const proxyLine = "PROXY TCP6 fc00:dead:beef:4dad::ab:cd ::1 1234 80\r\n"
	dial := func() net.Conn {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}

	c := dial()
	c.Write([]byte(proxyLine + "GET / HTTP/1.1\r\nHost: x.onion\r\n\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("page behind a PROXY line: %v %v", resp, err)
	}

	c = dial()
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x.onion\r\n\r\n"))
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil && resp.StatusCode == 200 {
		t.Fatal("a stream without a PROXY line got the page")
	}

	c = dial()
	c.Write([]byte(proxyLine))
	accepted := make(chan net.Conn, 1)
	go func() {
		ac, err := w.Listener().Accept()
		if err == nil {
			accepted <- ac
		}
	}()
	d := ws.Dialer{
		Header:  ws.HandshakeHeaderHTTP(http.Header{"Origin": {origin}}),
		NetDial: func(context.Context, string, string) (net.Conn, error) { return c, nil },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, _, err := d.Dial(ctx, "ws://x.onion/ws"); err != nil {
		t.Fatal(err)
	}
	select {
	case ac := <-accepted:
		defer ac.Close()
		if got := w.Listener().Origin(ac); got != "circuit/ab00cd" {
			t.Fatalf("origin key %q, want circuit/ab00cd", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the WebSocket was not handed on")
	}
}
