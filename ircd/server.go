// Package ircd is ThorChat's IRC state machine: registration, channels,
// messaging, modes and queries over any net.Listener.
//
// All protocol state is owned by a single processing goroutine, so no
// handler takes a lock. Each connection has a reader goroutine that holds no
// buffer while idle and a writer goroutine that exists only while there are
// bytes to send; fan-out serializes a message once and copies the shared
// bytes into each recipient's bounded send queue, so a client that does not
// read can never block another.
package ircd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Clock is the server's time source; tests inject a fake one.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Config configures a Server.
type Config struct {
	Name    string // server name in prefixes and 001..005
	Network string
	Version string
	MOTD    []string // lines; empty gives 422
	Limits  Limits
	Logger  *slog.Logger
	Clock   Clock
	// Tick is how often timers (registration, ping) are checked; default 1s.
	Tick time.Duration
	// Backend is the host: accounts, SASL, nick claims, what is kept on
	// disk (see Backend). nil runs without accounts and keeps nothing.
	Backend Backend
	// Flood configures throttling and connection limits.
	Flood FloodOptions
	// MaxAccept bounds an accept list (default 50).
	MaxAccept int
	// RequireSASL turns away clients that register without logging in.
	RequireSASL bool
	// SASL bounds the SASL exchange.
	SASL SASLOptions
	// Channels are created at start and kept while empty.
	Channels []ChannelSpec
	// Whowas bounds the WHOWAS history (in memory only).
	Whowas WhowasOptions
	// Registration bounds ChanServ REGISTER.
	Registration RegistrationOptions
	// History configures message history (when the backend keeps it).
	History HistoryOptions
}

// ChannelSpec declares a permanent channel.
type ChannelSpec struct {
	Name  string
	Topic string
	Modes string // e.g. "+nt"
	// SpeakOperators makes the channel +m and voices operators and staff.
	SpeakOperators bool
	// History is the channel's history policy ("world", "joined", "off";
	// "": the default for its modes).
	History string
}

// Listener describes the public identity clients used to reach a listener
// and how it tells where a connection comes from.
type Listener struct {
	Kind string // "tcp", "unix" or "onion"
	Host string // host name clients dialed (lower-case)
	Port int
	// Origin, when set, returns the opaque origin key of a connection the
	// listener accepted ("" for none): at most Limits.MaxPerCircuit
	// connections share one. The listener side computes it before the
	// connection reaches the server (for the onion listener: the Tor
	// circuit from the PROXY header); ircd only compares keys and never
	// logs them.
	Origin func(conn net.Conn) string
	// OriginKind names an origin in the refusals ("Too many connections
	// over one <OriginKind>"); default "origin".
	OriginKind string
	// RateOrigin, when set, returns the key by which the rate of new
	// connections is limited (Limits.OriginConnRate, OriginConnBurst)
	// instead of Origin's: the dev TCP listener limits the rate per
	// remote IP address while each of its connections is an origin of
	// its own for MaxPerCircuit. Like Origin's, the key is opaque and
	// never logged; "" is not limited.
	RateOrigin func(conn net.Conn) string
}

// Server is an IRC server. Create it with New, start it with Run, hand it
// listeners with Serve, and stop it with Shutdown or by cancelling Run's ctx.
type Server struct {
	cfg     Config
	lim     Limits
	name    string
	log     *slog.Logger
	clock   Clock
	created time.Time
	// createdText is the 003 text, formatted once
	createdText string

	events  chan event
	workers chan struct{} // bounds concurrent async steps
	parked  chan asyncJob // hands a step to a parked async worker (unbuffered)
	// idleWorkers counts async workers parked or about to park
	idleWorkers atomic.Int64
	saslOpts    SASLOptions
	calls       chan func()

	bufs    bufPool
	outBufs outPool

	nconns  atomic.Int64
	nextID  atomic.Uint64
	mu      sync.Mutex // guards listeners and conns below
	lns     map[net.Listener]struct{}
	conns   map[*Client]struct{}
	closing atomic.Bool
	done    chan struct{}
	wg      sync.WaitGroup // readers and writers

	msgIDs      msgIDGen // message IDs of relayed messages (processor-owned)
	commands    map[string]handler
	isupport005 [][]string // 005 parameters, built once

	be   Backend  // the host (never nil)
	feat Features // be.Features(), read once
	obs  Observer // be.Observer() or a no-op one, read once

	// off-loop lanes (offloop.go)
	chans *lane[chanWrite]    // registered channel records, group commit
	prefs *lane[func() error] // account preferences (accept lists, user modes), in order
	hist  *lane[*histWrite]   // message history, group commit (history.go)

	// processor-owned state
	st     state
	whowas whowasLog   // recently quit users, for WHOWAS
	wake   *time.Timer // resumes throttled clients
	wakeAt time.Time

	batchSeq uint64       // batch reference tags issued (batch.go)
	stampSeq uint64       // messages stamped and joins made, in order (deliver.go)
	monitors monitorIndex // who monitors which nick (monitor.go)

	connLimiter *rate.Limiter
	originRate  *originRate  // new connections per origin, checked first
	nUnauth     atomic.Int64 // connections not logged in
}

