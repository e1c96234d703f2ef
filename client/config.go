package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/thorchat/thorchat/sasl"
)

// Defaults of a Config.
const (
	DefaultUser      = "thorchat"
	DefaultRealname  = "ThorChat client"
	DefaultTimeout   = 60 * time.Second
	DefaultKeepAlive = 90 * time.Second
	// DefaultMaxLine bounds a received line: 8191 bytes of tags plus a
	// 512-byte message.
	DefaultMaxLine = 8191 + 512
	// minMaxLine is the smallest MaxLine accepted (an RFC 1459 line).
	minMaxLine = 512
	// maxNickTries bounds the nick_ retries on 433 during registration.
	maxNickTries = 5
)

// DefaultCaps returns the capabilities requested, besides sasl, when the
// server offers them.
func DefaultCaps() []string {
	return []string{"server-time", "message-tags", "echo-message", "account-tag", "multi-prefix"}
}

// ErrConfig marks an unusable Config; retrying will not help.
var ErrConfig = errors.New("client: bad configuration")

// Config says where and how to connect.
type Config struct {
	// Addr is "host:port" (an onion name, a host name or an IP), or
	// "unix:/path/to/socket".
	Addr string
	// Dial opens the connection; nil means a net.Dialer. Pass a SOCKS
	// dialer (torsvc.Dialer) to reach an onion service through Tor.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Host and Port are what the SASL signature binds: the name and port
	// the client dialed. They default to the host and port of Addr; for a
	// unix socket Host must be set (the server's name) and Port is 0.
	Host string
	Port uint16

	// Nick defaults to "thorchat" and 4 random hex digits; on 433 during
	// registration "_" is appended (a few times).
	Nick     string
	User     string // default DefaultUser
	Realname string // default DefaultRealname

	// Signer enables SASL THORCHAT-SECP256K1; nil means no SASL (unless
	// Mechanism is "PLAIN").
	Signer sasl.Signer
	// Mechanism defaults to THORCHAT-SECP256K1 when Signer is set. "PLAIN"
	// logs in with PlainUser and PlainPass.
	Mechanism string
	PlainUser string
	PlainPass string

	// Caps are requested when offered; nil means DefaultCaps(). Use an
	// empty non-nil slice for none.
	Caps []string

	// MaxLine bounds a received line in bytes, tags included (default
	// DefaultMaxLine, at least 512).
	MaxLine int
	// Timeout bounds connecting and registration, each write, and the wait
	// for the answer to a keep-alive PING (default DefaultTimeout).
	Timeout time.Duration
	// KeepAlive is how long ReadMessage waits in silence before it PINGs
	// the server (default DefaultKeepAlive).
	KeepAlive time.Duration
}

// settings is a Config with its defaults resolved.
type settings struct {
	Config
	network, address string
	ep               sasl.Endpoint
	mech             string
}

func (c Config) resolve() (*settings, error) {
	s := &settings{Config: c}
	if s.User == "" {
		s.User = DefaultUser
	}
	if s.Realname == "" {
		s.Realname = DefaultRealname
	}
	if s.Nick == "" {
		var b [2]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("default nick: %w", err)
		}
		s.Nick = "thorchat" + hex.EncodeToString(b[:])
	}
	if s.Caps == nil {
		s.Caps = DefaultCaps()
	}
	if s.MaxLine <= 0 {
		s.MaxLine = DefaultMaxLine
	}
	s.MaxLine = max(s.MaxLine, minMaxLine)
	if s.Timeout <= 0 {
		s.Timeout = DefaultTimeout
	}
	if s.KeepAlive <= 0 {
		s.KeepAlive = DefaultKeepAlive
	}
	for _, f := range []struct{ name, v string }{{"nick", s.Nick}, {"user", s.User}} {
		if f.v == "" || strings.ContainsAny(f.v, " \r\n\x00:") || len(f.v) > 64 {
			return nil, fmt.Errorf("%w: %s %q: want 1..64 bytes without spaces or colons", ErrConfig, f.name, f.v)
		}
	}
	if strings.ContainsAny(s.Realname, "\r\n\x00") {
		return nil, fmt.Errorf("%w: realname contains a line break", ErrConfig)
	}
	if err := s.resolveAddr(); err != nil {
		return nil, err
	}
	if err := s.resolveMech(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *settings) resolveAddr() error {
	if path, ok := strings.CutPrefix(s.Addr, "unix:"); ok {
		if path == "" {
			return fmt.Errorf("%w: address %q: empty socket path", ErrConfig, s.Addr)
		}
		s.network, s.address = "unix", path
		if s.Host == "" && s.needsEndpoint() {
			return fmt.Errorf("%w: address %q: a unix socket needs the server's name as Host (-host)", ErrConfig, s.Addr)
		}
		s.ep = sasl.Endpoint{Host: s.Host, Port: s.Port}
		return nil
	}
	host, port, err := SplitAddr(s.Addr)
	if err != nil {
		return err
	}
	s.network, s.address = "tcp", s.Addr
	s.ep = sasl.Endpoint{Host: host, Port: port}
	if s.Host != "" {
		s.ep.Host = s.Host
	}
	if s.Port != 0 {
		s.ep.Port = s.Port
	}
	return nil
}

// needsEndpoint reports whether the configured mechanism binds the endpoint.
func (s *settings) needsEndpoint() bool {
	return s.Signer != nil && (s.Mechanism == "" || strings.EqualFold(s.Mechanism, sasl.MechSecp256k1))
}

func (s *settings) resolveMech() error {
	m := strings.ToUpper(s.Mechanism)
	switch {
	case m == "" && s.Signer != nil:
		m = sasl.MechSecp256k1
	case m == "":
		return nil
	}
	switch m {
	case sasl.MechSecp256k1:
		if s.Signer == nil {
			return fmt.Errorf("%w: mechanism %s needs a Signer", ErrConfig, m)
		}
		if err := s.ep.Validate(); err != nil {
			return fmt.Errorf("endpoint host %q: %w: %w", s.ep.Host, ErrConfig, err)
		}
	case sasl.MechPlain:
		if s.PlainUser == "" || s.PlainPass == "" {
			return fmt.Errorf("%w: mechanism PLAIN needs PlainUser and PlainPass", ErrConfig)
		}
	default:
		return fmt.Errorf("%w: unknown SASL mechanism %q", ErrConfig, s.Mechanism)
	}
	s.mech = m
	return nil
}

// SplitAddr splits "host:port" into the host (brackets of an IPv6 literal
// removed) and a port in 1..65535.
func SplitAddr(addr string) (host string, port uint16, err error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("address %q: %w: %w", addr, ErrConfig, err)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 || h == "" {
		return "", 0, fmt.Errorf("%w: address %q: want host:port with a port in 1..65535", ErrConfig, addr)
	}
	return h, uint16(n), nil
}
