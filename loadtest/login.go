package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/thorchat/thorchat/sasl"
)

// LoginConfig configures the SASL login scenario. The server needs its
// account store and a login_rate well above the rates measured (its
// default bucket, 2,000/s, would be what is measured).
type LoginConfig struct {
	Addr string
	// Unix, when set, is the path of one of the daemon's unix-socket
	// listeners ([listen] unix): the logins go there instead of to Addr,
	// the way connections reach the daemon from tor. The signature then
	// binds Host (the server name, which must be set) and port 0.
	Unix string
	// Host is the host the server's listener is configured with, which
	// the signature binds (default: the host of Addr).
	Host        string
	Accounts    int // keys; each logs in once first (default 2000)
	Logins      int // returning-account logins measured
	Concurrency int // connections logging in at once (default 64)
	// Client is how the load tool makes its connections: ClientEpoll (one
	// goroutine driving non-blocking sockets with epoll; the default on
	// Linux, and the cheapest for the load tool, which shares the
	// machine's cores with the server) or ClientNet (a goroutine and a
	// net.Conn per connection, as a Go bot would).
	Client    string
	NickBase  string
	ServerPID int
	Logger    *slog.Logger
}

// LoginPhase reports one batch of logins: a login is TCP connect, CAP,
// the THORCHAT-SECP256K1 exchange with a real signature, and registration
// up to the end of the MOTD.
type LoginPhase struct {
	Logins    int      `json:"logins"`
	Failures  int      `json:"failures"`
	Seconds   float64  `json:"seconds"`
	PerSecond float64  `json:"per_second"`
	P50Micros float64  `json:"p50_us"`
	P99Micros float64  `json:"p99_us"`
	MaxMicros float64  `json:"max_us"`
	CPU       CPUUsage `json:"cpu"`
	// ServerCPUMicros is the server's CPU time per login; LoadCPUMicros
	// the load tool's (its signature and its side of TCP).
	ServerCPUMicros float64 `json:"server_cpu_us_per_login,omitempty"`
	LoadCPUMicros   float64 `json:"load_cpu_us_per_login,omitempty"`
}

// LoginResult reports first-time logins (each creates its account) and
// returning-account logins (the account exists and was seen within the
// store's LastSeen resolution, so the login only reads the store).
type LoginResult struct {
	Accounts    int        `json:"accounts"`
	Concurrency int        `json:"concurrency"`
	Client      string     `json:"client"`
	Unix        bool       `json:"unix_socket"`
	FirstTime   LoginPhase `json:"first_time"`
	Returning   LoginPhase `json:"returning"`
}

// loginKey is a key pair with its public half serialized once.
type loginKey struct {
	priv *secp256k1.PrivateKey
	pub  []byte
}

// Login generates cfg.Accounts keys, logs each in once (creating the
// accounts), then measures cfg.Logins returning-account logins, cycling
// through the keys, cfg.Concurrency at a time.
func Login(ctx context.Context, cfg LoginConfig) (LoginResult, error) {
	if cfg.Accounts == 0 {
		cfg.Accounts = 2000
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 64
	}
	if cfg.NickBase == "" {
		cfg.NickBase = "l"
	}
	switch cfg.Client {
	case "":
		cfg.Client = ClientNet
		if hasEpollClient {
			cfg.Client = ClientEpoll
		}
	case ClientNet, ClientEpoll:
	default:
		return LoginResult{}, fmt.Errorf("login: client %q: want %s or %s", cfg.Client, ClientEpoll, ClientNet)
	}
	if cfg.Accounts < 1 || cfg.Accounts > 1_000_000 || cfg.Logins < 1 || cfg.Logins > 1_000_000 || cfg.Concurrency < 1 || cfg.Concurrency > 10_000 {
		return LoginResult{}, errors.New("login: accounts and logins must be within 1..1000000, concurrency within 1..10000")
	}
	ep, err := loginEndpoint(cfg)
	if err != nil {
		return LoginResult{}, err
	}
	if err := ep.Validate(); err != nil {
		return LoginResult{}, fmt.Errorf("login: %w", err)
	}
	log := orDiscard(cfg.Logger)
	res := LoginResult{Accounts: cfg.Accounts, Concurrency: cfg.Concurrency, Client: cfg.Client, Unix: cfg.Unix != ""}

	keys := make([]loginKey, cfg.Accounts)
	for i := range keys {
		k, err := secp256k1.GeneratePrivateKey()
		if err != nil {
			return res, fmt.Errorf("login: key: %w", err)
		}
		keys[i] = loginKey{priv: k, pub: k.PubKey().SerializeCompressed()}
	}
	// The first pass creates the accounts.
	res.FirstTime, err = loginPhase(ctx, cfg, ep, keys, cfg.Accounts, cfg.NickBase+"a")
	log.Info("first-time logins done", "logins", res.FirstTime.Logins, "per_second", res.FirstTime.PerSecond)
	if err != nil {
		return res, fmt.Errorf("login: first-time: %w", err)
	}
	if err := sleep(ctx, time.Second); err != nil { // let the sessions end
		return res, fmt.Errorf("login: %w", err)
	}
	res.Returning, err = loginPhase(ctx, cfg, ep, keys, cfg.Logins, cfg.NickBase+"b")
	log.Info("returning logins done", "logins", res.Returning.Logins, "per_second", res.Returning.PerSecond)
	if err != nil {
		return res, fmt.Errorf("login: returning: %w", err)
	}
	return res, nil
}

