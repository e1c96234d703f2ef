package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/thorchat/thorchat/web"
)

// IdleConfig configures the idle-memory scenario.
type IdleConfig struct {
	Addr      string
	ServerPID int           // 0: no RSS figures
	Clients   int           // registered idle clients to hold
	Dialers   int           // concurrent connects (default 64)
	Settle    time.Duration // wait before the first RSS reading (default 5s)
	Recheck   time.Duration // wait between the two readings (default 2s)
	NickBase  string        // nick prefix (default "i")
	// WebSocket: Addr is the web client's listener ([web] dev_tcp) and
	// every client speaks IRC over WebSocket (text.ircv3.net) to /ws.
	WebSocket bool
	Logger    *slog.Logger
}

// IdleResult reports the server's memory per idle registered client.
type IdleResult struct {
	Clients        int     `json:"clients"`
	ConnectSeconds float64 `json:"connect_seconds"`
	RSSBefore      int64   `json:"rss_before_bytes"`
	RSSAfter1      int64   `json:"rss_after_first_bytes"`
	RSSAfter       int64   `json:"rss_after_bytes"`
	BytesPerClient float64 `json:"bytes_per_client"`
	ServerNoFile   uint64  `json:"server_nofile_soft,omitempty"`
}

// IdleClients holds the connections of the idle scenario open until Close.
type IdleClients struct {
	conns []net.Conn
	wg    sync.WaitGroup
}

// Len returns the number of held connections.
func (ic *IdleClients) Len() int { return len(ic.conns) }

// Close closes every held connection and waits for their responders.
func (ic *IdleClients) Close() {
	for _, c := range ic.conns {
		c.Close()
	}
	ic.wg.Wait()
	ic.conns = nil
}

// Idle registers cfg.Clients clients and keeps them idle, reading the
// server's VmRSS before and (twice, after settling) after. The clients stay
// connected — answering only PINGs — until the caller closes them.
func Idle(ctx context.Context, cfg IdleConfig) (IdleResult, *IdleClients, error) {
	if cfg.Clients <= 0 {
		return IdleResult{}, nil, errors.New("idle: clients must be positive")
	}
	if cfg.Dialers <= 0 {
		cfg.Dialers = 64
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 5 * time.Second
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = 2 * time.Second
	}
	if cfg.NickBase == "" {
		cfg.NickBase = "i"
	}
	log := orDiscard(cfg.Logger)
	res := IdleResult{Clients: cfg.Clients}
	if cfg.ServerPID > 0 {
		var err error
		if res.ServerNoFile, err = ReadNoFile(cfg.ServerPID); err != nil {
			return res, nil, err
		}
		if res.ServerNoFile != 0 && res.ServerNoFile < uint64(cfg.Clients)+64 {
			log.Warn("the server's open-file limit is below the client count; start it after `ulimit -n`", "limit", res.ServerNoFile, "clients", cfg.Clients)
		}
		if res.RSSBefore, err = ReadRSS(cfg.ServerPID); err != nil {
			return res, nil, err
		}
	}
	ic := &IdleClients{conns: make([]net.Conn, cfg.Clients)}
	start := time.Now()
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range min(cfg.Dialers, cfg.Clients) {
		wg.Go(func() {
			lr := newLineReader(nil, 16<<10)
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.Clients || ctx.Err() != nil {
					return
				}
				c, err := dialIdle(ctx, cfg)
				if err == nil {
					lr.reset(c)
					if err = register(ctx, lr, cfg.NickBase+strconv.Itoa(i)); err != nil {
						c.Close()
					}
				}
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("idle client %d: %w", i, err) })
					next.Store(int64(cfg.Clients)) // stop the others
					return
				}
				ic.conns[i] = c
				ic.wg.Go(func() { answerPings(c) })
			}
		})
	}
	wg.Wait()
	res.ConnectSeconds = time.Since(start).Seconds()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("idle: %w", ctx.Err())
	}
	if firstErr != nil {
		ic.conns = compact(ic.conns)
		ic.Close()
		return res, nil, firstErr
	}
	log.Info("idle clients registered", "clients", cfg.Clients, "seconds", res.ConnectSeconds)
	if cfg.ServerPID > 0 {
		var err error
		if err = sleep(ctx, cfg.Settle); err == nil {
			res.RSSAfter1, err = ReadRSS(cfg.ServerPID)
		}
		if err == nil {
			err = sleep(ctx, cfg.Recheck)
		}
		if err == nil {
			res.RSSAfter, err = ReadRSS(cfg.ServerPID)
		}
		if err != nil {
			ic.Close()
			return res, nil, fmt.Errorf("idle: %w", err)
		}
		res.BytesPerClient = float64(res.RSSAfter-res.RSSBefore) / float64(cfg.Clients)
	}
	return res, ic, nil
}

// answerPings keeps an idle connection alive: anything the server sends
// after registration (a PING) is answered with one PONG. It returns when
// the connection is closed.
func answerPings(c net.Conn) {
	var buf [512]byte
	for {
		n, err := c.Read(buf[:])
		if n > 0 && pong(c) != nil {
			return
		}
		if err != nil {
			return
		}
	}
}

func compact(cs []net.Conn) []net.Conn {
	out := cs[:0]
	for _, c := range cs {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// dialIdle opens one idle client's connection: TCP, or a WebSocket to the
// web client's /ws with the listener's own origin.
func dialIdle(ctx context.Context, cfg IdleConfig) (net.Conn, error) {
	if !cfg.WebSocket {
		return dial(ctx, cfg.Addr)
	}
	dctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	return web.Dial(dctx, "ws://"+cfg.Addr+"/ws", "http://"+cfg.Addr, web.ProtocolText)
}
