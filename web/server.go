// Package web serves ThorChat's browser client over the onion service
// itself: a single page embedded in the binary (GET /), and IRC over
// WebSocket (/ws, the IRCv3 WebSocket transport). Each accepted WebSocket
// becomes a net.Conn (Conn) handed to the IRC server through Listener,
// exactly like a TCP or unix connection, carrying its origin key (the Tor
// circuit) so per-circuit limits apply; the IRC server's line bounds,
// flood limits and SASL apply unchanged.
//
// Nothing is fetched from anywhere else: no CDN, fonts or analytics. The
// page's assets are few (Tor Browser puts every stream to one onion on one
// circuit, which tor closes past [tor] max_streams), compressed once at
// start, and served with a strict Content-Security-Policy.
package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// The IRCv3 WebSocket subprotocols. A client that asks for neither gets
// text.
const (
	ProtocolText   = "text.ircv3.net"
	ProtocolBinary = "binary.ircv3.net"
)

// HTTP bounds: every request's header within MaxHeaderBytes and
// ReadHeaderTimeout; an idle keep-alive connection closes after
// IdleTimeout. A WebSocket has no deadline of its own once upgraded: the
// IRC server's PING and registration timeouts bound it.
const (
	MaxHeaderBytes    = 8 << 10
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 2 * time.Minute
	// handoffTimeout bounds how long an upgraded connection waits for the
	// IRC server to accept it.
	handoffTimeout = 10 * time.Second
)

// Options configures a Server.
type Options struct {
	// DefaultChannels are joined by the page on load (guests included).
	DefaultChannels []string
	// Network is the IRC network's name, shown by the page.
	Network string
	// Logger receives start-up and failure lines; never addresses or
	// origin keys.
	Logger *slog.Logger
	// History serves the pages without JavaScript (GET /c/<channel>);
	// nil: there are none.
	History History
}

// Site is one way in to the web client: the origin the page is loaded
// from (a WebSocket from any other Origin gets 403) and how to tell where
// a connection comes from.
type Site struct {
	// Origin is "http://<onion>" (with ":port" unless 80) or a development
	// listener's "http://127.0.0.1:PORT".
	Origin string
	// Key returns the origin key of an accepted connection, asked when it
	// upgrades to a WebSocket: the Tor circuit (ProxyKey, with a
	// ProxyListener) or the remote address. nil: none.
	Key func(net.Conn) string
}

// Server serves the page and hands WebSockets to its Listener.
type Server struct {
	log     *slog.Logger
	assets  map[string]*asset
	history History
	network string
	reads   chan struct{} // MaxHistoryReads slots
	ln      *Listener
	out     sync.Pool // frame assembly buffers, shared by the Conns

	mu   sync.Mutex
	srvs map[*http.Server]struct{}
}

// New prepares the page (rendered and compressed once) and the listener
// the IRC server accepts WebSocket connections from.
func New(opts Options) (*Server, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	assets, err := loadAssets(opts)
	if err != nil {
		return nil, err
	}
	return &Server{
		log:     log,
		assets:  assets,
		history: opts.History,
		network: opts.Network,
		reads:   make(chan struct{}, MaxHistoryReads),
		ln:      newListener(),
		srvs:    map[*http.Server]struct{}{},
	}, nil
}

// Listener returns the listener that yields each accepted WebSocket as a
// *Conn, for the IRC server's Serve.
func (s *Server) Listener() *Listener { return s.ln }

type keyCtx struct{}

// Serve serves HTTP on ln for site until ln is closed or Close is called.
// A connection whose first request asks for /ws is upgraded without
// net/http (see route); every other one is served by net/http.
func (s *Server) Serve(ln net.Listener, site Site) error {
	site.Origin = strings.ToLower(site.Origin)
	hl := newHTTPListener(ln)
	hs := &http.Server{
		Handler:           s.handler(site),
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		// net/http's own error lines name client addresses
		ErrorLog: log.New(io.Discard, "", 0),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, keyCtx{}, c)
		},
	}
	s.mu.Lock()
	if s.srvs == nil {
		s.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	s.srvs[hs] = struct{}{}
	s.mu.Unlock()
	go hl.acceptLoop(func(c net.Conn) { s.route(c, site, hl) })
	err := hs.Serve(hl)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("web: %w", err)
}

// Close stops every HTTP listener and the WebSocket listener. Upgraded
// WebSockets belong to the IRC server, which closes them itself.
func (s *Server) Close() error {
	s.mu.Lock()
	srvs := s.srvs
	s.srvs = nil
	s.mu.Unlock()
	for hs := range srvs {
		hs.Close()
	}
	return s.ln.Close()
}

func (s *Server) handler(site Site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		if r.URL.Path == "/ws" {
			s.serveWS(w, r, site)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/c/") {
			s.serveChannel(w, r)
			return
		}
		s.serveAsset(w, r)
	})
}

// setSecurityHeaders sets the headers every response carries: a strict
// CSP (no inline script or style, nothing from elsewhere, no framing).
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// ContentSecurityPolicy is sent with every response.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// serveWS upgrades a same-origin request to IRC over WebSocket and hands
// the connection to the listener: a /ws request that net/http read (one
// that followed another request on a kept-alive connection; a connection
// that starts with one is upgraded by route).
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request, site Site) {
	if !sameOrigin(r.Header.Get("Origin"), site.Origin) {
		http.Error(w, errCrossOrigin, http.StatusForbidden)
		return
	}
	if s.ln.isClosed() {
		http.Error(w, errShuttingDown, http.StatusServiceUnavailable)
		return
	}
	up := ws.HTTPUpgrader{
		Timeout:  WriteTimeout,
		Protocol: func(p string) bool { return p == ProtocolText || p == ProtocolBinary },
		// no Negotiate: permessage-deflate stays off (memory per
		// connection, and compression over a secret channel)
	}
	raw, rw, hs, err := up.Upgrade(r, w)
	if err != nil {
		if raw != nil {
			raw.Close()
		}
		return
	}
	var pre []byte
	if rw != nil && rw.Reader.Buffered() > 0 {
		pre = make([]byte, rw.Reader.Buffered())
		io.ReadFull(rw.Reader, pre)
	}
	nc, _ := r.Context().Value(keyCtx{}).(net.Conn)
	if pc, ok := raw.(*prefixConn); ok && len(pc.pre) == 0 {
		raw = pc.Conn // net/http has read its prefix: the socket itself
	}
	if pc, ok := nc.(*prefixConn); ok {
		nc = pc.Conn
	}
	s.handOff(raw, pre, hs.Protocol == ProtocolBinary, site, nc)
}

// The refusals of a WebSocket request, as the response bodies say them.
const (
	errCrossOrigin  = "WebSocket from another origin refused"
	errShuttingDown = "server shutting down"
)

// sameOrigin reports whether a request's Origin header is the site's own.
func sameOrigin(origin, site string) bool {
	return origin != "" && strings.EqualFold(origin, site)
}

// handOff wraps an upgraded connection as a Conn, with the origin key of
// the accepted connection nc (asked now: the request is read, and a PROXY
// line before it was too), and gives it to the listener.
func (s *Server) handOff(raw net.Conn, pre []byte, binary bool, site Site, nc net.Conn) {
	key := ""
	if nc != nil && site.Key != nil {
		key = site.Key(nc)
	}
	c := newConn(raw, pre, false, binary, key, &s.out)
	if !s.ln.handoff(c, handoffTimeout) {
		c.Close()
	}
}
