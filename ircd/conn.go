package ircd

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// bufPool recycles read buffers: an idle connection holds none.
type bufPool struct {
	size int
	p    sync.Pool
}

func (p *bufPool) get() *[]byte {
	if b, ok := p.p.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, p.size)
	return &b
}

func (p *bufPool) put(b *[]byte) { p.p.Put(b) }

// outPool recycles send buffers; a client's queue holds one only while it
// has bytes to send.
type outPool struct{ p sync.Pool }

const outBufSize = 4096
const outBufKeep = 64 << 10

func (p *outPool) get() []byte {
	if b, ok := p.p.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, outBufSize)
}

func (p *outPool) put(b []byte) {
	if cap(b) > outBufKeep {
		return
	}
	b = b[:0]
	p.p.Put(&b)
}

type eventKind uint8

const (
	evNew    eventKind = iota // a connection was accepted
	evLines                   // buf[:n] holds complete lines
	evClosed                  // the reader stopped (err)
	evResume                  // an async step finished; continue the batch
)

type event struct {
	c    *Client
	kind eventKind
	buf  *[]byte
	n    int
	err  error
	fn   func()
}

// WaitReader is a connection that is not a socket the server can poll
// but can wait for input without holding a buffer (a WebSocket, which
// reads the next frame header first): its reader takes a pooled buffer
// only once WaitRead returns, so an idle one holds none.
type WaitReader interface {
	net.Conn
	// WaitRead blocks until Read has data (or an error) to return.
	WaitRead() error
}

// readLoop runs in its own goroutine per connection. It holds no buffer
// while waiting: with a syscall.Conn it waits for readability first and only
// then takes a pooled buffer, and so with a WaitReader (readOther). The
// socket loop is kept to one small frame: an idle client's goroutine is
// parked at the bottom of the poller's calls, and a few more bytes of frame
// there would double its stack (measured: about 1.6 KiB more per idle
// client).
func (c *Client) readLoop() {
	s := c.s
	defer s.wg.Done()
	rc := rawConn(c.conn)
	if rc == nil {
		c.readDone(c.readOther())
		return
	}
	for {
		var buf *[]byte
		var off, n int
		var err error
		rerr := rc.Read(func(fd uintptr) bool {
			if buf == nil {
				buf = s.bufs.get()
				off = copy(*buf, c.partial)
			}
			for {
				n, err = readFD(fd, (*buf)[off:])
				if err != syscall.EINTR {
					break
				}
			}
			if err == syscall.EAGAIN {
				s.bufs.put(buf)
				buf = nil
				return false
			}
			return true
		})
		if rerr != nil {
			err = rerr
		} else if err == nil && n == 0 {
			err = io.EOF
		}
		if n < 0 {
			n = 0
		}
		if err = c.afterRead(buf, off+n, n, err, true); err != nil {
			c.readDone(err)
			return
		}
	}
}

// readOther reads a connection that is not a pollable socket until an
// error: a WaitReader waits for input, then takes a pooled buffer; any
// other reads into a buffer of its own.
func (c *Client) readOther() error {
	if wr, ok := c.conn.(WaitReader); ok {
		return c.readWait(wr)
	}
	private := make([]byte, c.s.bufs.size)
	for {
		b := private
		off := copy(b, c.partial)
		n, err := c.conn.Read(b[off:])
		if err = c.afterRead(&b, off+n, n, err, false); err != nil {
			return err
		}
	}
}

// readWait is readOther's loop for a WaitReader, kept to a small frame
// like readLoop's (its goroutine parks in WaitRead while idle).
func (c *Client) readWait(wr WaitReader) error {
	s := c.s
	for {
		if err := wr.WaitRead(); err != nil {
			return err
		}
		buf := s.bufs.get()
		off := copy(*buf, c.partial)
		n, err := wr.Read((*buf)[off:])
		if err = c.afterRead(buf, off+n, n, err, true); err != nil {
			return err
		}
	}
}

// afterRead hands what one read got (n new bytes; (*buf)[:end] holds the
// partial line before them) to deliver, or gives an unused pooled buffer
// back, and returns the error that ends the loop: the read's, or io.EOF
// once the client is being closed.
func (c *Client) afterRead(buf *[]byte, end, n int, err error, pooled bool) error {
	if n > 0 {
		c.deliver(buf, end, pooled)
		if err == nil && c.closing() {
			// disconnected (QUIT, Excess flood, KILL…): whatever the
			// client still sends is not read, so a flooder costs
			// nothing more once it is gone
			err = io.EOF
		}
	} else if buf != nil && pooled {
		c.s.bufs.put(buf)
	}
	return err
}

// readDone tells the processor that c's input ended with err.
func (c *Client) readDone(err error) {
	s := c.s
	select {
	case s.events <- event{c: c, kind: evClosed, err: err}:
	case <-s.done:
		c.conn.Close()
	}
}