// The load tool's login clients (LoginConfig.Client).
const (
	ClientEpoll = "epoll"
	ClientNet   = "net"
)

// loginEndpoint is the endpoint the server binds into M for cfg's
// listener: the unix listener's is the server name and port 0.
func loginEndpoint(cfg LoginConfig) (sasl.Endpoint, error) {
	if cfg.Unix != "" {
		if cfg.Host == "" {
			return sasl.Endpoint{}, errors.New("login: over a unix socket, Host must be the server name")
		}
		return sasl.Endpoint{Host: cfg.Host}, nil
	}
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return sasl.Endpoint{}, fmt.Errorf("login: address: %w", err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return sasl.Endpoint{}, fmt.Errorf("login: port: %w", err)
	}
	if cfg.Host != "" {
		host = cfg.Host
	}
	return sasl.Endpoint{Host: host, Port: uint16(port)}, nil
}

// loginPhase runs n logins with keys[i % len(keys)].
func loginPhase(ctx context.Context, cfg LoginConfig, ep sasl.Endpoint, keys []loginKey, n int, nickBase string) (LoginPhase, error) {
	var st workerStats
	if cfg.Client == ClientEpoll {
		var err error
		if st, err = epollLogins(ctx, cfg, ep, keys, n, nickBase); err != nil {
			return LoginPhase{}, err
		}
	} else {
		st = runWorkers(ctx, n, cfg.Concurrency, cfg.ServerPID, func() func(int64) error {
			lc := &loginConn{lr: newLineReader(nil, 8<<10), ep: ep, unix: cfg.Unix}
			return func(i int64) error {
				return lc.login(ctx, cfg.Addr, keys[int(i)%len(keys)], nickBase+strconv.FormatInt(i, 10))
			}
		})
	}
	ph := LoginPhase{CPU: st.cpu}
	ph.Logins = int(st.ok)
	ph.Failures = int(st.failed)
	ph.Seconds = st.elapsed.Seconds()
	ph.PerSecond = float64(ph.Logins) / st.elapsed.Seconds()
	ph.P50Micros = micros(st.hist.Quantile(0.50))
	ph.P99Micros = micros(st.hist.Quantile(0.99))
	ph.MaxMicros = micros(st.hist.Max())
	if ph.Logins > 0 {
		ph.ServerCPUMicros = ph.CPU.Server * ph.CPU.Seconds * 1e6 / float64(ph.Logins)
		ph.LoadCPUMicros = ph.CPU.Load * ph.CPU.Seconds * 1e6 / float64(ph.Logins)
	}
	if ctx.Err() != nil {
		return ph, ctx.Err()
	}
	if ph.Failures > 0 {
		return ph, fmt.Errorf("%d of %d failed, first: %w", ph.Failures, n, st.firstErr)
	}
	return ph, nil
}

// loginConn is one worker's reusable state.
type loginConn struct {
	lr   *lineReader
	ep   sasl.Endpoint
	unix string // dial this unix socket instead of the TCP address
}

// dial connects to the unix socket when one is set, else to addr.
func (lc *loginConn) dial(ctx context.Context, addr string) (net.Conn, error) {
	if lc.unix == "" {
		return dial(ctx, addr)
	}
	d := net.Dialer{Timeout: opTimeout}
	c, err := d.DialContext(ctx, "unix", lc.unix)
	if err != nil {
		return nil, fmt.Errorf("dial unix socket: %w", err)
	}
	return c, nil
}

