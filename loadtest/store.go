package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// StoreConfig configures the history store scenario: senders each
// pipelining messages into a channel of their own, every message
// acknowledged by its echo (echo-message), which a server with history
// sends only once the message is durable.
type StoreConfig struct {
	Addr     string
	Senders  int           // connections, each in its own channel
	Window   int           // messages a sender has sent but not seen echoed, at most
	Messages int           // messages to send in all (split over the senders)
	Duration time.Duration // stop sending after this long (0: no limit)
	Pad      int           // filler bytes before the marker in each text
	Channel  string        // channel prefix (default "#store"): #store0, #store1…
	NickBase string        // nick prefix (default "st")
	// ServerPID, when set, gives CPU figures for the sending window.
	ServerPID int
	Logger    *slog.Logger
}

// StoreResult reports stored (acknowledged) messages per second.
type StoreResult struct {
	Senders int   `json:"senders"`
	Window  int   `json:"window"`
	Sent    int64 `json:"messages_sent"`
	// Acked are messages whose echo came back: stored.
	Acked int64 `json:"messages_acked"`
	// Refused are messages answered with FAIL (a full history lane or a
	// failed commit): not stored.
	Refused   int64   `json:"messages_refused"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"acked_per_second"`
	// Latency is send -> echo.
	P50Micros float64  `json:"p50_us"`
	P99Micros float64  `json:"p99_us"`
	MaxMicros float64  `json:"max_us"`
	CPU       CPUUsage `json:"cpu"`
}

// storeSender is one sender's connection and counters.
type storeSender struct {
	conn    net.Conn
	lr      *lineReader
	channel string
	quota   int
	tokens  chan struct{}
	acked   atomic.Int64
	refused atomic.Int64
	hist    Histogram
	err     error
}

// Store runs the store scenario (see StoreConfig) and reports the rate of
// acknowledged messages from the first send to the last echo.
func Store(ctx context.Context, cfg StoreConfig) (StoreResult, error) {
	if cfg.Senders <= 0 || cfg.Window <= 0 || cfg.Messages <= 0 {
		return StoreResult{}, errors.New("store: senders, window and messages must be positive")
	}
	if cfg.Pad < 0 || cfg.Pad > 400 {
		return StoreResult{}, errors.New("store: pad must be within 0..400")
	}
	if cfg.Channel == "" {
		cfg.Channel = "#store"
	}
	if cfg.NickBase == "" {
		cfg.NickBase = "st"
	}
	log := orDiscard(cfg.Logger)
	res := StoreResult{Senders: cfg.Senders, Window: cfg.Window}
	senders := make([]*storeSender, cfg.Senders)
	defer func() {
		for _, s := range senders {
			if s != nil {
				s.conn.Close()
			}
		}
	}()
	for i := range senders {
		quota := cfg.Messages / cfg.Senders
		if i < cfg.Messages%cfg.Senders {
			quota++
		}
		s, err := connectStoreSender(ctx, cfg.Addr, cfg.NickBase+strconv.Itoa(i), cfg.Channel+strconv.Itoa(i), quota, cfg.Window)
		if err != nil {
			return res, fmt.Errorf("store sender %d: %w", i, err)
		}
		senders[i] = s
	}
	log.Info("store senders joined", "senders", cfg.Senders)

	sctx := ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	base := time.Now()
	cpu := StartCPU(cfg.ServerPID)
	var lastAck atomic.Int64
	var sent atomic.Int64
	var wg sync.WaitGroup
	for _, s := range senders {
		s.lr.base = base
		wg.Go(func() { s.run(sctx, ctx, cfg.Pad, base, &sent, &lastAck) })
	}
	wg.Wait()
	res.CPU = cpu.Stop()
	var all Histogram
	var firstErr error
	for _, s := range senders {
		res.Acked += s.acked.Load()
		res.Refused += s.refused.Load()
		all.Merge(&s.hist)
		if s.err != nil && firstErr == nil {
			firstErr = s.err
		}
	}
	res.Sent = sent.Load()
	if end := lastAck.Load(); end > 0 {
		res.Seconds = float64(end) / 1e9
		res.PerSecond = float64(res.Acked) / res.Seconds
	}
	res.P50Micros = micros(all.Quantile(0.50))
	res.P99Micros = micros(all.Quantile(0.99))
	res.MaxMicros = micros(all.Max())
	log.Info("store done", "acked", res.Acked, "refused", res.Refused, "seconds", res.Seconds)
	return res, firstErr
}