// New validates cfg and returns a server that is not yet running.
func New(cfg Config) (*Server, error) {
	if cfg.Name == "" {
		return nil, errors.New("ircd: server name is required")
	}
	if cfg.Network == "" {
		cfg.Network = "ThorChat"
	}
	if cfg.Version == "" {
		cfg.Version = "thorchat-dev"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.Backend == nil {
		cfg.Backend = NoBackend{}
	}
	cfg.Limits = fillLimits(cfg.Limits)
	if cfg.History.Queue <= 0 {
		cfg.History.Queue = 16384
	}
	if cfg.History.MaxRequest <= 0 {
		cfg.History.MaxRequest = 1000
	}
	s := &Server{
		cfg:     cfg,
		lim:     cfg.Limits,
		name:    cfg.Name,
		log:     cfg.Logger,
		clock:   cfg.Clock,
		events:  make(chan event, 1024),
		workers: make(chan struct{}, asyncWorkers(cfg.SASL.Workers)),
		parked:  make(chan asyncJob),
		calls:   make(chan func(), 64),
		lns:     map[net.Listener]struct{}{},
		conns:   map[*Client]struct{}{},
		done:    make(chan struct{}),
	}
	s.be = cfg.Backend
	s.feat = s.be.Features()
	s.obs = s.be.Observer()
	if s.obs == nil {
		s.obs = nopObserver{}
	}
	s.created = s.clock.Now()
	s.createdText = "This server was created " + s.created.UTC().Format("Mon Jan 2 2006 at 15:04:05 UTC")
	s.commands = commandTable()
	ids, err := newMsgIDGen()
	if err != nil {
		return nil, err
	}
	s.msgIDs = ids
	s.saslOpts = cfg.SASL
	if s.saslOpts.Timeout <= 0 {
		s.saslOpts.Timeout = 30 * time.Second
	}
	if s.saslOpts.MaxFailures <= 0 {
		s.saslOpts.MaxFailures = 3
	}
	if s.saslOpts.MaxResponse <= 0 {
		s.saslOpts.MaxResponse = 8192
	}
	s.bufs.size = s.lim.LineBytes + s.lim.TagBytes + 4096
	s.st.init()
	s.whowas = newWhowasLog(cfg.Whowas)
	s.wake = time.NewTimer(time.Hour)
	s.wake.Stop()
	// one bucket per origin seen in the last OriginConnBurst/OriginConnRate
	// seconds, at most MaxClients of them
	s.originRate = newOriginRate(s.lim.OriginConnRate, s.lim.OriginConnBurst, s.lim.MaxClients)
	if cfg.Flood.ConnRate > 0 {
		s.connLimiter = rate.NewLimiter(rate.Limit(cfg.Flood.ConnRate), max(cfg.Flood.ConnBurst, 1))
	}
	for _, spec := range cfg.Channels {
		if !validChannel(spec.Name, s.lim.ChannelLen) {
			return nil, fmt.Errorf("ircd: invalid channel name %q", spec.Name)
		}
		s.createPermanentChannel(spec)
	}
	if err := s.checkDeclaredLookalikes(); err != nil {
		return nil, err
	}
	s.isupport005 = s.isupportLines()
	s.chans = newLane("channels", 4096, 256, s.commitChannels)
	s.prefs = newLane("preferences", 4096, 64, runEach)
	s.hist = newLane("history", s.cfg.History.Queue, 1024, s.commitHistory)
	if s.has(FeatureChannels) {
		if err := s.loadChannels(); err != nil {
			return nil, fmt.Errorf("ircd: load registered channels: %w", err)
		}
	}
	return s, nil
}

// has reports whether the backend provides the optional part f.
func (s *Server) has(f Features) bool { return s.feat.Has(f) }

// Run processes events until ctx is cancelled or Shutdown is called, then
// disconnects every client. It must be called exactly once.
func (s *Server) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	var lanes sync.WaitGroup
	lanes.Go(func() { s.chans.run(s) })
	lanes.Go(func() { s.prefs.run(s) })
	lanes.Go(func() { s.hist.run(s) })
	defer func() {
		close(s.done)
		lanes.Wait() // every accepted write is stored when Run returns
	}()
	for {
		select {
		case ev := <-s.events:
			s.handleEvent(ev)
		case f := <-s.calls:
			f()
		case <-t.C:
			s.sweep()
			s.resumeThrottled()
		case <-s.wake.C:
			s.wakeAt = time.Time{}
			s.resumeThrottled()
		case <-ctx.Done():
			s.shutdownClients("Server shutting down")
			return nil
		}
		s.runPending()
	}
}

