package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FloodConfig configures the flood-isolation scenario. The server must
// throttle commands (the daemon's default [flood] rate = 2, burst = 10,
// excess = 40); PaceRate and PaceBurst must match its default class.
type FloodConfig struct {
	Addr  string
	Phase time.Duration // length of each phase (default 10s)
	// Calm well-behaved pairs, each in a channel of its own (#calmN):
	// the sender sends one message every CalmInterval (the pairs
	// staggered), the receiver measures its latency.
	Calm         int           // default 100
	CalmInterval time.Duration // default 1s
	NoiseMembers int           // plain members of #noise and #pace (default 5)
	// Flooders write PRIVMSGs to #noise as fast as their sockets allow
	// (0: none, which makes the flood phase a second baseline).
	Flooders int
	// Reconnect: a flooder the server disconnects connects again at once,
	// for as long as the flood phase lasts.
	Reconnect bool
	// Pacers, when positive, adds a third phase: that many clients in
	// #pace (with the noise members) each send PaceBurst messages at
	// once and then one every 1/PaceRate seconds, exactly the default
	// class's allowance.
	Pacers    int
	PaceRate  float64 // default 2
	PaceBurst int     // default 10
	// PaceStagger spreads the pacers' sends evenly over 1/PaceRate;
	// without it they all send at the same instants (the worst case).
	PaceStagger bool
	// Rounds repeats the phases (baseline, flood[, pace]) this often, so
	// the spread of the baseline rounds shows the machine's noise
	// (default 1).
	Rounds    int
	Pad       int    // filler bytes per message text (0..400)
	NickBase  string // nick prefix (default "z")
	ServerPID int    // when set, CPU figures per phase
	Logger    *slog.Logger
}

// FloodPhase is what the calm pairs saw in one phase, or in all the
// rounds' phases of one kind (pooled).
type FloodPhase struct {
	Name       string  `json:"name"`
	Round      int     `json:"round,omitempty"` // from 1; 0 when pooled
	Seconds    float64 `json:"seconds"`
	Sent       int64   `json:"calm_sent"`
	Deliveries int64   `json:"calm_deliveries"`
	Expected   int64   `json:"calm_expected"`
	P50Micros  float64 `json:"p50_us"`
	P99Micros  float64 `json:"p99_us"`
	MaxMicros  float64 `json:"max_us"`
	// Pooled only: the lowest and highest p99 of the single rounds.
	RoundP99MinMicros float64 `json:"round_p99_min_us,omitempty"`
	RoundP99MaxMicros float64 `json:"round_p99_max_us,omitempty"`
	// CPU covers the phase (not the grace period after it); pooled, the
	// fractions are averages over the rounds.
	CPU CPUUsage `json:"cpu"`
}

// FloodResult reports calm-pair latency without and with flooding, and
// what became of the flooders and pacers.
type FloodResult struct {
	Calm           int          `json:"calm_pairs"`
	CalmInterval   float64      `json:"calm_interval_seconds"`
	NoiseMembers   int          `json:"noise_members"`
	Rounds         int          `json:"rounds"`
	Phases         []FloodPhase `json:"phases"`
	Pooled         []FloodPhase `json:"pooled"` // one per kind of phase, over the rounds
	Flooders       int          `json:"flooders"`
	FloodConns     int64        `json:"flood_connections"`       // registered and joined
	FloodRefused   int64        `json:"flood_refused"`           // connections the server refused (conn_rate)
	FloodKilled    int64        `json:"flood_excess_flood"`      // closed with "Excess flood"
	FloodOther     int64        `json:"flood_other_close"`       // closed otherwise
	FloodOpenAtEnd int64        `json:"flood_open_at_phase_end"` // still flooding, not cut off, when its phase ended
	FloodWritten   int64        `json:"flood_lines_written"`     // taken by the sockets
	FloodReceived  int64        `json:"flood_lines_delivered"`   // per noise member (the most any received)
	FirstKillMs    float64      `json:"first_kill_ms"`           // first flooder connection: first write -> closed
	KillP50Ms      float64      `json:"kill_p50_ms"`
	KillMaxMs      float64      `json:"kill_max_ms"`
	Pacers         int          `json:"pacers,omitempty"`
	PaceStagger    bool         `json:"pace_stagger,omitempty"`
	PaceSent       int64        `json:"pace_sent,omitempty"`
	PaceReceived   int64        `json:"pace_delivered,omitempty"` // per noise member (the most any received)
	PacersKilled   int64        `json:"pacers_disconnected"`
}

