package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/sasl"
)

// Back-off defaults of a Bot.
const (
	DefaultMinBackoff  = time.Second
	DefaultMaxBackoff  = 5 * time.Minute
	DefaultStableAfter = time.Minute
)

// Handler is called for every message a Bot receives, on the reading
// goroutine: while it runs, no message is read (PINGs included), so it
// should return within seconds.
type Handler func(c *Conn, m *irc.Message)

// Bot keeps a connection up and hands every message to Handler. The first
// message of each connection is the 001 welcome, after Channels were
// joined.
type Bot struct {
	Config   Config
	Handler  Handler
	Channels []string // joined after every (re)connect

	// MinBackoff and MaxBackoff bound the wait before a reconnect: it
	// doubles with every consecutive failure, from MinBackoff up to
	// MaxBackoff, and is then drawn at random from its upper half.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// StableAfter: a session that lasted this long resets the back-off.
	StableAfter time.Duration
	// MaxFailures ends Run after that many consecutive failed attempts;
	// 0 means never.
	MaxFailures int
	// Logger gets connects and disconnects (never message text or keys).
	Logger *slog.Logger
}

// Run is (&Bot{Config: cfg, Handler: h}).Run(ctx).
func Run(ctx context.Context, cfg Config, h Handler) error {
	b := &Bot{Config: cfg, Handler: h}
	return b.Run(ctx)
}

// Run connects and reads until ctx is done, reconnecting with back-off.
// It returns ctx's error, an error that retrying cannot cure (a bad
// Config, a failing Signer, 902: the key is banned or the nick locked), or
// the last error after MaxFailures consecutive failures.
func (b *Bot) Run(ctx context.Context) error {
	minB, maxB, stable := b.MinBackoff, b.MaxBackoff, b.StableAfter
	if minB <= 0 {
		minB = DefaultMinBackoff
	}
	if maxB < minB {
		maxB = max(DefaultMaxBackoff, minB)
	}
	if stable <= 0 {
		stable = DefaultStableAfter
	}
	log := b.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	failures := 0
	for {
		start := time.Now()
		err := b.session(ctx, log)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if permanent(err) {
			return err
		}
		if time.Since(start) >= stable {
			failures = 0
		} else {
			failures++
		}
		if b.MaxFailures > 0 && failures >= b.MaxFailures {
			return fmt.Errorf("giving up after %d failed attempts: %w", failures, err)
		}
		wait := backoff(failures, minB, maxB)
		log.Warn("disconnected", "err", err, "retry_in", wait.Round(time.Millisecond), "failures", failures)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (b *Bot) session(ctx context.Context, log *slog.Logger) error {
	c, err := Dial(ctx, b.Config)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	log.Info("connected", "nick", c.Nick(), "account", c.Account())
	for _, ch := range b.Channels {
		if err := c.Join(ch); err != nil {
			return err
		}
	}
	for {
		m, err := c.ReadMessage()
		if err != nil {
			return err
		}
		if m.Command == "ERROR" {
			return &ServerError{Code: "ERROR", Text: clip(m.Trailing())}
		}
		if b.Handler != nil {
			b.Handler(c, m)
		}
	}
}

// permanent reports errors a reconnect cannot cure.
func permanent(err error) bool {
	var se *SASLError
	return errors.Is(err, ErrConfig) || errors.Is(err, sasl.ErrSigner) ||
		(errors.As(err, &se) && se.Code == "902")
}

// backoff returns the wait after n consecutive failures: min·2^(n-1),
// capped at max, drawn uniformly from its upper half.
func backoff(n int, minB, maxB time.Duration) time.Duration {
	d := minB
	for i := 1; i < n && d < maxB; i++ {
		d *= 2
	}
	d = min(d, maxB)
	half := d / 2
	return half + rand.N(d-half+1)
}