// Do runs f on the processing goroutine and waits for it; it lets wiring
// code (reloads, admin commands) read or change state safely.
func (s *Server) Do(ctx context.Context, f func()) error {
	ch := make(chan struct{})
	select {
	case s.calls <- func() { f(); close(ch) }:
	case <-s.done:
		return errors.New("ircd: server stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ch:
		return nil
	case <-s.done:
		return errors.New("ircd: server stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Serve accepts connections on ln until it is closed or the server shuts
// down. id is the public identity of the listener.
func (s *Server) Serve(ln net.Listener, id Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return errors.New("ircd: server is shutting down")
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
	}()
	info := &id
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "listener", id.Kind, "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("ircd: accept on %s listener: %w", id.Kind, err)
		}
		delay = 0
		s.accept(conn, info)
	}
}

// originKind names an origin of the listener in refusals.
func (id *Listener) originKind() string {
	if id.OriginKind == "" {
		return "origin"
	}
	return id.OriginKind
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (s *Server) accept(conn net.Conn, id *Listener) {
	origin := ""
	if id.Origin != nil {
		origin = id.Origin(conn) // asked first: the listener forgets it
	}
	if s.closing.Load() {
		conn.Close()
		return
	}
	refuse := func(reason string) {
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		conn.Write([]byte("ERROR :Closing Link: " + reason + "\r\n"))
		conn.Close()
	}
	// the origin's own rate first: what it is refused does not spend the
	// server-wide budget
	rateKey := origin
	if id.RateOrigin != nil {
		rateKey = id.RateOrigin(conn)
	}
	if !s.originRate.allow(rateKey, s.clock.Now()) {
		s.observer().OriginRefused()
		refuse("Too many new connections over one " + id.originKind() + ", try again later")
		return
	}
	if s.connLimiter != nil && !s.connLimiter.AllowN(s.clock.Now(), 1) {
		refuse("Too many new connections, try again later")
		return
	}
	if max := s.cfg.Flood.MaxUnauthenticated; max > 0 && s.nUnauth.Load() >= int64(max) {
		refuse("Too many connections that are not logged in, try again later")
		return
	}
	if s.nconns.Add(1) > int64(s.lim.MaxClients) {
		s.nconns.Add(-1)
		refuse("Server is full, try again later")
		return
	}
	s.nUnauth.Add(1)
	c := newClient(s, conn, id)
	c.origin = origin
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		s.nconns.Add(-1)
		conn.Close()
		return
	}
	s.conns[c] = struct{}{}
	// Add under mu, where Shutdown sets closing, so it happens before
	// Shutdown's wg.Wait.
	s.wg.Add(1)
	s.mu.Unlock()
	select {
	case s.events <- event{c: c, kind: evNew}:
	case <-s.done:
		conn.Close()
		s.wg.Done()
		return
	}
	go c.readLoop()
}

// Shutdown stops accepting, tells every client `ERROR :Server shutting
// down`, and waits (bounded by ctx) for connections to close.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeListeners()
	// Wait for shutdownClients to finish before wg.Wait: it starts writer
	// goroutines (wg.Add), which must not race with Wait.
	shut := make(chan struct{})
	select {
	case s.calls <- func() { s.shutdownClients("Server shutting down"); close(shut) }:
		select {
		case <-shut:
		case <-s.done:
		case <-ctx.Done():
		}
	case <-s.done:
	case <-ctx.Done():
	}
	waited := make(chan struct{})
	go func() { s.wg.Wait(); close(waited) }()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.conn.Close()
		}
		s.mu.Unlock()
		return fmt.Errorf("ircd: shutdown: %w", ctx.Err())
	}
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.lns {
		ln.Close()
	}
	s.mu.Unlock()
}

// shutdownClients runs on the processor: every client gets the ERROR line
// and its connection is closed once the line is written.
func (s *Server) shutdownClients(reason string) {
	s.closing.Store(true)
	s.closeListeners()
	for c := range s.st.all {
		c.closeWith("ERROR :"+reason, false)
		c.gone = true
	}
	clear(s.st.all)
	clear(s.st.nicks)
	s.mu.Lock()
	for c := range s.conns {
		if !c.gone {
			c.closeWith("ERROR :"+reason, false)
			c.gone = true
		}
	}
	s.mu.Unlock()
}

func (s *Server) forget(c *Client) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// ClientCount returns the number of open connections.
func (s *Server) ClientCount() int { return int(s.nconns.Load()) }
