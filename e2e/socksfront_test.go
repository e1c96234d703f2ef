package e2e

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/thorchat/thorchat/torsvc/tortest"
)

// socksFront is a SOCKS5 proxy (no authentication, CONNECT only) on
// 127.0.0.1 in front of the private network's SOCKS port, which it reaches
// with credentials of its own. Tor isolates streams by SOCKS credentials,
// so everything one front carries goes over circuits of its own: a browser
// context behind a front is one Tor Browser, whose streams to an onion all
// share one circuit. Names go to tor unresolved, as a browser with remote
// DNS sends them.
//
// The front counts the streams it carries to one host (the onion): how many
// are open now, the most open at once since reset, and how many were
// opened — what the onion service sees on that circuit, where tor closes
// the circuit past [tor] max_streams open streams.
type socksFront struct {
	t    *testing.T
	ln   net.Listener
	host string // streams to this host are counted
	up   func(ctx context.Context, network, addr string) (net.Conn, error)

	mu                    sync.Mutex
	open, maxOpen, opened int
	conns                 map[net.Conn]struct{}
}

// startSOCKSFront starts a front for the streams of one browser (isolation
// names its circuits) and counts its streams to host. A cleanup closes it
// and every stream it carries.
func startSOCKSFront(t *testing.T, n *tortest.Network, isolation, host string) *socksFront {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("SOCKS front: %v", err)
	}
	f := &socksFront{t: t, ln: ln, host: host, up: onionDialer(t, n, isolation).DialContext, conns: map[net.Conn]struct{}{}}
	go f.serve()
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for c := range f.conns {
			c.Close()
		}
		f.conns = nil
		f.mu.Unlock()
	})
	return f
}

// Addr is the front's "127.0.0.1:PORT".
func (f *socksFront) Addr() string { return f.ln.Addr().String() }

// stats returns the streams to host open now, the most open at once since
// the last reset, and the number opened since then.
func (f *socksFront) stats() (open, maxOpen, opened int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open, f.maxOpen, f.opened
}

// reset starts a new measurement: the most open at once is what is open
// now, and nothing was opened yet.
func (f *socksFront) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.maxOpen, f.opened = f.open, 0
}

func (f *socksFront) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.handle(c)
	}
}

// handle serves one SOCKS5 CONNECT: the greeting (method 0, no
// authentication), the request, the upstream dial, then both directions
// until either side closes.
func (f *socksFront) handle(c net.Conn) {
	defer c.Close()
	if !f.track(c, true) {
		return
	}
	defer f.track(c, false)
	_ = c.SetDeadline(time.Now().Add(attemptBudget))
	target, err := readSOCKSRequest(c)
	if err != nil {
		return
	}
	host, _, _ := net.SplitHostPort(target)
	ctx, cancel := context.WithTimeout(context.Background(), attemptBudget)
	up, err := f.up(ctx, "tcp", target)
	cancel()
	if err != nil {
		// general failure: the browser shows a connection error
		_, _ = c.Write([]byte{5, 1, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	defer up.Close()
	if _, err := c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0}); err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	counted := host == f.host
	if counted {
		f.count(+1)
		defer f.count(-1)
	}
	if !f.track(up, true) {
		return
	}
	defer f.track(up, false)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); up.Close(); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); c.Close(); done <- struct{}{} }()
	<-done
	<-done
}

// track adds (or removes) a connection the cleanup closes; false once the
// front is closed.
func (f *socksFront) track(c net.Conn, add bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !add {
		delete(f.conns, c)
		return true
	}
	if f.conns == nil {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *socksFront) count(d int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.open += d
	if d > 0 {
		f.opened++
	}
	f.maxOpen = max(f.maxOpen, f.open)
}

// readSOCKSRequest reads a SOCKS5 greeting, accepts "no authentication",
// and reads a CONNECT request, returning its "host:port".
func readSOCKSRequest(c net.Conn) (string, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil || hdr[0] != 5 {
		return "", fmt.Errorf("SOCKS greeting: %v", err)
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return "", err
	}
	if _, err := c.Write([]byte{5, 0}); err != nil {
		return "", err
	}
	var req [4]byte
	if _, err := io.ReadFull(c, req[:]); err != nil {
		return "", err
	}
	if req[0] != 5 || req[1] != 1 {
		_, _ = c.Write([]byte{5, 7, 0, 1, 0, 0, 0, 0, 0, 0}) // command not supported
		return "", errors.New("SOCKS: not a CONNECT")
	}
	var host string
	switch req[3] {
	case 1, 4:
		ip := make([]byte, map[byte]int{1: 4, 4: 16}[req[3]])
		if _, err := io.ReadFull(c, ip); err != nil {
			return "", err
		}
		host = net.IP(ip).String()
	case 3:
		var l [1]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return "", err
		}
		name := make([]byte, l[0])
		if _, err := io.ReadFull(c, name); err != nil {
			return "", err
		}
		host = string(name)
	default:
		return "", errors.New("SOCKS: unknown address type")
	}
	var port [2]byte
	if _, err := io.ReadFull(c, port[:]); err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:])))), nil
}
