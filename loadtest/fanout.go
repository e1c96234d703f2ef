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

// FanoutConfig configures the channel fan-out scenario.
type FanoutConfig struct {
	Addr     string
	Channel  string        // default "#fanout"
	Members  int           // receiving members (the sender is one more)
	Inflight int           // messages sent but not yet delivered to all members
	Messages int           // messages to send at most
	Duration time.Duration // stop sending after this long (0: no limit)
	Pad      int           // filler bytes before the marker in each text
	Dialers  int           // concurrent connects while joining (default 32)
	NickBase string        // nick prefix (default "f")
	// ServerPID, when set, gives CPU figures for the sending window.
	ServerPID int
	Logger    *slog.Logger
}

// FanoutResult reports deliveries per second and per-delivery latency.
// A delivery is one member receiving one message; a message is delivered
// when every member has received it.
type FanoutResult struct {
	Members             int     `json:"members"`
	Inflight            int     `json:"inflight"`
	Sent                int     `json:"messages_sent"`
	Delivered           int     `json:"messages_delivered"`
	Deliveries          int64   `json:"deliveries"`
	LineBytes           int     `json:"line_bytes"`
	Seconds             float64 `json:"seconds"`
	DeliveriesPerSecond float64 `json:"deliveries_per_second"`
	P50Micros           float64 `json:"p50_us"`
	P99Micros           float64 `json:"p99_us"`
	MaxMicros           float64 `json:"max_us"`
	// CPU covers the sending window only (not the joins).
	CPU CPUUsage `json:"cpu"`
	// PerServerCPUSecond is deliveries per second of server CPU time.
	PerServerCPUSecond float64 `json:"deliveries_per_server_cpu_second,omitempty"`
}

// fanout is the state shared by the sender and the receivers.
type fanout struct {
	cfg      FanoutConfig
	base     time.Time
	counts   []atomic.Int32 // per message: members that got it
	tokens   chan struct{}  // one per message that may be sent now
	done     atomic.Int64   // messages delivered to every member
	allDone  chan struct{}  // closed when done reaches the messages sent
	sent     atomic.Int64
	stopped  atomic.Bool // the sender will send no more
	doneOnce sync.Once
	last     atomic.Int64 // latest receipt, ns since base
	errOnce  sync.Once
	err      error
	failed   chan struct{}
}

func (f *fanout) fail(err error) {
	f.errOnce.Do(func() { f.err = err; close(f.failed) })
}

