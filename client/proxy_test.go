package client

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// proxy forwards loopback TCP connections to a real server and lets a
// test cut them (a server that drops the link) or freeze the server's
// direction (a server that goes silent).
type proxy struct {
	ln       net.Listener
	target   string
	accepted atomic.Int32

	mu     sync.Mutex
	conns  []net.Conn
	frozen chan struct{} // non-nil while frozen; closed to thaw
	done   chan struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, done: make(chan struct{})}
	go p.serve()
	t.Cleanup(func() {
		close(p.done)
		ln.Close()
		p.dropAll()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		p.accepted.Add(1)
		go p.pipe(u, c, false)
		go p.pipe(c, u, true)
	}
}

// pipe copies src to dst; the server-to-client direction stalls while
// the proxy is frozen.
func (p *proxy) pipe(dst, src net.Conn, fromClient bool) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !fromClient {
				p.mu.Lock()
				f := p.frozen
				p.mu.Unlock()
				if f != nil {
					select {
					case <-f:
					case <-p.done:
						return
					}
				}
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// dropAll closes every proxied connection, as a server dropping links.
func (p *proxy) dropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frozen == nil {
		p.frozen = make(chan struct{})
	}
}
