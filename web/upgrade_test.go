package web

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// handshake is a WebSocket opening handshake for /ws asking for binary
// (RFC 6455's sample key: the accept value is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=).
func handshake(origin, extra string) string {
	return "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: " + ProtocolBinary + "\r\nOrigin: " + origin + "\r\n" + extra + "\r\n"
}

// TestUpgradeRoutes: a handshake that opens a connection (upgraded
// without net/http) and one that follows a page request on a kept-alive
// connection (net/http's path) give the same: 101 with the subprotocol
// and the security headers, then IRC; from another origin 403 on both;
// a handshake larger than MaxHeaderBytes gets no upgrade.
func TestUpgradeRoutes(t *testing.T) {
	ts := startSite(t, testFlood)
	for _, tc := range []struct {
		name   string
		first  bool // a page request first, on the same connection
		origin string
		extra  string // more header lines
		status int    // 0: no response, or not 101
	}{
		{"opening the connection", false, ts.origin, "", http.StatusSwitchingProtocols},
		{"after a page request", true, ts.origin, "", http.StatusSwitchingProtocols},
		{"opening, another origin", false, "http://evil.example", "", http.StatusForbidden},
		{"after a page, another origin", true, "http://evil.example", "", http.StatusForbidden},
		{"opening, header too large", false, ts.origin, "X-Big: " + strings.Repeat("a", MaxHeaderBytes) + "\r\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", ts.httpAddr, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			if tc.first {
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
				resp, err := http.ReadResponse(br, nil)
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("page: %v %v", resp, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			io.WriteString(c, handshake(tc.origin, tc.extra))
			resp, err := http.ReadResponse(br, nil)
			if tc.status == 0 {
				if err == nil && resp.StatusCode == http.StatusSwitchingProtocols {
					t.Fatal("upgraded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != http.StatusSwitchingProtocols {
				return
			}
			if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
				t.Errorf("Sec-WebSocket-Accept %q", got)
			}
			if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != ProtocolBinary {
				t.Errorf("Sec-WebSocket-Protocol %q", got)
			}
			writeClientFrame(t, c, ws.OpBinary, "PING :abc")
			h, err := ws.ReadHeader(br)
			if err != nil {
				t.Fatal(err)
			}
			p := make([]byte, h.Length)
			if _, err := io.ReadFull(br, p); err != nil {
				t.Fatal(err)
			}
			if h.OpCode != ws.OpBinary || !strings.HasSuffix(string(p), "PONG web.test abc") {
				t.Fatalf("got %v %q, want a binary PONG", h.OpCode, p)
			}
		})
	}
}
