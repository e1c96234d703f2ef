package web

import (
	"net"
	"sync"

	"github.com/thorchat/thorchat/proxyproto"
)

// ProxyListener wraps the onion service's unix listener, where tor starts
// every stream with a PROXY v1 line naming its circuit
// (HiddenServiceExportCircuitID haproxy). The line is read lazily by the
// connection's first Read — on the connection's own goroutine (Server's
// route), within ReadHeaderTimeout — so the accept loop never waits on a
// client. A connection without a valid line fails its first Read.
type ProxyListener struct{ net.Listener }

// Accept wraps the next connection.
func (l ProxyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &proxyConn{Conn: c}, nil
}

// ProxyKey is the Site.Key for a ProxyListener: the connection's circuit as
// an opaque origin key, read from its PROXY line ("" before it is read or
// when tor sent "PROXY UNKNOWN").
func ProxyKey(c net.Conn) string {
	if pc, ok := c.(*proxyConn); ok {
		return pc.key()
	}
	return ""
}

type proxyConn struct {
	net.Conn
	once   sync.Once
	err    error
	mu     sync.Mutex
	origin string
}

func (c *proxyConn) key() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.origin
}

func (c *proxyConn) Read(p []byte) (int, error) {
	c.once.Do(c.readHeader)
	if c.err != nil {
		return 0, c.err
	}
	return c.Conn.Read(p)
}

// readHeader reads the PROXY line (proxyproto.ReadOrigin: nothing past it
// is consumed).
func (c *proxyConn) readHeader() {
	origin, err := proxyproto.ReadOrigin(c.Conn)
	c.mu.Lock()
	c.origin, c.err = origin, err
	c.mu.Unlock()
}