// deliver hands the complete lines in (*buf)[:end] to the processor and
// keeps the unterminated tail in c.partial, enforcing the line bound.
func (c *Client) deliver(buf *[]byte, end int, pooled bool) {
	s := c.s
	b := (*buf)[:end]
	last := -1
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' || b[i] == '\r' {
			last = i
			break
		}
	}
	tail := b[last+1:]
	maxLine := s.lim.LineBytes + s.lim.TagBytes
	overlong := len(tail) > maxLine
	if overlong {
		// An over-long line without an end: drop what we have, answer 417
		// once the line ends, and discard until then. The complete lines
		// before it are processed first (discarding is set after them).
		tail = nil
	}
	if len(tail) == 0 {
		c.partial = c.partial[:0]
		if cap(c.partial) > 1024 {
			c.partial = nil
		}
	} else {
		c.partial = append(c.partial[:0], tail...)
	}
	if last < 0 {
		if overlong {
			c.discarding = true
		}
		if pooled {
			s.bufs.put(buf)
		}
		return
	}
	if !pooled {
		cp := make([]byte, last+1)
		copy(cp, b)
		buf = &cp
	}
	select {
	case s.events <- event{c: c, kind: evLines, buf: buf, n: last + 1}:
	case <-s.done:
		return
	}
	select {
	case <-c.ack:
	case <-s.done:
	}
	if overlong {
		c.discarding = true // after the processor is done with the batch
	}
}

// safeErr strips a network error down to its cause (e.g. "connection
// reset by peer"): *net.OpError would name the client's address, which is
// never logged.
func safeErr(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err
		var se *os.SyscallError
		if errors.As(err, &se) {
			err = se.Err
		}
	}
	return err.Error()
}

func rawConn(conn net.Conn) syscall.RawConn {
	if !rawReads {
		return nil
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	switch conn.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// send queues b for the client. It never blocks: a client whose queue
// would pass the SendQ bound is disconnected. While the client's labeled
// command runs, b is part of its response (labeled.go).
func (c *Client) send(b []byte) {
	if c.label != nil {
		c.label.capture(c, b)
		return
	}
	c.enqueue(b)
}

// enqueue is send without the labeled-response capture.
func (c *Client) enqueue(b []byte) {
	c.qmu.Lock()
	if c.qclosed {
		c.qmu.Unlock()
		return
	}
	if c.qbytes+len(b) > c.s.lim.SendQBytes {
		c.qmu.Unlock()
		c.s.sendqExceeded(c)
		return
	}
	if c.out == nil {
		c.out = c.s.outBufs.get()
	}
	c.out = append(c.out, b...)
	c.qbytes += len(b)
	start := !c.writing
	c.writing = true
	c.qmu.Unlock()
	if start {
		c.s.wg.Add(1)
		go c.writeLoop()
	}
}

// closing reports whether the connection is being closed by the server.
func (c *Client) closing() bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return c.qclosed
}

// closeGrace bounds how long a closing connection may take to take its
// final line.
const closeGrace = 5 * time.Second

// closeWith queues the final line (after what is queued, or instead of it
// when dropQueued) and closes the connection once it is written, or after
// closeGrace at the latest.
func (c *Client) closeWith(final string, dropQueued bool) {
	c.qmu.Lock()
	if c.qclosed {
		c.qmu.Unlock()
		return
	}
	c.qclosed = true
	if dropQueued && c.out != nil {
		c.qbytes -= len(c.out)
		c.out = c.out[:0]
	}
	if c.out == nil {
		c.out = c.s.outBufs.get()
	}
	if final != "" {
		c.out = append(c.out, final...)
		c.out = append(c.out, '\r', '\n')
	}
	start := !c.writing
	c.writing = true
	c.qmu.Unlock()
	// whatever happens, the socket is gone within the grace period
	c.conn.SetDeadline(time.Now().Add(closeGrace))
	if start {
		c.s.wg.Add(1)
		go c.writeLoop()
	}
}

// writeLoop drains the send queue, coalescing everything queued since the
// last write into one syscall, and exits when the queue is empty.
func (c *Client) writeLoop() {
	s := c.s
	defer s.wg.Done()
	for {
		c.qmu.Lock()
		out := c.out
		c.out = nil
		if len(out) == 0 {
			c.writing = false
			closing := c.qclosed
			c.qmu.Unlock()
			if out != nil {
				s.outBufs.put(out)
			}
			if closing {
				c.conn.Close()
			}
			return
		}
		c.qmu.Unlock()
		_, err := c.conn.Write(out)
		c.qmu.Lock()
		c.qbytes -= len(out)
		c.qmu.Unlock()
		s.outBufs.put(out)
		if err != nil {
			c.qmu.Lock()
			c.qclosed = true
			c.out = nil
			c.writing = false
			c.qmu.Unlock()
			c.conn.Close()
			if !errors.Is(err, net.ErrClosed) {
				s.log.Debug("write failed", "client", c.id, "err", safeErr(err))
			}
			return
		}
	}
}
