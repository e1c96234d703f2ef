package web

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/thorchat/thorchat/ircd"
)

var testFlood = ircd.FloodClass{Rate: 2, Burst: 10, Excess: 40}

// TestRegisterOverWebSocket: a client registers, joins and talks to a TCP
// client, each line one WebSocket message.
func TestRegisterOverWebSocket(t *testing.T) {
	ts := startSite(t, testFlood)
	w := dialWS(t, ts, ProtocolText)
	w.register("webby")
	w.send("JOIN #thorchat")
	w.expect("JOIN")
	tc := dialTCP(t, ts)
	tc.register("tcpy")
	tc.send("JOIN #thorchat")
	tc.expect(" 366 ")
	tc.send("PRIVMSG #thorchat :hello ümlaut")
	if got := w.expect("PRIVMSG #thorchat"); !strings.HasSuffix(got, ":hello ümlaut") {
		t.Fatalf("web client got %q", got)
	}
	w.send("PRIVMSG #thorchat :from the web")
	tc.expect(":from the web")
}

// rawDial opens a WebSocket and returns the raw socket, to look at frames.
func rawDial(t *testing.T, ts *testSite, origin string, protocols ...string) (net.Conn, ws.Handshake, error) {
	t.Helper()
	var status int
	d := ws.Dialer{
		Protocols:     protocols,
		Header:        ws.HandshakeHeaderHTTP(http.Header{"Origin": {origin}}),
		OnStatusError: func(code int, _ []byte, _ io.Reader) { status = code },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, hs, err := d.Dial(ctx, ts.wsURL())
	if err != nil {
		return nil, hs, &StatusError{Code: status, Err: err}
	}
	t.Cleanup(func() { c.Close() })
	return c, hs, nil
}

// readFrame reads one server frame (which must not be masked).
func readFrame(t *testing.T, c net.Conn) ws.Frame {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	h, err := ws.ReadHeader(c)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	if h.Masked {
		t.Fatal("server frame is masked")
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c, p); err != nil {
		t.Fatal(err)
	}
	return ws.Frame{Header: h, Payload: p}
}

func writeClientFrame(t *testing.T, c net.Conn, op ws.OpCode, payload string) {
	t.Helper()
	f := ws.MaskFrame(ws.NewFrame(op, true, []byte(payload)))
	if err := ws.WriteFrame(c, f); err != nil {
		t.Fatal(err)
	}
}

// TestSubprotocols: text.ircv3.net and binary.ircv3.net are negotiated as
// asked (first supported in the client's order), none asked is text, and
// every server message is one frame holding one line without CR LF.
func TestSubprotocols(t *testing.T) {
	ts := startSite(t, testFlood)
	for _, tc := range []struct {
		name   string
		ask    []string
		want   string
		opcode ws.OpCode
	}{
		{"none asked: text", nil, "", ws.OpText},
		{"text", []string{ProtocolText}, ProtocolText, ws.OpText},
		{"binary", []string{ProtocolBinary}, ProtocolBinary, ws.OpBinary},
		{"binary preferred", []string{ProtocolBinary, ProtocolText}, ProtocolBinary, ws.OpBinary},
		{"text preferred", []string{ProtocolText, ProtocolBinary}, ProtocolText, ws.OpText},
		{"unknown then text", []string{"irc", ProtocolText}, ProtocolText, ws.OpText},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, hs, err := rawDial(t, ts, ts.origin, tc.ask...)
			if err != nil {
				t.Fatal(err)
			}
			if hs.Protocol != tc.want {
				t.Fatalf("negotiated %q, want %q", hs.Protocol, tc.want)
			}
			writeClientFrame(t, c, ws.OpText, "PING :abc")
			f := readFrame(t, c)
			if f.Header.OpCode != tc.opcode || !f.Header.Fin {
				t.Fatalf("frame opcode %v fin %v, want %v", f.Header.OpCode, f.Header.Fin, tc.opcode)
			}
			if got := string(f.Payload); !strings.HasSuffix(got, "PONG web.test abc") || strings.ContainsAny(got, "\r\n") {
				t.Fatalf("payload %q: want one PONG line without CR LF", got)
			}
		})
	}
}