// Phase returns the pooled figures of the phases called name, or nil.
func (r *FloodResult) Phase(name string) *FloodPhase {
	for i := range r.Pooled {
		if r.Pooled[i].Name == name {
			return &r.Pooled[i]
		}
	}
	return nil
}

// Phase names, in order.
const (
	PhaseBaseline = "baseline"
	PhaseFlood    = "flood"
	PhasePace     = "pace"
)

const (
	calmPrefix   = "#calm"
	noiseChannel = "#noise"
	paceChannel  = "#pace"
	// maxFloodDials bounds the connection attempts of one flooder.
	maxFloodDials = 20000
	// phaseGrace is the wait after a phase for messages still in flight.
	phaseGrace = time.Second
)

// calmPair is a well-behaved sender and its receiver in a channel of
// their own.
type calmPair struct {
	channel string
	send    net.Conn
	recv    *lineReader
	gone    atomic.Bool // a connection ended before the scenario did
}

// noiseCounts counts the flooders' and pacers' lines one member received.
type noiseCounts struct {
	flood, pace atomic.Int64
	gone        atomic.Bool
}

// floodRun is the shared state of one run.
type floodRun struct {
	cfg    FloodConfig
	log    *slog.Logger
	base   time.Time
	conns  []net.Conn
	connMu sync.Mutex
	wg     sync.WaitGroup
	nick   atomic.Int64

	calm  []*calmPair
	noise []*noiseCounts
	// hists holds the calm latencies per phase (index = the marker's
	// phase number); about 100 receipts a second, so one lock will do.
	histMu sync.Mutex
	hists  []Histogram

	floodConns, floodRefused, floodKilled, floodOther, floodWritten, floodOpenAtEnd atomic.Int64
	killMu                                                                          sync.Mutex
	kills                                                                           Histogram
	firstKill                                                                       time.Duration

	paceSent, pacersKilled atomic.Int64
}

// Flood measures flood isolation: calm pairs exchange messages, each in
// its own channel, for one phase with nothing else going on (baseline), one phase
// while flooders write PRIVMSGs to #noise as fast as they can, and, with
// Pacers, one phase while many clients send to #pace at exactly the
// throttle's allowance. Each calm text ends with "~PHASE.NS", so every
// receipt gives a latency for its phase.
func Flood(ctx context.Context, cfg FloodConfig) (FloodResult, error) {
	if cfg.Phase <= 0 {
		cfg.Phase = 10 * time.Second
	}
	if cfg.Calm == 0 {
		cfg.Calm = 100
	}
	if cfg.CalmInterval <= 0 {
		cfg.CalmInterval = time.Second
	}
	if cfg.NoiseMembers == 0 {
		cfg.NoiseMembers = 5
	}
	if cfg.PaceRate <= 0 {
		cfg.PaceRate = 2
	}
	if cfg.PaceBurst <= 0 {
		cfg.PaceBurst = 10
	}
	if cfg.NickBase == "" {
		cfg.NickBase = "z"
	}
	if cfg.Rounds == 0 {
		cfg.Rounds = 1
	}
	switch {
	case cfg.Rounds < 1 || cfg.Rounds > 20:
		return FloodResult{}, errors.New("flood: rounds must be within 1..20")
	case cfg.Calm < 1 || cfg.Calm > 1000:
		return FloodResult{}, errors.New("flood: calm pairs must be within 1..1000")
	case cfg.NoiseMembers < 1 || cfg.NoiseMembers > 1000 || cfg.Flooders < 0 || cfg.Flooders > 100:
		return FloodResult{}, errors.New("flood: noise members must be within 1..1000, flooders within 0..100")
	case cfg.Pacers < 0 || cfg.Pacers > 5000:
		return FloodResult{}, errors.New("flood: pacers must be within 0..5000")
	case cfg.Pad < 0 || cfg.Pad > 400:
		return FloodResult{}, errors.New("flood: pad must be within 0..400")
	case cfg.Phase > time.Hour || cfg.CalmInterval > cfg.Phase:
		return FloodResult{}, errors.New("flood: phase must be at most 1h and at least one calm interval")
	case cfg.PaceRate > 1000 || cfg.PaceBurst > 1000:
		return FloodResult{}, errors.New("flood: pace rate and burst must be at most 1000")
	}
	r := &floodRun{cfg: cfg, log: orDiscard(cfg.Logger), base: time.Now()}
	res := FloodResult{
		Calm: cfg.Calm, CalmInterval: cfg.CalmInterval.Seconds(), NoiseMembers: cfg.NoiseMembers, Rounds: cfg.Rounds,
		Flooders: cfg.Flooders, Pacers: cfg.Pacers, PaceStagger: cfg.PaceStagger,
	}
	defer r.closeAll()
	kinds := []string{PhaseBaseline, PhaseFlood}
	if cfg.Pacers > 0 {
		kinds = append(kinds, PhasePace)
	}
	r.hists = make([]Histogram, cfg.Rounds*len(kinds)) // before any reader starts

	// Everyone but the flooders connects first, while the server's
	// new-connection bucket is full.
	if err := r.setup(ctx); err != nil {
		return res, err
	}
	pacers, err := r.connectPacers(ctx)
	if err != nil {
		return res, err
	}
	if err := sleep(ctx, 500*time.Millisecond); err != nil { // JOIN lines drain
		return res, fmt.Errorf("flood: %w", err)
	}

	for i := range r.hists {
		round, name := i/len(kinds)+1, kinds[i%len(kinds)]
		r.log.Info("flood phase", "round", round, "phase", name, "seconds", cfg.Phase.Seconds())
		ph, err := r.runPhase(ctx, i, name, pacers)
		ph.Round = round
		res.Phases = append(res.Phases, ph)
		if err != nil {
			r.closeAll()
			return r.finish(res), err
		}
	}
	// The readers stop before their histograms and counters are read.
	r.closeAll()
	res = r.finish(res)
	for _, c := range r.calm {
		if c.gone.Load() {
			return res, errors.New("flood: a calm client was disconnected")
		}
	}
	for _, n := range r.noise {
		if n.gone.Load() {
			return res, errors.New("flood: a #noise member was disconnected")
		}
	}
	return res, nil
}

// finish fills the result from the counters and histograms, once the
// readers have stopped.
func (r *floodRun) finish(res FloodResult) FloodResult {
	pooled := map[string]*Histogram{}
	res.Pooled = nil
	for i := range res.Phases {
		ph := &res.Phases[i]
		h := &r.hists[i]
		ph.Deliveries = int64(h.Count())
		ph.P50Micros = micros(h.Quantile(0.50))
		ph.P99Micros = micros(h.Quantile(0.99))
		ph.MaxMicros = micros(h.Max())
		all := pooled[ph.Name]
		if all == nil {
			all = new(Histogram)
			pooled[ph.Name] = all
			res.Pooled = append(res.Pooled, FloodPhase{Name: ph.Name, RoundP99MinMicros: ph.P99Micros})
		}
		all.Merge(h)
		pl := res.Phase(ph.Name)
		pl.Seconds += ph.Seconds
		pl.Sent += ph.Sent
		pl.Deliveries += ph.Deliveries
		pl.Expected += ph.Expected
		pl.RoundP99MinMicros = min(pl.RoundP99MinMicros, ph.P99Micros)
		pl.RoundP99MaxMicros = max(pl.RoundP99MaxMicros, ph.P99Micros)
		addCPU(&pl.CPU, ph.CPU)
	}
	for i := range res.Pooled {
		pl := &res.Pooled[i]
		all := pooled[pl.Name]
		pl.P50Micros = micros(all.Quantile(0.50))
		pl.P99Micros = micros(all.Quantile(0.99))
		pl.MaxMicros = micros(all.Max())
		if s := pl.CPU.Seconds; s > 0 {
			pl.CPU.Server /= s
			pl.CPU.Load /= s
			pl.CPU.ServerRunWait /= s
			pl.CPU.LoadRunWait /= s
			pl.CPU.Steal /= s
		}
	}
	res.FloodConns = r.floodConns.Load()
	res.FloodRefused = r.floodRefused.Load()
	res.FloodKilled = r.floodKilled.Load()
	res.FloodOther = r.floodOther.Load()
	res.FloodOpenAtEnd = r.floodOpenAtEnd.Load()
	res.FloodWritten = r.floodWritten.Load()
	for _, n := range r.noise {
		res.FloodReceived = max(res.FloodReceived, n.flood.Load())
		res.PaceReceived = max(res.PaceReceived, n.pace.Load())
	}
	r.killMu.Lock()
	res.FirstKillMs = float64(r.firstKill) / 1e6
	res.KillP50Ms = float64(r.kills.Quantile(0.5)) / 1e6
	res.KillMaxMs = float64(r.kills.Max()) / 1e6
	r.killMu.Unlock()
	res.PaceSent = r.paceSent.Load()
	res.PacersKilled = r.pacersKilled.Load()
	return res
}

// addCPU adds u to the sums in sum: the fractions weighted by seconds
// (finish divides them by the total).
func addCPU(sum *CPUUsage, u CPUUsage) {
	sum.Seconds += u.Seconds
	sum.Server += u.Server * u.Seconds
	sum.Load += u.Load * u.Seconds
	sum.ServerRunWait += u.ServerRunWait * u.Seconds
	sum.LoadRunWait += u.LoadRunWait * u.Seconds
	sum.ServerReads += u.ServerReads
	sum.ServerWrites += u.ServerWrites
	sum.Steal += u.Steal * u.Seconds
}

func (r *floodRun) keep(c net.Conn) {
	r.connMu.Lock()
	r.conns = append(r.conns, c)
	r.connMu.Unlock()
}

func (r *floodRun) closeAll() {
	r.connMu.Lock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
	r.connMu.Unlock()
	r.wg.Wait()
}

func (r *floodRun) nextNick(kind string) string {
	return r.cfg.NickBase + kind + strconv.FormatInt(r.nick.Add(1), 10)
}

// errRefused is a connection the server turned away at once (its
// new-connection bucket was empty, or it was full).
var errRefused = errors.New("connection refused by the server")

// connectJoin connects, registers and joins channel. A refused connection
// is retried after a pause, for at most opTimeout.
func (r *floodRun) connectJoin(ctx context.Context, kind string, channels ...string) (*net.TCPConn, *lineReader, error) {
	deadline := time.Now().Add(opTimeout)
	for {
		c, lr, err := r.tryConnectJoin(ctx, r.nextNick(kind), channels...)
		if err == nil {
			return c, lr, nil
		}
		if !errors.Is(err, errRefused) || time.Now().After(deadline) {
			return nil, nil, err
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return nil, nil, fmt.Errorf("flood: %w", err)
		}
	}
}

func (r *floodRun) tryConnectJoin(ctx context.Context, nick string, channels ...string) (*net.TCPConn, *lineReader, error) {
	c, err := dial(ctx, r.cfg.Addr)
	if err != nil {
		return nil, nil, err
	}
	lr := newLineReader(c, 16<<10)
	err = register(ctx, lr, nick)
	for _, ch := range channels {
		if err == nil {
			err = join(ctx, lr, ch)
		}
	}
	if err != nil {
		c.Close()
		if strings.Contains(err.Error(), "try again later") {
			err = fmt.Errorf("%w: %w", errRefused, err)
		}
		return nil, nil, err
	}
	r.keep(c)
	return c, lr, nil
}

// setup connects the calm pairs and the noise members (in #noise,
// where the flooders write, and #pace, where the pacers do) and starts
// their readers.
func (r *floodRun) setup(ctx context.Context) error {
	for i := range r.cfg.Calm {
		cp := &calmPair{channel: calmPrefix + strconv.Itoa(i)}
		c, slr, err := r.connectJoin(ctx, "s", cp.channel)
		if err != nil {
			return fmt.Errorf("flood: calm sender: %w", err)
		}
		cp.send = c
		_, rlr, err := r.connectJoin(ctx, "r", cp.channel)
		if err != nil {
			return fmt.Errorf("flood: calm receiver: %w", err)
		}
		rlr.base = r.base
		cp.recv = rlr
		r.calm = append(r.calm, cp)
		r.wg.Go(func() { r.receiveCalm(cp) })
		r.wg.Go(func() { drainPings(slr, &cp.gone) })
	}
	for range r.cfg.NoiseMembers {
		_, lr, err := r.connectJoin(ctx, "n", noiseChannel, paceChannel)
		if err != nil {
			return fmt.Errorf("flood: #noise member: %w", err)
		}
		nc := &noiseCounts{}
		r.noise = append(r.noise, nc)
		r.wg.Go(func() { r.receiveNoise(lr, nc) })
	}
	r.log.Info("flood clients joined", "calm", r.cfg.Calm, "noise", r.cfg.NoiseMembers)
	return nil
}

// drainPings reads a connection that expects nothing but PINGs.
func drainPings(lr *lineReader, gone *atomic.Bool) {
	for {
		line, err := lr.next()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				gone.Store(true)
			}
			return
		}
		switch string(command(line)) {
		case "PING":
			if pong(lr.conn) != nil {
				return
			}
		case "ERROR":
			gone.Store(true)
			return
		}
	}
}

// receiveCalm records the latency of every calm message, by phase.
func (r *floodRun) receiveCalm(cc *calmPair) {
	lr := cc.recv
	for {
		line, err := lr.next()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				cc.gone.Store(true)
			}
			return
		}
		phase, ns, ok := parseMarker(line)
		if !ok {
			switch string(command(line)) {
			case "PING":
				if pong(lr.conn) != nil {
					return
				}
			case "ERROR":
				cc.gone.Store(true)
				return
			}
			continue
		}
		r.histMu.Lock()
		if phase >= 0 && phase < int64(len(r.hists)) {
			r.hists[phase].Record(time.Duration(lr.at - ns))
		}
		r.histMu.Unlock()
	}
}

// receiveNoise counts the flooders' ("~F") and pacers' ("~P") lines.
func (r *floodRun) receiveNoise(lr *lineReader, nc *noiseCounts) {
	for {
		line, err := lr.next()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				nc.gone.Store(true)
			}
			return
		}
		switch {
		case bytes.HasSuffix(line, []byte("~F")):
			nc.flood.Add(1)
		case bytes.HasSuffix(line, []byte("~P")):
			nc.pace.Add(1)
		default:
			switch string(command(line)) {
			case "PING":
				if pong(lr.conn) != nil {
					return
				}
			case "ERROR":
				nc.gone.Store(true)
				return
			}
		}
	}
}

// pacer is one client that sends at exactly the throttle's allowance.
type pacer struct {
	conn net.Conn
}

func (r *floodRun) connectPacers(ctx context.Context) ([]pacer, error) {
	ps := make([]pacer, 0, r.cfg.Pacers)
	for range r.cfg.Pacers {
		c, lr, err := r.connectJoin(ctx, "p", paceChannel)
		if err != nil {
			return nil, fmt.Errorf("flood: pacer: %w", err)
		}
		ps = append(ps, pacer{conn: c})
		r.wg.Go(func() {
			// Pacers read only to answer PINGs and notice a disconnection.
			for {
				line, err := lr.next()
				if err != nil {
					if !errors.Is(err, net.ErrClosed) {
						r.pacersKilled.Add(1)
					}
					return
				}
				switch string(command(line)) {
				case "PING":
					if pong(lr.conn) != nil {
						return
					}
				case "ERROR":
					r.pacersKilled.Add(1)
					return
				}
			}
		})
	}
	if len(ps) > 0 {
		r.log.Info("pacers joined", "pacers", len(ps))
	}
	return ps, nil
}

// runPhase runs the calm senders (and the phase's noise) for cfg.Phase,
// then waits phaseGrace for messages in flight.
func (r *floodRun) runPhase(ctx context.Context, idx int, name string, pacers []pacer) (FloodPhase, error) {
	ph := FloodPhase{Name: name}
	pctx, cancel := context.WithTimeout(ctx, r.cfg.Phase)
	defer cancel()
	var sent atomic.Int64
	var senders sync.WaitGroup
	errs := make(chan error, len(r.calm)+len(pacers)+r.cfg.Flooders)
	cpu := StartCPU(r.cfg.ServerPID)
	start := time.Now()
	for i, cc := range r.calm {
		offset := time.Duration(i) * r.cfg.CalmInterval / time.Duration(len(r.calm))
		senders.Go(func() {
			if err := r.sendCalm(pctx, cc.send, cc.channel, idx, offset, &sent); err != nil {
				errs <- err
			}
		})
	}
	switch name {
	case PhaseFlood:
		for i := range r.cfg.Flooders {
			senders.Go(func() { r.flooder(pctx, i) })
		}
	case PhasePace:
		every := time.Duration(float64(time.Second) / r.cfg.PaceRate)
		for i, p := range pacers {
			var offset time.Duration
			if r.cfg.PaceStagger {
				offset = time.Duration(i) * every / time.Duration(len(pacers))
			}
			senders.Go(func() {
				if err := r.pace(pctx, p.conn, offset); err != nil {
					errs <- err
				}
			})
		}
	}
	senders.Wait()
	ph.Seconds = time.Since(start).Seconds()
	ph.CPU = cpu.Stop()
	ph.Sent = sent.Load()
	ph.Expected = ph.Sent
	if err := ctx.Err(); err != nil {
		return ph, fmt.Errorf("flood: %s phase: %w", name, err)
	}
	select {
	case err := <-errs:
		return ph, fmt.Errorf("flood: %s phase: %w", name, err)
	default:
	}
	if err := sleep(ctx, phaseGrace); err != nil {
		return ph, fmt.Errorf("flood: %w", err)
	}
	return ph, nil
}

// sendCalm sends one "~PHASE.NS" message every CalmInterval, starting
// after offset, until ctx ends.
func (r *floodRun) sendCalm(ctx context.Context, c net.Conn, channel string, phase int, offset time.Duration, sent *atomic.Int64) error {
	head := "PRIVMSG " + channel + " :" + strings.Repeat("x", r.cfg.Pad)
	buf := make([]byte, 0, len(head)+48)
	next := time.Now().Add(offset)
	for {
		if err := sleep(ctx, time.Until(next)); err != nil {
			return nil // the phase is over
		}
		buf = append(buf[:0], head...)
		buf = appendMarker(buf, int64(phase), int64(time.Since(r.base)))
		buf = append(buf, '\r', '\n')
		c.SetWriteDeadline(time.Now().Add(opTimeout))
		if _, err := c.Write(buf); err != nil {
			return fmt.Errorf("calm send: %w", err)
		}
		sent.Add(1)
		next = next.Add(r.cfg.CalmInterval)
	}
}

// pace waits offset, sends PaceBurst messages at once, then one every
// 1/PaceRate seconds, until ctx ends.
func (r *floodRun) pace(ctx context.Context, c net.Conn, offset time.Duration) error {
	line := []byte("PRIVMSG " + paceChannel + " :" + strings.Repeat("y", r.cfg.Pad) + "~P\r\n")
	burst := bytes.Repeat(line, r.cfg.PaceBurst)
	if err := sleep(ctx, offset); err != nil {
		return nil
	}
	c.SetWriteDeadline(time.Now().Add(opTimeout))
	if _, err := c.Write(burst); err != nil {
		return fmt.Errorf("pacer send: %w", err)
	}
	r.paceSent.Add(int64(r.cfg.PaceBurst))
	every := time.Duration(float64(time.Second) / r.cfg.PaceRate)
	next := time.Now().Add(every)
	for {
		if err := sleep(ctx, time.Until(next)); err != nil {
			return nil
		}
		c.SetWriteDeadline(time.Now().Add(opTimeout))
		if _, err := c.Write(line); err != nil {
			return fmt.Errorf("pacer send: %w", err)
		}
		r.paceSent.Add(1)
		next = next.Add(every)
	}
}

// flooder connects, joins #noise and writes PRIVMSGs as fast as the
// socket takes them until the server closes the connection; with
// Reconnect it starts again, until ctx ends.
func (r *floodRun) flooder(ctx context.Context, idx int) {
	line := []byte("PRIVMSG " + noiseChannel + " :" + strings.Repeat("z", r.cfg.Pad) + "~F\r\n")
	chunk := bytes.Repeat(line, max(1, (16<<10)/len(line)))
	kind := "f" + strconv.Itoa(idx) + "x"
	for range maxFloodDials {
		if ctx.Err() != nil {
			return
		}
		c, lr, err := r.tryConnectJoin(ctx, r.nextNick(kind), noiseChannel)
		if err != nil {
			if errors.Is(err, errRefused) {
				r.floodRefused.Add(1)
			} else if ctx.Err() == nil {
				r.log.Warn("flooder could not join", "err", err)
			}
			if sleep(ctx, 20*time.Millisecond) != nil {
				return
			}
			continue
		}
		r.floodConns.Add(1)
		r.floodOnce(ctx, c, lr, chunk, len(line))
		if !r.cfg.Reconnect {
			<-ctx.Done()
			return
		}
	}
}

// floodOnce floods one connection and records how it ended.
func (r *floodRun) floodOnce(ctx context.Context, c *net.TCPConn, lr *lineReader, chunk []byte, lineLen int) {
	type end struct {
		excess bool
		at     time.Time
	}
	ended := make(chan end, 1)
	go func() {
		for {
			line, err := lr.next()
			if err != nil {
				ended <- end{at: time.Now()}
				return
			}
			if string(command(line)) == "ERROR" {
				ended <- end{excess: bytes.Contains(line, []byte("Excess flood")), at: time.Now()}
				return
			}
		}
	}()
	t0 := time.Now()
	var off, total int
	for ctx.Err() == nil {
		// A write blocks while the server does not read; the deadline
		// bounds it so the phase's end is seen. A partial write is
		// continued, so no line is cut.
		c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := c.Write(chunk[off:])
		total += n
		off = (off + n) % len(chunk)
		if err != nil && !isTimeout(err) {
			break
		}
	}
	phaseOver := ctx.Err() != nil
	r.floodWritten.Add(int64(total / lineLen))
	var e end
	var ok bool
	select {
	case e = <-ended:
		ok = true
	case <-time.After(2 * time.Second):
	}
	c.Close() // ends the reader when the connection is still open
	if !ok {
		<-ended
	}
	if ok && e.excess {
		r.floodKilled.Add(1)
		d := e.at.Sub(t0)
		r.killMu.Lock()
		if r.kills.Count() == 0 {
			r.firstKill = d
		}
		r.kills.Record(d)
		r.killMu.Unlock()
		return
	}
	if !ok && phaseOver {
		r.floodOpenAtEnd.Add(1) // the phase ended first: not a miss of the throttle
		return
	}
	r.floodOther.Add(1)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