// Fanout joins cfg.Members clients and one sender to a channel, then sends
// messages, keeping at most cfg.Inflight of them not yet received by every
// member, until cfg.Messages were sent or cfg.Duration passed; then it
// waits (bounded) for the outstanding ones. Each text ends with
// "~SEQ.NS", NS being the send time, so each receipt gives a latency.
func Fanout(ctx context.Context, cfg FanoutConfig) (FanoutResult, error) {
	if cfg.Members <= 0 || cfg.Inflight <= 0 || cfg.Messages <= 0 {
		return FanoutResult{}, errors.New("fanout: members, inflight and messages must be positive")
	}
	if cfg.Pad < 0 || cfg.Pad > 400 {
		return FanoutResult{}, errors.New("fanout: pad must be within 0..400")
	}
	if cfg.Channel == "" {
		cfg.Channel = "#fanout"
	}
	if cfg.Dialers <= 0 {
		cfg.Dialers = 32
	}
	if cfg.NickBase == "" {
		cfg.NickBase = "f"
	}
	log := orDiscard(cfg.Logger)
	f := &fanout{
		cfg:     cfg,
		base:    time.Now(),
		counts:  make([]atomic.Int32, cfg.Messages),
		tokens:  make(chan struct{}, cfg.Inflight),
		allDone: make(chan struct{}),
		failed:  make(chan struct{}),
	}
	for range cfg.Inflight {
		f.tokens <- struct{}{}
	}
	res := FanoutResult{Members: cfg.Members, Inflight: cfg.Inflight}

	var conns []net.Conn
	var connsMu sync.Mutex
	var readers sync.WaitGroup
	hists := make([]Histogram, cfg.Members)
	defer func() {
		connsMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connsMu.Unlock()
		readers.Wait()
	}()
	keep := func(c net.Conn) {
		connsMu.Lock()
		conns = append(conns, c)
		connsMu.Unlock()
	}

	// The sender joins first, so the channel exists with it as operator.
	sc, err := dial(ctx, cfg.Addr)
	if err != nil {
		return res, fmt.Errorf("fanout sender: %w", err)
	}
	keep(sc)
	slr := newLineReader(sc, 64<<10)
	if err := register(ctx, slr, cfg.NickBase+"s"); err != nil {
		return res, fmt.Errorf("fanout sender: %w", err)
	}
	if err := join(ctx, slr, cfg.Channel); err != nil {
		return res, fmt.Errorf("fanout sender: %w", err)
	}
	readers.Go(func() { f.drain(slr) })

	// Members join with bounded concurrency; each starts receiving at once,
	// which also drains the JOIN lines of the members after it.
	var next atomic.Int64
	var joinErr error
	var joinOnce sync.Once
	var jw sync.WaitGroup
	for range min(cfg.Dialers, cfg.Members) {
		jw.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.Members || ctx.Err() != nil {
					return
				}
				c, err := dial(ctx, cfg.Addr)
				if err == nil {
					keep(c)
					lr := newLineReader(c, 64<<10)
					nick := cfg.NickBase + strconv.Itoa(i)
					if err = register(ctx, lr, nick); err == nil {
						err = join(ctx, lr, cfg.Channel)
					}
					if err == nil {
						lr.base = f.base
						h := &hists[i]
						readers.Go(func() { f.receive(lr, h) })
						continue
					}
				}
				joinOnce.Do(func() { joinErr = fmt.Errorf("fanout member %d: %w", i, err) })
				next.Store(int64(cfg.Members))
				return
			}
		})
	}
	jw.Wait()
	if joinErr == nil && ctx.Err() != nil {
		joinErr = fmt.Errorf("fanout: %w", ctx.Err())
	}
	if joinErr != nil {
		return res, joinErr
	}
	log.Info("fan-out members joined", "members", cfg.Members)
	// Let the JOIN broadcasts drain before the clock starts.
	if err := sleep(ctx, 500*time.Millisecond); err != nil {
		return res, fmt.Errorf("fanout: %w", err)
	}

	cpu := StartCPU(cfg.ServerPID)
	start := int64(time.Since(f.base))
	lineBytes, sendErr := f.send(ctx, sc)
	if sendErr == nil {
		// wait for the outstanding messages, bounded
		t := time.NewTimer(10 * time.Second)
		select {
		case <-f.allDone:
		case <-f.failed:
		case <-t.C:
			sendErr = errors.New("fanout: messages still undelivered 10s after the last send")
		case <-ctx.Done():
			sendErr = fmt.Errorf("fanout: %w", ctx.Err())
		}
		t.Stop()
	}
	res.CPU = cpu.Stop()
	// stop the receivers and collect
	connsMu.Lock()
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	connsMu.Unlock()
	readers.Wait()
	end := f.last.Load()

	var all Histogram
	for i := range hists {
		all.Merge(&hists[i])
	}
	res.Sent = int(f.sent.Load())
	res.Delivered = int(f.done.Load())
	res.Deliveries = int64(all.Count())
	res.LineBytes = lineBytes
	if end > start {
		res.Seconds = float64(end-start) / 1e9
		res.DeliveriesPerSecond = float64(res.Deliveries) / res.Seconds
	}
	res.P50Micros = micros(all.Quantile(0.50))
	res.P99Micros = micros(all.Quantile(0.99))
	res.MaxMicros = micros(all.Max())
	if srv := res.CPU.Server * res.CPU.Seconds; srv > 0 {
		res.PerServerCPUSecond = float64(res.Deliveries) / srv
	}
	log.Info("fan-out done", "sent", res.Sent, "delivered", res.Delivered, "seconds", res.Seconds)
	if sendErr != nil {
		return res, sendErr
	}
	if f.err != nil {
		return res, f.err
	}
	return res, nil
}

// send writes messages while tokens are available, batching every token
// at hand into one write. It returns the length of the relayed line a
// member receives (approximately: the sender's prefix is not known here).
func (f *fanout) send(ctx context.Context, c net.Conn) (int, error) {
	cfg := f.cfg
	head := "PRIVMSG " + cfg.Channel + " :" + string(bytes.Repeat([]byte{'x'}, cfg.Pad))
	buf := make([]byte, 0, cfg.Inflight*(len(head)+48))
	var deadline <-chan time.Time
	if cfg.Duration > 0 {
		t := time.NewTimer(cfg.Duration)
		defer t.Stop()
		deadline = t.C
	}
	defer func() {
		f.stopped.Store(true)
		f.checkDone()
	}()
	lineBytes := 0
	for seq := 0; seq < cfg.Messages; {
		select {
		case <-f.tokens:
		case <-deadline:
			return lineBytes, nil
		case <-f.failed:
			return lineBytes, f.err
		case <-ctx.Done():
			return lineBytes, fmt.Errorf("fanout: %w", ctx.Err())
		}
		n := 1
	more:
		for n < cfg.Inflight && seq+n < cfg.Messages {
			select {
			case <-f.tokens:
				n++
			default:
				break more
			}
		}
		buf = buf[:0]
		now := int64(time.Since(f.base))
		for k := range n {
			l0 := len(buf)
			buf = append(buf, head...)
			buf = appendMarker(buf, int64(seq+k), now)
			buf = append(buf, '\r', '\n')
			lineBytes = len(buf) - l0
		}
		c.SetWriteDeadline(time.Now().Add(opTimeout))
		if _, err := c.Write(buf); err != nil {
			return lineBytes, fmt.Errorf("fanout send: %w", err)
		}
		seq += n
		f.sent.Store(int64(seq))
	}
	return lineBytes, nil
}

// checkDone closes allDone once the sender has stopped and every message
// it sent is delivered.
func (f *fanout) checkDone() {
	if f.stopped.Load() && f.done.Load() == f.sent.Load() {
		f.doneOnce.Do(func() { close(f.allDone) })
	}
}

// receive is one member's read loop: one timestamp per read, no
// allocation per line.
func (f *fanout) receive(lr *lineReader, h *Histogram) {
	members := int32(f.cfg.Members)
	nmsg := int64(len(f.counts))
	var last int64
	defer func() {
		for {
			cur := f.last.Load()
			if last <= cur || f.last.CompareAndSwap(cur, last) {
				return
			}
		}
	}()
	for {
		line, err := lr.next()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				f.fail(fmt.Errorf("fanout member: read: %w", err))
			}
			return
		}
		seq, ns, ok := parseMarker(line)
		if !ok {
			switch string(command(line)) {
			case "PING":
				if pong(lr.conn) != nil {
					return
				}
			case "ERROR":
				f.fail(errors.New("fanout member: server sent ERROR"))
				return
			}
			continue
		}
		if seq < 0 || seq >= nmsg {
			continue
		}
		h.Record(time.Duration(lr.at - ns))
		last = lr.at
		if f.counts[seq].Add(1) == members {
			f.done.Add(1)
			f.tokens <- struct{}{} // never blocks: at most Inflight are out
			f.checkDone()
		}
	}
}

// drain reads the sender's connection, answering PINGs.
func (f *fanout) drain(lr *lineReader) {
	for {
		line, err := lr.next()
		if err != nil {
			return
		}
		switch string(command(line)) {
		case "PING":
			if pong(lr.conn) != nil {
				return
			}
		case "ERROR":
			f.fail(errors.New("fanout sender: server sent ERROR"))
			return
		}
	}
}