// TestControlFrames: a ping frame gets a pong with its payload, a close
// frame gets a close frame and the connection ends; an unmasked client
// frame is a protocol error (1002).
func TestControlFrames(t *testing.T) {
	ts := startSite(t, testFlood)
	c, _, err := rawDial(t, ts, ts.origin, ProtocolText)
	if err != nil {
		t.Fatal(err)
	}
	writeClientFrame(t, c, ws.OpPing, "hi")
	if f := readFrame(t, c); f.Header.OpCode != ws.OpPong || string(f.Payload) != "hi" {
		t.Fatalf("got %v %q, want pong \"hi\"", f.Header.OpCode, f.Payload)
	}
	writeClientFrame(t, c, ws.OpClose, string(ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
	if f := readFrame(t, c); f.Header.OpCode != ws.OpClose {
		t.Fatalf("got %v, want close", f.Header.OpCode)
	}

	c2, _, err := rawDial(t, ts, ts.origin, ProtocolText)
	if err != nil {
		t.Fatal(err)
	}
	ws.WriteFrame(c2, ws.NewTextFrame([]byte("NICK x"))) // not masked
	f := readFrame(t, c2)
	if f.Header.OpCode != ws.OpClose {
		t.Fatalf("got %v, want close", f.Header.OpCode)
	}
	if code, _ := ws.ParseCloseFrameData(f.Payload); code != ws.StatusProtocolError {
		t.Fatalf("close status %d, want 1002", code)
	}
}

// TestOrigin: only the server's own origin may open a WebSocket.
func TestOrigin(t *testing.T) {
	ts := startSite(t, testFlood)
	other := "http://127.0.0.1:1"
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{ts.origin, true},
		{strings.ToUpper(ts.origin), true},
		{"", false},
		{"null", false},
		{other, false},
		{"http://evil.example", false},
		{"https://" + ts.httpAddr, false},
		{ts.origin + ".evil.example", false},
		{"http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuv.onion", false},
	} {
		_, _, err := rawDial(t, ts, tc.origin, ProtocolText)
		if tc.ok && err != nil {
			t.Errorf("origin %q: %v", tc.origin, err)
		}
		if !tc.ok {
			var se *StatusError
			if !errors.As(err, &se) || se.Code != http.StatusForbidden {
				t.Errorf("origin %q: got %v, want HTTP 403", tc.origin, err)
			}
		}
	}
}

// TestLineBounds: a message longer than the IRC line bound gets 417 like
// on TCP, and the connection keeps working; two lines in one message are
// two lines, each bounded and counted.
func TestLineBounds(t *testing.T) {
	ts := startSite(t, testFlood)
	for _, tr := range []string{"ws", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			var c *lineConn
			if tr == "ws" {
				c = dialWS(t, ts, ProtocolText)
			} else {
				c = dialTCP(t, ts)
			}
			c.register("bound" + tr)
			c.send("PRIVMSG bound" + tr + " :" + strings.Repeat("a", 600))
			c.expect(" 417 ")
			c.send("PING :still")
			c.expect("PONG")
		})
	}
}

// TestFloodLikeTCP: a client that floods over WebSocket is throttled and
// then disconnected ("Excess flood") exactly like a TCP one.
func TestFloodLikeTCP(t *testing.T) {
	ts := startSite(t, ircd.FloodClass{Rate: 1, Burst: 5, Excess: 20})
	for _, tr := range []string{"ws", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			var c *lineConn
			if tr == "ws" {
				c = dialWS(t, ts, ProtocolBinary)
			} else {
				c = dialTCP(t, ts)
			}
			c.register("flood" + tr)
			start := time.Now()
			var lines []string
			for i := range 100 {
				lines = append(lines, "PRIVMSG flood"+tr+" :flood "+strings.Repeat("x", i%7))
			}
			c.conn.Write([]byte(strings.Join(lines, "\r\n") + "\r\n"))
			got, err := c.waitFor("ERROR", 20*time.Second)
			if err != nil {
				t.Fatalf("no ERROR after flooding: %v", err)
			}
			if !strings.Contains(got, "Excess flood") {
				t.Fatalf("got %q, want Excess flood", got)
			}
			if time.Since(start) > 15*time.Second {
				t.Fatalf("took %v", time.Since(start))
			}
		})
	}
}