// connectStoreSender registers nick, asks for echo-message and joins
// channel.
func connectStoreSender(ctx context.Context, addr, nick, channel string, quota, window int) (*storeSender, error) {
	c, err := dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	s := &storeSender{conn: c, lr: newLineReader(c, 64<<10), channel: channel, quota: quota, tokens: make(chan struct{}, window)}
	if err := register(ctx, s.lr, nick); err != nil {
		c.Close()
		return nil, err
	}
	if err := requestCaps(ctx, s.lr, "echo-message"); err != nil {
		c.Close()
		return nil, err
	}
	if err := join(ctx, s.lr, channel); err != nil {
		c.Close()
		return nil, err
	}
	for range window {
		s.tokens <- struct{}{}
	}
	return s, nil
}

// requestCaps asks for caps after registration and waits for the ACK.
func requestCaps(ctx context.Context, lr *lineReader, caps string) error {
	lr.conn.SetDeadline(stepDeadline(ctx))
	if _, err := lr.conn.Write([]byte("CAP REQ :" + caps + "\r\n")); err != nil {
		return fmt.Errorf("CAP REQ: write: %w", err)
	}
	for {
		line, err := lr.next()
		if err != nil {
			return fmt.Errorf("CAP REQ %s: %w", caps, err)
		}
		if string(command(line)) != "CAP" {
			continue
		}
		switch {
		case bytes.Contains(line, []byte(" ACK ")):
			lr.conn.SetDeadline(time.Time{})
			return nil
		case bytes.Contains(line, []byte(" NAK ")):
			return fmt.Errorf("CAP REQ %s: refused (the server does not offer it)", caps)
		}
	}
}

// run sends s's quota with at most its window outstanding until sctx
// ends, then waits (bounded by ctx and 10 s) for the outstanding echoes.
func (s *storeSender) run(sctx, ctx context.Context, pad int, base time.Time, sent, lastAck *atomic.Int64) {
	window := cap(s.tokens)
	done := make(chan struct{})
	var readErr error
	var outstanding atomic.Int64
	go func() {
		defer close(done)
		readErr = s.receive(&outstanding, lastAck)
	}()
	head := "PRIVMSG " + s.channel + " :" + string(bytes.Repeat([]byte{'x'}, pad))
	buf := make([]byte, 0, window*(len(head)+48))
	seq := 0
	fail := func(err error) {
		if s.err == nil {
			s.err = err
		}
	}
send:
	for seq < s.quota {
		select {
		case <-s.tokens:
		case <-done:
			break send
		case <-sctx.Done():
			break send
		}
		n := 1
	more:
		for n < window && seq+n < s.quota {
			select {
			case <-s.tokens:
				n++
			default:
				break more
			}
		}
		buf = buf[:0]
		now := int64(time.Since(base))
		for k := range n {
			buf = append(buf, head...)
			buf = appendMarker(buf, int64(seq+k), now)
			buf = append(buf, '\r', '\n')
		}
		outstanding.Add(int64(n))
		s.conn.SetWriteDeadline(time.Now().Add(opTimeout))
		if _, err := s.conn.Write(buf); err != nil {
			fail(fmt.Errorf("store send: %w", err))
			break
		}
		seq += n
		sent.Add(int64(n))
	}
	// wait for the outstanding echoes, bounded
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	for outstanding.Load() > 0 {
		select {
		case <-done:
			if readErr != nil {
				fail(readErr)
			}
			return
		case <-ctx.Done():
			fail(fmt.Errorf("store: %w", ctx.Err()))
			s.conn.Close()
			<-done
			return
		case <-t.C:
			fail(fmt.Errorf("store: %d messages not echoed 10s after the last send", outstanding.Load()))
			s.conn.Close()
			<-done
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
	s.conn.Close()
	<-done
}

// receive counts echoes (acknowledged) and FAIL replies (refused), each
// returning a token, until the connection closes.
func (s *storeSender) receive(outstanding, lastAck *atomic.Int64) error {
	for {
		line, err := s.lr.next()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("store: read: %w", err)
		}
		switch string(command(line)) {
		case "PRIVMSG":
			_, ns, ok := parseMarker(line)
			if !ok {
				continue
			}
			s.hist.Record(time.Duration(s.lr.at - ns))
			s.acked.Add(1)
			for {
				cur := lastAck.Load()
				if s.lr.at <= cur || lastAck.CompareAndSwap(cur, s.lr.at) {
					break
				}
			}
		case "FAIL":
			s.refused.Add(1)
		case "PING":
			if err := pong(s.conn); err != nil {
				return err
			}
			continue
		case "ERROR":
			return errors.New("store: server sent ERROR")
		default:
			continue
		}
		outstanding.Add(-1)
		s.tokens <- struct{}{} // never blocks: at most Window are out
	}
}
