package web

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// A connection whose first request is a WebSocket handshake for /ws is
// upgraded here, without net/http: net/http would allocate its 4 KiB read
// and write buffers, the request and its header maps for every WebSocket
// and never reuse the buffers of a hijacked connection. That garbage,
// about 11 KiB a WebSocket, is what pushed the daemon's heap (and so its
// memory per idle WebSocket) up. gobwas/ws's Upgrader parses the handshake
// in pooled buffers and keeps nothing. Every other connection goes to
// net/http through httpListener, the bytes read to tell them apart first.

// wsRequest is how a request line for /ws starts, up to the query or the
// protocol version; routeHead bytes are read to compare (every HTTP request
// is longer).
const (
	wsRequest = "GET /ws"
	routeHead = len(wsRequest) + 1
)

// route reads the start of c's first request, within ReadHeaderTimeout: a
// WebSocket handshake for /ws is upgraded, anything else is handed to
// net/http with the bytes read so far in front.
func (s *Server) route(c net.Conn, site Site, hl *httpListener) {
	c.SetReadDeadline(time.Now().Add(ReadHeaderTimeout))
	var head [routeHead]byte
	if _, err := io.ReadFull(c, head[:]); err != nil {
		// not even a request line (or no PROXY line before it)
		c.Close()
		return
	}
	if string(head[:len(wsRequest)]) == wsRequest && (head[len(wsRequest)] == ' ' || head[len(wsRequest)] == '?') {
		s.upgrade(c, head[:], site)
		return
	}
	pc := &prefixConn{Conn: c, pre: append([]byte(nil), head[:]...)}
	if !hl.push(pc) {
		c.Close()
	}
}

// upgrade completes the WebSocket handshake whose first bytes are head
// and hands the connection on. A request from another origin gets 403,
// one while shutting down 503, a malformed one gobwas/ws's error status;
// every response carries the security headers.
func (s *Server) upgrade(c net.Conn, head []byte, site Site) {
	c.SetWriteDeadline(time.Now().Add(WriteTimeout))
	bp := getBuf(&s.out)
	hio := &handshakeIO{conn: c, pre: head, left: MaxHeaderBytes, out: (*bp)[:0]}
	var origin []byte
	seen := false
	u := ws.Upgrader{
		Protocol: func(p []byte) bool { return string(p) == ProtocolText || string(p) == ProtocolBinary },
		OnHeader: func(k, v []byte) error {
			if !seen && bytes.EqualFold(k, []byte("Origin")) {
				seen = true
				origin = append(origin, v...)
			}
			return nil
		},
		Header: securityHeader,
		// no Negotiate: permessage-deflate stays off
	}
	hs, err := u.Upgrade(hio)
	switch {
	case !sameOrigin(string(origin), site.Origin):
		err = writeRefusal(c, http.StatusForbidden, errCrossOrigin)
	case err == nil && s.ln.isClosed():
		err = writeRefusal(c, http.StatusServiceUnavailable, errShuttingDown)
	default:
		// the 101 response, or gobwas/ws's refusal of a bad handshake
		if _, werr := c.Write(hio.out); err == nil {
			err = werr
		}
	}
	putBuf(&s.out, bp, hio.out)
	if err != nil {
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	s.handOff(c, nil, hs.Protocol == ProtocolBinary, site, c)
}

// securityHeader is setSecurityHeaders' set for the handshake response.
var securityHeader = ws.HandshakeHeaderString("Content-Security-Policy: " + ContentSecurityPolicy + "\r\n" +
	"X-Content-Type-Options: nosniff\r\n" +
	"Referrer-Policy: no-referrer\r\n" +
	"X-Frame-Options: DENY\r\n" +
	"Cross-Origin-Opener-Policy: same-origin\r\n" +
	"Cross-Origin-Resource-Policy: same-origin\r\n")

// writeRefusal answers a WebSocket request with status code and a
// plain-text reason (as http.Error would), and closes the exchange.
func writeRefusal(c net.Conn, code int, reason string) error {
	body := reason + "\n"
	resp := "HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n" +
		string(securityHeader) +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Connection: close\r\n\r\n" + body
	if _, err := io.WriteString(c, resp); err != nil {
		return err
	}
	return errRefused
}

var errRefused = errors.New("websocket request refused")

// handshakeIO is the connection as the Upgrader sees it: reads return the
// routed prefix first and at most MaxHeaderBytes in all (a client sends
// nothing after its handshake before the response); writes are held in
// out, so that a refusal can be chosen after the whole request is read.
type handshakeIO struct {
	conn net.Conn
	pre  []byte
	left int
	out  []byte
}

var errHeaderTooLarge = errors.New("websocket handshake larger than MaxHeaderBytes")

func (h *handshakeIO) Read(p []byte) (int, error) {
	if h.left <= 0 {
		return 0, errHeaderTooLarge
	}
	if len(p) > h.left {
		p = p[:h.left]
	}
	var n int
	var err error
	if len(h.pre) > 0 {
		n = copy(p, h.pre)
		h.pre = h.pre[n:]
	} else {
		n, err = h.conn.Read(p)
	}
	h.left -= n
	return n, err
}

func (h *handshakeIO) Write(p []byte) (int, error) {
	h.out = append(h.out, p...)
	return len(p), nil
}

// prefixConn is a connection for net/http whose first bytes were read by
// route: Read returns them first.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite half-closes the socket when it can (net/http does before
// closing after an error response).
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// httpListener is the listener net/http serves: the connections route
// did not upgrade, and the accept errors of the real listener (net/http
// backs off on temporary ones, and stops on the others).
type httpListener struct {
	ln   net.Listener
	ch   chan net.Conn
	errc chan error
	done chan struct{}
	once sync.Once
}

func newHTTPListener(ln net.Listener) *httpListener {
	return &httpListener{ln: ln, ch: make(chan net.Conn), errc: make(chan error), done: make(chan struct{})}
}

// acceptLoop accepts connections on the real listener and routes each on a
// goroutine of its own (the accept loop never waits on a client), until
// the listener is closed.
func (l *httpListener) acceptLoop(route func(net.Conn)) {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			select {
			case l.errc <- err:
			case <-l.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go route(c)
	}
}

// push gives c to net/http; false once the listener is closed.
func (l *httpListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

// Accept returns the next connection for net/http.
func (l *httpListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case err := <-l.errc:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close closes the real listener and stops Accept.
func (l *httpListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.ln.Close()
}

// Addr is the real listener's address.
func (l *httpListener) Addr() net.Addr { return l.ln.Addr() }
