//go:build linux

package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/thorchat/thorchat/sasl"
)

// hasEpollClient reports whether epollLogins exists on this system.
const hasEpollClient = true

// Login states of one epoll connection.
const (
	esConnecting    uint8 = iota // TCP connect in progress (EPOLLOUT)
	esWantPlus                   // sent the mechanism, waiting for "AUTHENTICATE +"
	esWantChallenge              // sent client-first, waiting for the challenge
	esWant903                    // sent the signature and CAP END
	esWantMOTD                   // logged in, waiting for the end of the MOTD
)

// econn is one in-flight login of epollLogins. Its buffer is allocated
// once per slot and reused.
type econn struct {
	fd       int
	slot     int32 // index in epollRun.slots, the epoll event's data
	state    uint8
	i        int64
	start    time.Time
	deadline time.Time
	cnonce   [sasl.NonceLen]byte
	buf      []byte
	r, w     int
}

// epollRun is the state of one epollLogins call.
type epollRun struct {
	ctx      context.Context
	target   syscall.Sockaddr
	domain   int
	ep       sasl.Endpoint
	keys     []loginKey
	presigs  []presig // one per login, made before the clock starts
	nickBase string
	epfd     int
	epf      *os.File        // epfd, registered with Go's poller
	rc       syscall.RawConn // epf's, to wait for epfd's readiness
	slots    []econn
	free     []int32
	st       workerStats
	maxFail  int64
}

// epollTarget turns the login target into a socket address: the unix
// socket when one is set, else Addr (a loopback IP or localhost).
func epollTarget(cfg LoginConfig) (syscall.Sockaddr, int, error) {
	if cfg.Unix != "" {
		return &syscall.SockaddrUnix{Name: cfg.Unix}, syscall.AF_UNIX, nil
	}
	if err := CheckLoopback(cfg.Addr); err != nil {
		return nil, 0, err
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, 0, fmt.Errorf("address %q: %w", cfg.Addr, err)
	}
	if host == "localhost" { // the one name CheckLoopback allows
		host = "127.0.0.1"
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(host, port))
	if err != nil {
		return nil, 0, fmt.Errorf("address %q: %w", cfg.Addr, err)
	}
	if a := ap.Addr().Unmap(); a.Is4() {
		return &syscall.SockaddrInet4{Addr: a.As4(), Port: int(ap.Port())}, syscall.AF_INET, nil
	}
	return &syscall.SockaddrInet6{Addr: ap.Addr().As16(), Port: int(ap.Port())}, syscall.AF_INET6, nil
}

// epollLogins makes n logins with keys[i % len(keys)], at most conc at a
// time, from this one goroutine: non-blocking sockets and epoll, no
// goroutine or net.Conn per connection, and signatures from nonces made
// before the clock starts (presign). The exchange is the same as
// loginConn.login's, so the server sees the same bytes and verifies a
// genuine signature; the load tool's own cost per login is what shrinks,
// which matters when both share the machine's cores.
func epollLogins(ctx context.Context, cfg LoginConfig, ep sasl.Endpoint, keys []loginKey, n int, nickBase string) (workerStats, error) {
	target, domain, err := epollTarget(cfg)
	if err != nil {
		return workerStats{}, fmt.Errorf("login: %w", err)
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return workerStats{}, fmt.Errorf("login: epoll: %w", err)
	}
	// The epoll set is itself waited on through Go's poller (an epoll fd
	// is readable while it has events), so this goroutine never blocks a
	// thread and its P in epoll_wait: the tool stays cheap even when it
	// shares a runtime with the server, as in BenchmarkLogin.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return workerStats{}, fmt.Errorf("login: epoll: %w", err)
	}
	epf := os.NewFile(uintptr(epfd), "epoll")
	defer epf.Close()
	rc, err := epf.SyscallConn()
	if err != nil {
		return workerStats{}, fmt.Errorf("login: epoll: %w", err)
	}
	ps, err := newPresigs(n)
	if err != nil {
		return workerStats{}, fmt.Errorf("login: %w", err)
	}
	conc := min(cfg.Concurrency, n)
	r := &epollRun{ctx: ctx, target: target, domain: domain, ep: ep, keys: keys, presigs: ps, nickBase: nickBase,
		epfd: epfd, epf: epf, rc: rc, slots: make([]econn, conc), maxFail: int64(max(n/100, 10))}
	for i := range r.slots {
		r.slots[i] = econn{fd: -1, slot: int32(i), buf: make([]byte, 8<<10)}
		r.free = append(r.free, int32(i))
	}
	cpu := StartCPU(cfg.ServerPID)
	start := time.Now()
	r.run(n)
	r.st.elapsed = time.Since(start)
	r.st.cpu = cpu.Stop()
	return r.st, nil
}

// run drives the logins until n have ended, too many failed, or ctx ends.
func (r *epollRun) run(n int) {
	events := make([]syscall.EpollEvent, 128)
	var next int64
	lastSweep := time.Now()
	for {
		for len(r.free) > 0 && next < int64(n) && r.st.failed <= r.maxFail && r.ctx.Err() == nil {
			si := r.free[len(r.free)-1]
			r.free = r.free[:len(r.free)-1]
			if !r.launch(si, next) {
				// the socket could not be opened or connected now: the
				// slot is free again; try this login once more later
				r.free = append(r.free, si)
				break
			}
			next++
		}
		if len(r.free) == len(r.slots) { // nothing in flight
			if next >= int64(n) || r.st.failed > r.maxFail || r.ctx.Err() != nil {
				return
			}
		}
		nev, err := r.wait(events)
		if err != nil {
			r.fail(fmt.Errorf("epoll wait: %w", err))
			r.abortAll()
			return
		}
		for _, ev := range events[:nev] {
			c := &r.slots[ev.Fd]
			if c.fd < 0 {
				continue
			}
			if err := r.handle(c, ev.Events); err != nil {
				r.end(c, err)
			}
		}
		if now := time.Now(); now.Sub(lastSweep) > 100*time.Millisecond || r.ctx.Err() != nil {
			lastSweep = now
			for i := range r.slots {
				c := &r.slots[i]
				if c.fd >= 0 && (now.After(c.deadline) || r.ctx.Err() != nil) {
					r.end(c, fmt.Errorf("login %d: timed out in state %d", c.i, c.state))
				}
			}
		}
	}
}

// wait returns the ready events, after at most about 20 ms.
func (r *epollRun) wait(events []syscall.EpollEvent) (int, error) {
	if err := r.epf.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		return 0, err
	}
	var nev int
	var werr error
	err := r.rc.Read(func(fd uintptr) bool {
		nev, werr = syscall.EpollWait(int(fd), events, 0)
		if werr == syscall.EINTR {
			nev, werr = 0, nil
		}
		return nev > 0 || werr != nil
	})
	if werr != nil {
		return 0, werr
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, err
	}
	return max(nev, 0), nil
}

// launch opens slot si's socket for login i and starts the exchange. It
// returns false (and counts nothing) when the connection must be retried;
// true when login i is under way or has failed (counted, slot free again).
// A slot is in use exactly while its login is in flight.
func (r *epollRun) launch(si int32, i int64) bool {
	c := &r.slots[si]
	fd, err := syscall.Socket(r.domain, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		r.fail(fmt.Errorf("socket: %w", err))
		r.free = append(r.free, si)
		return true
	}
	*c = econn{fd: fd, slot: si, i: i, start: time.Now(), buf: c.buf}
	c.deadline = c.start.Add(opTimeout)
	if r.domain != syscall.AF_UNIX {
		// close with a reset: no TIME_WAIT entry per login (see dial)
		if err := syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0}); err != nil {
			r.end(c, fmt.Errorf("linger: %w", err))
			return true
		}
	}
	err = syscall.Connect(fd, r.target)
	switch {
	case err == nil:
		c.state = esWantPlus
	case err == syscall.EINPROGRESS:
		c.state = esConnecting
	case err == syscall.EAGAIN: // unix listener's backlog is full
		syscall.Close(fd)
		c.fd = -1
		return false
	default:
		r.end(c, fmt.Errorf("connect: %w", err))
		return true
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: si}
	if c.state == esConnecting {
		ev.Events = syscall.EPOLLOUT
	}
	if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		r.end(c, fmt.Errorf("epoll add: %w", err))
		return true
	}
	if c.state == esWantPlus {
		if err := r.sendPrelude(c); err != nil {
			r.end(c, err)
		}
	}
	return true
}

// sendPrelude writes loginPrelude, as loginConn.login does.
func (r *epollRun) sendPrelude(c *econn) error {
	return writeAll(c.fd, loginPrelude(r.nickBase+strconv.FormatInt(c.i, 10)))
}

// writeAll writes s in one call: the lines are far smaller than a fresh
// socket's send buffer, so a short write means something is wrong.
func writeAll(fd int, s string) error {
	n, err := syscall.Write(fd, []byte(s))
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if n != len(s) {
		return fmt.Errorf("write: short write (%d of %d bytes)", n, len(s))
	}
	return nil
}

// handle processes an epoll event for c. It returns an error to end the
// login as failed; on success it ends the login itself (c.fd < 0).
func (r *epollRun) handle(c *econn, events uint32) error {
	if c.state == esConnecting {
		v, err := syscall.GetsockoptInt(c.fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
		if err == nil && v != 0 {
			err = syscall.Errno(v)
		}
		if err != nil {
			return fmt.Errorf("login %d: connect: %w", c.i, err)
		}
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: c.slot}
		if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_MOD, c.fd, &ev); err != nil {
			return fmt.Errorf("epoll mod: %w", err)
		}
		c.state = esWantPlus
		return r.sendPrelude(c)
	}
	if c.w == len(c.buf) {
		if c.r == 0 {
			return fmt.Errorf("login %d: line longer than %d bytes", c.i, len(c.buf))
		}
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	n, err := syscall.Read(c.fd, c.buf[c.w:])
	if err == syscall.EAGAIN || err == syscall.EINTR {
		return nil
	}
	if err != nil {
		return fmt.Errorf("login %d: read: %w", c.i, err)
	}
	if n == 0 {
		return fmt.Errorf("login %d: server closed the connection in state %d", c.i, c.state)
	}
	c.w += n
	for c.fd >= 0 {
		line, ok := nextLine(c)
		if !ok {
			break
		}
		if err := r.onLine(c, line); err != nil {
			return err
		}
	}
	if c.r == c.w {
		c.r, c.w = 0, 0
	}
	return nil
}

// nextLine returns the next complete line in c's buffer, without its
// line ending.
func nextLine(c *econn) ([]byte, bool) {
	for i := c.r; i < c.w; i++ {
		if c.buf[i] == '\n' {
			line := c.buf[c.r:i]
			c.r = i + 1
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			return line, true
		}
	}
	return nil, false
}

// onLine advances c's login by one server line.
func (r *epollRun) onLine(c *econn, line []byte) error {
	cmd := string(command(line))
	if cmd == "PING" {
		return writeAll(c.fd, "PONG :load\r\n")
	}
	if err := loginRefusal(cmd, line); err != nil {
		return fmt.Errorf("login %d: %w", c.i, err)
	}
	switch {
	case c.state == esWantPlus && cmd == "AUTHENTICATE":
		k := &r.keys[int(c.i)%len(r.keys)]
		if _, err := rand.Read(c.cnonce[:]); err != nil {
			return fmt.Errorf("login %d: nonce: %w", c.i, err)
		}
		first := make([]byte, 0, sasl.ClientFirstLen)
		first = append(append(append(first, sasl.Version), k.pub...), c.cnonce[:]...)
		c.state = esWantChallenge
		return writeAll(c.fd, "AUTHENTICATE "+base64.StdEncoding.EncodeToString(first)+"\r\n")
	case c.state == esWantChallenge && cmd == "AUTHENTICATE":
		ch, err := base64.StdEncoding.DecodeString(firstParam(line, cmd))
		if err != nil || len(ch) != sasl.ChallengeLen {
			return fmt.Errorf("login %d: malformed challenge", c.i)
		}
		k := &r.keys[int(c.i)%len(r.keys)]
		m, err := sasl.Message(r.ep, k.pub, c.cnonce[:], ch[1:])
		if err != nil {
			return fmt.Errorf("login %d: %w", c.i, err)
		}
		sig, err := presign(k.priv, &r.presigs[c.i], m)
		if err != nil {
			return fmt.Errorf("login %d: %w", c.i, err)
		}
		c.state = esWant903
		return writeAll(c.fd, "AUTHENTICATE "+base64.StdEncoding.EncodeToString(sig[:])+"\r\nCAP END\r\n")
	case c.state == esWant903 && cmd == "903":
		c.state = esWantMOTD
	case c.state == esWantMOTD && (cmd == "376" || cmd == "422"):
		r.st.hist.Record(time.Since(c.start))
		r.st.ok++
		r.closeConn(c)
	}
	return nil
}

// closeConn closes c's socket and frees its slot.
func (r *epollRun) closeConn(c *econn) {
	if c.fd < 0 {
		return
	}
	syscall.Close(c.fd) // also removes it from the epoll set
	c.fd = -1
	r.free = append(r.free, c.slot)
}

// end closes c (if open) and counts a failed login.
func (r *epollRun) end(c *econn, err error) {
	r.closeConn(c)
	r.fail(err)
}

// fail counts a failed login and keeps the first error.
func (r *epollRun) fail(err error) {
	if r.st.firstErr == nil {
		r.st.firstErr = err
	}
	r.st.failed++
}

// abortAll closes every open connection, counting each as failed.
func (r *epollRun) abortAll() {
	for i := range r.slots {
		if r.slots[i].fd >= 0 {
			r.end(&r.slots[i], errors.New("login: run aborted"))
		}
	}
}
