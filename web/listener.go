package web

import (
	"net"
	"sync"
	"time"
)

// Listener yields the accepted WebSockets as *Conn: the IRC server serves
// it like any other listener.
type Listener struct {
	ch   chan *Conn
	done chan struct{}
	once sync.Once
}

func newListener() *Listener {
	return &Listener{ch: make(chan *Conn), done: make(chan struct{})}
}

// handoff gives c to Accept; false when the listener is closed or nothing
// accepts within timeout.
func (l *Listener) handoff(c *Conn, timeout time.Duration) bool {
	select {
	case l.ch <- c: // the IRC server is waiting in Accept: no timer
		return true
	case <-l.done:
		return false
	default:
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	case <-t.C:
		return false
	}
}

func (l *Listener) isClosed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// Accept returns the next WebSocket connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept; connections already accepted stay open.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr names the listener ("websocket").
func (l *Listener) Addr() net.Addr { return wsAddr{} }

// Origin returns the origin key of a connection Accept returned (see
// Conn.Origin); "" for any other connection.
func (l *Listener) Origin(c net.Conn) string {
	if wc, ok := c.(*Conn); ok {
		return wc.Origin()
	}
	return ""
}

type wsAddr struct{}

func (wsAddr) Network() string { return "websocket" }
func (wsAddr) String() string  { return "websocket" }
