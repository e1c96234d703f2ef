package web

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// Conn is one IRC connection carried over a WebSocket (the IRCv3 WebSocket
// transport): each WebSocket message is one IRC line without CR LF. Read
// yields the client's lines each ended by "\n"; Write takes CR LF-ended
// lines and sends each as one message (a text frame for text.ircv3.net,
// a binary frame for binary.ircv3.net). To the IRC server it is a net.Conn
// like a TCP one: its line bounds, flood limits and SASL apply unchanged.
//
// An idle Conn holds no buffer: WaitRead blocks on the socket for the next
// frame header, so a reader can take a pooled buffer only when a line
// arrives. Control frames (ping, close) are answered as they come.
type Conn struct {
	raw    net.Conn
	pre    []byte // bytes the HTTP server had read past the upgrade request
	client bool   // the dialing side: masks what it sends, expects no mask
	binary bool   // binary.ircv3.net (else text.ircv3.net)
	origin string // opaque origin key for per-origin limits; never logged
	// out recycles frame assembly buffers (the server's pool; nil: none)
	out *sync.Pool

	// reader state: used by one reading goroutine at a time
	stash  [ws.MaxHeaderSize]byte // a frame header being read
	ns     int                    // bytes in stash
	hdr    ws.Header              // the current frame
	remain int64                  // its payload bytes not yet read
	pos    int                    // offset into its mask
	ctl    []byte                 // a control frame's payload, while read
	inMsg  bool                   // a fragmented message awaits continuation frames
	eol    bool                   // a message ended: "\n" is owed to the reader

	wmu       sync.Mutex // one frame sequence at a time on raw
	closeSent atomic.Bool
	closed    atomic.Bool
}

// newConn wraps an upgraded connection.
func newConn(raw net.Conn, pre []byte, client, binary bool, origin string, out *sync.Pool) *Conn {
	return &Conn{raw: raw, pre: pre, client: client, binary: binary, origin: origin, out: out}
}

// Origin returns the connection's origin key (the Tor circuit, or on a
// development listener the remote address): what per-origin limits count.
// It is as private as an address: never log it.
func (c *Conn) Origin() string { return c.origin }

// Binary reports whether binary.ircv3.net was negotiated.
func (c *Conn) Binary() bool { return c.binary }

// errProtocol is a WebSocket protocol violation by the peer; the
// connection is closed with status 1002.
var errProtocol = errors.New("websocket: protocol error")

// maxControl is the largest control frame payload (RFC 6455 5.5).
const maxControl = 125

type rawReader Conn

func (r *rawReader) Read(p []byte) (int, error) {
	c := (*Conn)(r)
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		if len(c.pre) == 0 {
			c.pre = nil
		}
		return n, nil
	}
	return c.raw.Read(p)
}

// WaitRead blocks until the peer sends something, holding no buffer: at a
// frame boundary it reads the next header's first byte into the Conn.
func (c *Conn) WaitRead() error {
	if c.remain > 0 || c.ns > 0 || c.eol || len(c.pre) > 0 {
		return nil
	}
	n, err := (*rawReader)(c).Read(c.stash[:1])
	if n == 1 {
		c.ns = 1
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return c.readErr(err)
}

// Read returns the peer's line data, each WebSocket message ended by
// "\n". It reads what the socket has into p (one read, as for TCP) and
// decodes the frames in place: headers and masks are dropped, control
// frames answered. It returns 0, nil when the bytes read held no line
// data (a ping, say).
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	w := 0
	if c.eol {
		p[0] = '\n'
		w, c.eol = 1, false
	}
	for {
		n, err := (*rawReader)(c).Read(p[w:])
		n += w
		var derr error
		w, derr = c.decode(p, w, n)
		if derr != nil {
			return w, derr
		}
		if err != nil && (w == 0 || !errors.Is(err, io.EOF)) {
			return w, c.readErr(err)
		}
		if w > 0 || (c.ns == 0 && c.remain == 0) {
			return w, nil
		}
	}
}

// decode turns the frame bytes p[r:n] into line data at p[:w...] (w <= r
// throughout: every frame has a header at least as long as the "\n" it
// adds) and returns the new w.
func (c *Conn) decode(p []byte, r, n int) (int, error) {
	w := r
	for r < n {
		if c.eol && w < r {
			p[w] = '\n'
			w++
			c.eol = false
		}
		if c.remain > 0 {
			k := int(min(c.remain, int64(n-r)))
			if c.hdr.OpCode.IsControl() {
				c.ctl = append(c.ctl, p[r:r+k]...)
			} else {
				copy(p[w:], p[r:r+k])
				if c.hdr.Masked {
					ws.Cipher(p[w:w+k], c.hdr.Mask, c.pos)
				}
				w += k
			}
			r += k
			c.pos += k
			c.remain -= int64(k)
			if c.remain == 0 {
				if err := c.endFrame(); err != nil {
					return w, err
				}
			}
			continue
		}
		c.stash[c.ns] = p[r]
		c.ns++
		r++
		h, ok, err := c.parseHeader()
		if err != nil {
			return w, err
		}
		if !ok {
			continue
		}
		if err := c.startFrame(h); err != nil {
			return w, err
		}
	}
	// bytes already in the stash (from WaitRead) complete a header here
	if c.ns > 0 && c.remain == 0 {
		if h, ok, err := c.parseHeader(); err != nil {
			return w, err
		} else if ok {
			if err := c.startFrame(h); err != nil {
				return w, err
			}
		}
	}
	if c.eol && w < len(p) {
		p[w] = '\n'
		w++
		c.eol = false
	}
	return w, nil
}

// parseHeader parses the stashed header bytes; ok is false while more are
// needed.
func (c *Conn) parseHeader() (h ws.Header, ok bool, err error) {
	b := c.stash[:c.ns]
	if len(b) < 2 {
		return h, false, nil
	}
	need := 2
	if b[1]&0x80 != 0 {
		need += 4
	}
	switch b[1] & 0x7f {
	case 126:
		need += 2
	case 127:
		need += 8
	}
	if len(b) < need {
		return h, false, nil
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] & 0x70) >> 4
	h.OpCode = ws.OpCode(b[0] & 0x0f)
	h.Masked = b[1]&0x80 != 0
	i := 2
	switch l := b[1] & 0x7f; l {
	case 126:
		h.Length = int64(binary.BigEndian.Uint16(b[2:4]))
		i = 4
	case 127:
		u := binary.BigEndian.Uint64(b[2:10])
		if u>>63 != 0 {
			return h, false, c.fail(ws.StatusProtocolError)
		}
		h.Length = int64(u)
		i = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		copy(h.Mask[:], b[i:i+4])
	}
	c.ns = 0
	return h, true, nil
}

// startFrame checks a frame header and sets up reading its payload.
func (c *Conn) startFrame(h ws.Header) error {
	if h.Rsv != 0 || h.Masked == c.client || h.OpCode.IsReserved() {
		return c.fail(ws.StatusProtocolError)
	}
	if h.OpCode.IsControl() {
		if !h.Fin || h.Length > maxControl {
			return c.fail(ws.StatusProtocolError)
		}
		c.ctl = make([]byte, 0, h.Length)
	} else {
		cont := h.OpCode == ws.OpContinuation
		if cont != c.inMsg {
			return c.fail(ws.StatusProtocolError)
		}
		c.inMsg = !h.Fin
	}
	c.hdr, c.remain, c.pos = h, h.Length, 0
	if h.Length == 0 {
		return c.endFrame()
	}
	return nil
}

// endFrame finishes a frame whose payload is read: a message's last frame
// owes "\n"; ping gets pong, close gets close.
func (c *Conn) endFrame() error {
	h := c.hdr
	if !h.OpCode.IsControl() {
		if h.Fin {
			c.eol = true
		}
		return nil
	}
	p := c.ctl
	c.ctl = nil
	if h.Masked {
		ws.Cipher(p, h.Mask, 0)
	}
	switch h.OpCode {
	case ws.OpPing:
		return c.writeFrame(ws.OpPong, p)
	case ws.OpClose:
		c.closeFrame(ws.StatusNormalClosure)
		return io.EOF
	}
	return nil
}

func (c *Conn) readErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return io.EOF
	}
	return err
}

// fail closes the connection after a protocol violation.
func (c *Conn) fail(code ws.StatusCode) error {
	c.closeFrame(code)
	c.raw.Close()
	return fmt.Errorf("%w (status %d)", errProtocol, code)
}

// Write sends each line in p (ended by LF or CR LF) as one WebSocket
// message. Text mode replaces invalid UTF-8 with U+FFFD, as text frames
// must hold UTF-8. The frames are assembled in one pooled buffer and
// written at once.
func (c *Conn) Write(p []byte) (int, error) {
	op := ws.OpText
	if c.binary {
		op = ws.OpBinary
	}
	bp := c.getOut()
	b := (*bp)[:0]
	rest := p
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		if !c.binary && !utf8.Valid(line) {
			line = bytes.ToValidUTF8(line, []byte("\uFFFD"))
		}
		b = c.appendFrame(b, op, line)
	}
	var err error
	if len(b) > 0 {
		err = c.writeRaw(b)
	}
	c.putOut(bp, b)
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeFrame writes one final frame of kind op.
func (c *Conn) writeFrame(op ws.OpCode, payload []byte) error {
	bp := c.getOut()
	b := c.appendFrame((*bp)[:0], op, payload)
	err := c.writeRaw(b)
	c.putOut(bp, b)
	return err
}

// appendFrame appends one final frame of kind op carrying payload (masked
// on the dialing side). (Frames are assembled rather than written as a
// vectored write: the poller would keep its iovec array with the socket
// for good.)
func (c *Conn) appendFrame(b []byte, op ws.OpCode, payload []byte) []byte {
	b = appendHeader(b, op, len(payload), c.client)
	start := len(b)
	b = append(b, payload...)
	if c.client {
		var mask [4]byte
		rand.Read(mask[:])
		copy(b[start-4:start], mask[:])
		ws.Cipher(b[start:], mask, 0)
	}
	return b
}

// writeRaw writes assembled frames, one frame sequence at a time.
func (c *Conn) writeRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return net.ErrClosed
	}
	_, err := c.raw.Write(b)
	return err
}

// getOut takes a frame assembly buffer from the server's pool.
func (c *Conn) getOut() *[]byte { return getBuf(c.out) }

// putOut returns the buffer bp, grown to b, to the pool (unless too big).
func (c *Conn) putOut(bp *[]byte, b []byte) { putBuf(c.out, bp, b) }

// getBuf takes a buffer from pool (nil: a new one).
func getBuf(pool *sync.Pool) *[]byte {
	if pool != nil {
		if bp, ok := pool.Get().(*[]byte); ok {
			return bp
		}
	}
	b := make([]byte, 0, 4096)
	return &b
}

// putBuf returns bp, grown to b, to pool unless it is larger than
// maxPooledOut.
func putBuf(pool *sync.Pool, bp *[]byte, b []byte) {
	if pool != nil && cap(b) <= maxPooledOut {
		*bp = b[:0]
		pool.Put(bp)
	}
}

// maxPooledOut bounds the assembly buffers kept for reuse.
const maxPooledOut = 64 << 10

// appendHeader appends a final frame's header (with room for a mask when
// masked; the caller fills it in).
func appendHeader(b []byte, op ws.OpCode, n int, masked bool) []byte {
	b = append(b, 0x80|byte(op))
	var m byte
	if masked {
		m = 0x80
	}
	switch {
	case n < 126:
		b = append(b, m|byte(n))
	case n <= 0xffff:
		b = append(b, m|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if masked {
		b = append(b, 0, 0, 0, 0)
	}
	return b
}

// closeFrame sends a close frame once, with a short deadline.
func (c *Conn) closeFrame(code ws.StatusCode) {
	if !c.closeSent.CompareAndSwap(false, true) {
		return
	}
	var body [2]byte
	binary.BigEndian.PutUint16(body[:], uint16(code))
	c.raw.SetWriteDeadline(time.Now().Add(time.Second))
	c.writeFrame(ws.OpClose, body[:])
	c.closed.Store(true)
}

// Close sends a close frame (1000) and closes the socket.
func (c *Conn) Close() error {
	c.closeFrame(ws.StatusNormalClosure)
	return c.raw.Close()
}

// LocalAddr is the socket's local address.
func (c *Conn) LocalAddr() net.Addr { return c.raw.LocalAddr() }

// RemoteAddr is the socket's remote address (on the onion socket, a unix
// socket's empty address: the origin is the circuit, see Origin).
func (c *Conn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

// SetDeadline sets the socket's deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.raw.SetDeadline(t) }

// SetReadDeadline sets the socket's read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.raw.SetReadDeadline(t) }

// SetWriteDeadline sets the socket's write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.raw.SetWriteDeadline(t) }