// login is one full login by a minimal client: the registration lines go
// out with the mechanism, so it takes three round trips. The client half
// is sasl.Message and sasl.Sign, without the self-check of
// sasl.Secp256k1Client (which verifies its own signature).
func (lc *loginConn) login(ctx context.Context, addr string, k loginKey, nick string) error {
	c, err := lc.dial(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(stepDeadline(ctx))
	lr := lc.lr
	lr.reset(c)
	if _, err := c.Write([]byte(loginPrelude(nick))); err != nil {
		return fmt.Errorf("login %s: write: %w", nick, err)
	}
	if _, err := waitParam(lr, "AUTHENTICATE"); err != nil {
		return fmt.Errorf("login %s: mechanism: %w", nick, err)
	}
	var cnonce [sasl.NonceLen]byte
	if _, err := rand.Read(cnonce[:]); err != nil {
		return fmt.Errorf("login %s: nonce: %w", nick, err)
	}
	first := make([]byte, 0, sasl.ClientFirstLen)
	first = append(append(append(first, sasl.Version), k.pub...), cnonce[:]...)
	if _, err := c.Write([]byte("AUTHENTICATE " + base64.StdEncoding.EncodeToString(first) + "\r\n")); err != nil {
		return fmt.Errorf("login %s: write: %w", nick, err)
	}
	arg, err := waitParam(lr, "AUTHENTICATE")
	if err != nil {
		return fmt.Errorf("login %s: challenge: %w", nick, err)
	}
	ch, err := base64.StdEncoding.DecodeString(arg)
	if err != nil || len(ch) != sasl.ChallengeLen {
		return fmt.Errorf("login %s: malformed challenge", nick)
	}
	m, err := sasl.Message(lc.ep, k.pub, cnonce[:], ch[1:])
	if err != nil {
		return fmt.Errorf("login %s: %w", nick, err)
	}
	sig := sasl.Sign(k.priv, m)
	if _, err := c.Write([]byte("AUTHENTICATE " + base64.StdEncoding.EncodeToString(sig[:]) + "\r\nCAP END\r\n")); err != nil {
		return fmt.Errorf("login %s: write: %w", nick, err)
	}
	if _, err := waitParam(lr, "903"); err != nil {
		return fmt.Errorf("login %s: %w", nick, err)
	}
	if err := waitFor(lr, "376", "422"); err != nil {
		return fmt.Errorf("login %s: registration: %w", nick, err)
	}
	return nil
}

// waitParam reads lines until one whose command is want and returns its
// first parameter; SASL failure numerics, ERROR and a refused nick fail.
func waitParam(lr *lineReader, want string) (string, error) {
	for {
		line, err := lr.next()
		if err != nil {
			return "", fmt.Errorf("waiting for %s: %w", want, err)
		}
		cmd := string(command(line))
		switch cmd {
		case want:
			return firstParam(line, want), nil
		case "PING":
			if err := pong(lr.conn); err != nil {
				return "", err
			}
		}
		if err := loginRefusal(cmd, line); err != nil {
			return "", fmt.Errorf("waiting for %s: %w", want, err)
		}
	}
}

// loginPrelude is what both login clients send first: the registration
// lines with the mechanism, so a login takes three round trips.
func loginPrelude(nick string) string {
	return "CAP LS 302\r\nCAP REQ :sasl\r\nNICK " + nick + "\r\nUSER u 0 * :u\r\nAUTHENTICATE " + sasl.MechSecp256k1 + "\r\n"
}

// loginRefusal returns the error a server line with command cmd means for
// a login (a SASL failure numeric, ERROR, a refused nick), or nil.
func loginRefusal(cmd string, line []byte) error {
	switch cmd {
	case "902", "904", "905", "906", "907", "908":
		return fmt.Errorf("SASL failed with %s", cmd)
	case "ERROR":
		return fmt.Errorf("server sent %q", line[:min(len(line), 160)])
	case "432", "433", "436":
		return errNick
	}
	return nil
}

// firstParam returns the first parameter after the command cmd in line
// (for a numeric, the one after the target).
func firstParam(line []byte, cmd string) string {
	s := string(line)
	for _, skip := range []byte{'@', ':'} {
		if len(s) > 0 && s[0] == skip {
			i := strings.IndexByte(s, ' ')
			if i < 0 {
				return ""
			}
			s = strings.TrimLeft(s[i+1:], " ")
		}
	}
	s = strings.TrimLeft(strings.TrimPrefix(s, cmd), " ")
	if len(cmd) == 3 && cmd[0] >= '0' && cmd[0] <= '9' { // skip the target
		if i := strings.IndexByte(s, ' '); i >= 0 {
			s = strings.TrimLeft(s[i+1:], " ")
		}
	}
	if len(s) > 0 && s[0] == ':' {
		return s[1:]
	}
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}
