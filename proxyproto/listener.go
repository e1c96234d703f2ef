package proxyproto

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// Listener defaults.
const (
	// DefaultTimeout bounds reading one PROXY header.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxPending bounds connections whose header is being read;
	// more wait in the kernel's accept backlog.
	DefaultMaxPending = 256
)

// Options configures a Listener.
type Options struct {
	// Timeout bounds reading one header (DefaultTimeout when 0).
	Timeout time.Duration
	// MaxPending bounds headers read at once (DefaultMaxPending when 0).
	MaxPending int
	// Refuse is written (with a short deadline) to a connection whose
	// header is missing or invalid before it is closed, e.g. an IRC ERROR
	// line.
	Refuse []byte
}

// Listener reads the PROXY header of every connection accepted on an
// inner listener before handing the connection on: the IRC server behind
// it never sees the header, only an opaque origin key (Origin) for its
// per-origin limits. Each header is read by its own goroutine, off the
// accept loop, at most MaxLine bytes within Timeout and nothing past the
// line, so the connection handed on is the inner listener's own (a
// *net.UnixConn stays one) and starts at the client's first byte.
type Listener struct {
	inner net.Listener
	opts  Options
	ready chan net.Conn
	sem   chan struct{}
	done  chan struct{}
	once  sync.Once

	mu      sync.Mutex
	origins map[net.Conn]string // handed on, not yet asked for
	err     error               // the inner listener's final Accept error
}

// NewListener starts reading headers from connections accepted on inner.
func NewListener(inner net.Listener, opts Options) *Listener {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	l := &Listener{
		inner:   inner,
		opts:    opts,
		ready:   make(chan net.Conn),
		sem:     make(chan struct{}, opts.MaxPending),
		done:    make(chan struct{}),
		origins: map[net.Conn]string{},
	}
	go l.acceptLoop()
	return l
}

func (l *Listener) acceptLoop() {
	var delay time.Duration
	for {
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return
		}
		conn, err := l.inner.Accept()
		if err != nil {
			<-l.sem
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			l.mu.Lock()
			l.err = err
			l.mu.Unlock()
			l.Close()
			return
		}
		delay = 0
		go l.readHeader(conn)
	}
}

// readHeader reads conn's header and hands conn on, or refuses it.
func (l *Listener) readHeader(conn net.Conn) {
	defer func() { <-l.sem }()
	conn.SetReadDeadline(time.Now().Add(l.opts.Timeout))
	origin, err := ReadOrigin(conn)
	conn.SetReadDeadline(time.Time{})
	if err != nil {
		if len(l.opts.Refuse) > 0 {
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			conn.Write(l.opts.Refuse)
		}
		conn.Close()
		return
	}
	l.mu.Lock()
	l.origins[conn] = origin
	l.mu.Unlock()
	select {
	case l.ready <- conn:
	case <-l.done:
		l.mu.Lock()
		delete(l.origins, conn)
		l.mu.Unlock()
		conn.Close()
	}
}

// ReadOrigin reads one PROXY v1 line from r, one byte at a time so that
// nothing past it is consumed, and returns the origin key: the circuit
// for tor's lines, "" for "PROXY UNKNOWN". The Listener uses it, and so
// does a server that reads the line lazily on its own goroutine (web).
func ReadOrigin(r io.Reader) (string, error) {
	var buf [MaxLine]byte
	n := 0
	for {
		if n == len(buf) {
			return "", errors.New("proxyproto: line too long")
		}
		if _, err := io.ReadFull(r, buf[n:n+1]); err != nil {
			return "", err
		}
		n++
		if buf[n-1] == '\n' {
			break
		}
	}
	if n < 2 || buf[n-2] != '\r' {
		return "", ErrNoHeader
	}
	line := string(buf[:n-2])
	if line == "PROXY UNKNOWN" {
		return "", nil
	}
	id, err := ParseLine(line)
	if err != nil {
		return "", err
	}
	return OriginKey(id), nil
}

// OriginKey is the opaque origin key of a circuit ID ("" for none).
func OriginKey(circuit uint32) string {
	if circuit == 0 {
		return ""
	}
	return "circuit/" + strconv.FormatUint(uint64(circuit), 16)
}

// Accept returns the next connection whose header was valid.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		l.mu.Lock()
		err := l.err
		l.mu.Unlock()
		if err == nil {
			err = net.ErrClosed
		}
		return nil, err
	}
}

// Origin returns (and forgets) the origin key of a connection Accept
// returned: where it came from, for per-origin limits, never to be logged.
func (l *Listener) Origin(conn net.Conn) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	o := l.origins[conn]
	delete(l.origins, conn)
	return o
}

// Close closes the inner listener; connections whose header is being
// read are closed.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

// Addr is the inner listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }
