package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// RegisterConfig configures the registration-rate scenario.
type RegisterConfig struct {
	Addr          string
	Registrations int    // total registrations
	Concurrency   int    // connections registering at once
	NickBase      string // nick prefix (default "r")
	ServerPID     int    // when set, CPU figures for the server
	Logger        *slog.Logger
}

// RegisterResult reports registrations per second and per-registration
// latency (connect to end of MOTD).
type RegisterResult struct {
	Registrations int      `json:"registrations"`
	Concurrency   int      `json:"concurrency"`
	Failures      int      `json:"failures"`
	Seconds       float64  `json:"seconds"`
	PerSecond     float64  `json:"per_second"`
	P50Micros     float64  `json:"p50_us"`
	P99Micros     float64  `json:"p99_us"`
	MaxMicros     float64  `json:"max_us"`
	CPU           CPUUsage `json:"cpu"`
	// PerServerCPUSecond is registrations per second of server CPU time:
	// the rate the server would reach with a core of its own, when it is
	// the bottleneck.
	PerServerCPUSecond float64 `json:"per_server_cpu_second,omitempty"`
}

// Register runs cfg.Concurrency workers that each connect, register
// (NICK/USER, wait for 376 or 422) and disconnect, until
// cfg.Registrations registrations were attempted.
func Register(ctx context.Context, cfg RegisterConfig) (RegisterResult, error) {
	if cfg.Registrations <= 0 || cfg.Concurrency <= 0 {
		return RegisterResult{}, errors.New("register: registrations and concurrency must be positive")
	}
	if cfg.NickBase == "" {
		cfg.NickBase = "r"
	}
	log := orDiscard(cfg.Logger)
	res := RegisterResult{Concurrency: min(cfg.Concurrency, cfg.Registrations)}
	st := runWorkers(ctx, cfg.Registrations, cfg.Concurrency, cfg.ServerPID, func() func(int64) error {
		lr := newLineReader(nil, 16<<10)
		nick := make([]byte, 0, 32)
		return func(i int64) error {
			c, err := dial(ctx, cfg.Addr)
			if err != nil {
				return err
			}
			defer c.Close()
			lr.reset(c)
			nick = strconv.AppendInt(append(nick[:0], cfg.NickBase...), i, 10)
			return register(ctx, lr, string(nick))
		}
	})
	res.CPU = st.cpu
	if srv := res.CPU.Server * res.CPU.Seconds; srv > 0 {
		res.PerServerCPUSecond = float64(st.ok) / srv
	}
	res.Registrations = int(st.ok)
	res.Failures = int(st.failed)
	res.Seconds = st.elapsed.Seconds()
	res.PerSecond = float64(res.Registrations) / st.elapsed.Seconds()
	res.P50Micros = micros(st.hist.Quantile(0.50))
	res.P99Micros = micros(st.hist.Quantile(0.99))
	res.MaxMicros = micros(st.hist.Max())
	log.Info("registrations done", "ok", res.Registrations, "failed", res.Failures, "seconds", res.Seconds)
	if ctx.Err() != nil {
		return res, fmt.Errorf("register: %w", ctx.Err())
	}
	if res.Failures > 0 {
		return res, fmt.Errorf("register: %d of %d failed, first: %w", res.Failures, cfg.Registrations, st.firstErr)
	}
	return res, nil
}

// workerStats is what runWorkers measured.
type workerStats struct {
	ok, failed int64
	firstErr   error
	hist       Histogram // latency of the successful attempts
	elapsed    time.Duration
	cpu        CPUUsage
}

// runWorkers makes n attempts on min(concurrency, n) goroutines, each with
// its own attempt function from newWorker (so it can keep its buffers), and
// measures them. It stops early after max(n/100, 10) failures or when ctx
// ends.
func runWorkers(ctx context.Context, n, concurrency, serverPID int, newWorker func() func(i int64) error) workerStats {
	workers := min(concurrency, n)
	maxFail := int64(max(n/100, 10))
	var next, ok, failed atomic.Int64
	var st workerStats
	var errOnce sync.Once
	hists := make([]Histogram, workers)
	var wg sync.WaitGroup
	cpu := StartCPU(serverPID)
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			h := &hists[w]
			attempt := newWorker()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := attempt(i); err != nil {
					errOnce.Do(func() { st.firstErr = err })
					if failed.Add(1) > maxFail {
						next.Store(int64(n))
						return
					}
					continue
				}
				h.Record(time.Since(t0))
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	st.elapsed = time.Since(start)
	st.cpu = cpu.Stop()
	for i := range hists {
		st.hist.Merge(&hists[i])
	}
	st.ok, st.failed = ok.Load(), failed.Load()
	return st
}

func micros(d time.Duration) float64 { return float64(d) / 1e3 }
