package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/sasl"
)

// Bounds on what the server may send during registration.
const (
	maxCaps  = 64 // capabilities remembered from CAP LS / ACK
	maxMechs = 16 // mechanisms remembered from 908
)

// Dial connects, negotiates capabilities, logs in with SASL when the
// Config asks for it, and returns once the server has welcomed the client
// (001). Config.Timeout bounds the whole of it. A refused login is a
// [*SASLError]; a refused registration a [*ServerError].
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	s, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	nc, err := s.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.Addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	// Cancelling ctx wakes whatever read or write is blocked.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	c := newConn(s, nc)
	r := &registration{c: c, s: s, ctx: ctx, offered: map[string]string{}}
	err = r.run()
	if !stop() && err == nil {
		err = fmt.Errorf("registration: %w", ctx.Err())
	}
	if err != nil {
		// A read cut by the deadline may end before ctx's own timer fires.
		cerr := ctx.Err()
		if dl, ok := ctx.Deadline(); cerr == nil && ok && !time.Now().Before(dl) {
			cerr = context.DeadlineExceeded
		}
		if cerr != nil && isTimeout(err) && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", err, cerr)
		}
		c.abort()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

func (s *settings) dial(ctx context.Context) (net.Conn, error) {
	if s.Dial != nil {
		return s.Dial(ctx, s.network, s.address)
	}
	var d net.Dialer
	return d.DialContext(ctx, s.network, s.address)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// abort says QUIT without waiting and closes.
func (c *Conn) abort() {
	_ = c.nc.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	_, _ = c.nc.Write([]byte("QUIT\r\n"))
	_ = c.Close()
}

// mechanism is the client half of one SASL exchange.
type mechanism interface {
	Next(challenge []byte) ([]byte, error)
}

type plainMech struct {
	user, pass string
	done       bool
}

func (p *plainMech) Next(challenge []byte) ([]byte, error) {
	if p.done || len(challenge) != 0 {
		return nil, fmt.Errorf("PLAIN: unexpected challenge: %w", sasl.ErrState)
	}
	p.done = true
	return sasl.EncodePlain("", p.user, p.pass), nil
}

// ContextSigner is a Signer whose signing can be cancelled; Dial uses it
// when the Signer has it, so its deadline bounds the signing too.
type ContextSigner interface {
	sasl.Signer
	SignMessageContext(ctx context.Context, msg []byte) ([sasl.SigLen]byte, error)
}

type ctxSigner struct {
	ctx context.Context
	s   sasl.Signer
}

func (c ctxSigner) PublicKey() []byte { return c.s.PublicKey() }

func (c ctxSigner) SignMessage(msg []byte) ([sasl.SigLen]byte, error) {
	if cs, ok := c.s.(ContextSigner); ok {
		return cs.SignMessageContext(c.ctx, msg)
	}
	return c.s.SignMessage(msg)
}

// registration is the state of one Dial up to 001.
type registration struct {
	c   *Conn
	s   *settings
	ctx context.Context

	offered   map[string]string // from CAP LS: name → value
	requested []string
	naks      int
	capEnded  bool

	mech      mechanism
	asm       sasl.Assembler
	mechs     []string // from 908
	loggedIn  bool
	nickTries int
}

func (r *registration) send(cmd string, params ...string) error {
	return r.c.Send(cmd, params...)
}

func (r *registration) run() error {
	c := r.c
	if err := r.send("CAP", "LS", "302"); err != nil {
		return err
	}
	if err := r.send("NICK", c.s.Nick); err != nil {
		return err
	}
	if err := r.send("USER", c.s.User, "0", "*", c.s.Realname); err != nil {
		return err
	}
	for {
		line, err := c.lines.next()
		if err != nil {
			return fmt.Errorf("registration: %w", err)
		}
		m, err := parseLine(line)
		if err != nil {
			continue
		}
		done, err := r.handle(m)
		if err != nil || done {
			return err
		}
	}
}

// handle processes one message; done is true at 001.
func (r *registration) handle(m *irc.Message) (done bool, err error) {
	c := r.c
	switch m.Command {
	case "PING":
		return false, c.pong(m)
	case "CAP":
		return false, r.handleCap(m)
	case "AUTHENTICATE":
		return false, r.handleAuthenticate(m)
	case "900":
		c.mu.Lock()
		c.account = m.Param(2)
		c.mu.Unlock()
	case "903":
		r.loggedIn = true
		return false, r.capEnd()
	case "908":
		for _, mech := range strings.Split(m.Param(1), ",") {
			if mech != "" && len(r.mechs) < maxMechs {
				r.mechs = append(r.mechs, mech)
			}
		}
	case "902", "904", "905", "906", "907":
		return false, &SASLError{Code: m.Command, Text: clip(m.Trailing()), Mechs: r.mechs}
	case "433":
		return false, r.nickInUse(m)
	case "432", "465":
		return false, &ServerError{Code: m.Command, Text: clip(strings.Join(m.Params[min(1, len(m.Params)):], " "))}
	case "421":
		// A server without CAP: it registers us without SASL.
		if strings.EqualFold(m.Param(1), "CAP") && r.s.mech != "" {
			return false, fmt.Errorf("%w: server does not support CAP, so no SASL %s", ErrNoSASL, r.s.mech)
		}
	case "ERROR":
		return false, &ServerError{Code: "ERROR", Text: clip(m.Trailing())}
	case "001":
		if r.s.mech != "" && !r.loggedIn {
			return false, fmt.Errorf("%w: server registered the connection without SASL %s", ErrNoSASL, r.s.mech)
		}
		c.mu.Lock()
		if n := m.Param(0); n != "" {
			c.nick = n
		}
		c.mu.Unlock()
		c.queued = m
		return true, nil
	}
	return false, nil
}

func (r *registration) nickInUse(m *irc.Message) error {
	r.nickTries++
	if r.nickTries > maxNickTries {
		return &ServerError{Code: m.Command, Text: clip(strings.Join(m.Params[min(1, len(m.Params)):], " "))}
	}
	next := r.c.Nick() + "_"
	r.c.mu.Lock()
	r.c.nick = next
	r.c.mu.Unlock()
	return r.send("NICK", next)
}

func (r *registration) capEnd() error {
	if r.capEnded {
		return nil
	}
	r.capEnded = true
	return r.send("CAP", "END")
}

func (r *registration) handleCap(m *irc.Message) error {
	switch strings.ToUpper(m.Param(1)) {
	case "LS":
		for _, w := range strings.Fields(m.Trailing()) {
			name, val, _ := strings.Cut(w, "=")
			if len(r.offered) < maxCaps {
				r.offered[name] = val
			}
		}
		if len(m.Params) >= 4 && m.Params[2] == "*" {
			return nil // more to come
		}
		if r.requested != nil {
			return nil // a second LS; already decided
		}
		return r.request()
	case "ACK":
		r.c.mu.Lock()
		for _, w := range strings.Fields(m.Trailing()) {
			if name, off := strings.CutPrefix(w, "-"); off {
				delete(r.c.caps, name)
			} else if len(r.c.caps) < maxCaps {
				r.c.caps[name] = true
			}
		}
		hasSASL := r.c.caps["sasl"]
		r.c.mu.Unlock()
		if r.s.mech == "" {
			return r.capEnd()
		}
		if !hasSASL {
			return fmt.Errorf("%w: server did not acknowledge the sasl capability", ErrNoSASL)
		}
		return r.startSASL()
	case "NAK":
		r.naks++
		switch {
		case r.s.mech == "":
			return r.capEnd()
		case r.naks == 1 && len(r.requested) > 1:
			r.requested = []string{"sasl"}
			return r.send("CAP", "REQ", "sasl")
		default:
			return fmt.Errorf("%w: server refused CAP REQ sasl", ErrNoSASL)
		}
	}
	return nil
}

// request decides, after the last CAP LS line, what to ask for.
func (r *registration) request() error {
	r.requested = []string{}
	if r.s.mech != "" {
		val, ok := r.offered["sasl"]
		if !ok {
			return fmt.Errorf("%w: the server offers no sasl capability (wanted %s)", ErrNoSASL, r.s.mech)
		}
		if val != "" {
			mechs := strings.Split(val, ",")
			if !slices.ContainsFunc(mechs, func(x string) bool { return strings.EqualFold(x, r.s.mech) }) {
				return fmt.Errorf("%w: the server offers SASL %s, not %s", ErrNoSASL, clip(val), r.s.mech)
			}
		}
		r.requested = append(r.requested, "sasl")
	}
	for _, cp := range r.s.Caps {
		if _, ok := r.offered[cp]; ok && cp != "sasl" && !slices.Contains(r.requested, cp) {
			r.requested = append(r.requested, cp)
		}
	}
	if len(r.requested) == 0 {
		return r.capEnd()
	}
	return r.send("CAP", "REQ", strings.Join(r.requested, " "))
}

func (r *registration) startSASL() error {
	if r.mech != nil {
		return nil // a later ACK (after NAK and REQ sasl)
	}
	switch r.s.mech {
	case sasl.MechSecp256k1:
		r.mech = sasl.NewSecp256k1Client(r.s.ep, ctxSigner{ctx: r.ctx, s: r.s.Signer}, nil)
	case sasl.MechPlain:
		r.mech = &plainMech{user: r.s.PlainUser, pass: r.s.PlainPass}
	}
	return r.send("AUTHENTICATE", r.s.mech)
}

func (r *registration) handleAuthenticate(m *irc.Message) error {
	if r.mech == nil {
		return nil
	}
	payload, complete, err := r.asm.Feed(m.Param(0))
	if err != nil {
		_ = r.send("AUTHENTICATE", "*")
		return fmt.Errorf("server's AUTHENTICATE: %w", err)
	}
	if !complete {
		return nil
	}
	resp, err := r.mech.Next(payload)
	if err != nil {
		_ = r.send("AUTHENTICATE", "*")
		return fmt.Errorf("SASL %s: %w", r.s.mech, err)
	}
	for _, p := range sasl.EncodeAuthenticate(resp) {
		if err := r.send("AUTHENTICATE", p); err != nil {
			return err
		}
	}
	return nil
}
