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
	workers := min(cfg.Concurrency, cfg.Registrations)
	res := RegisterResult{Concurrency: workers}
	maxFail := int64(max(cfg.Registrations/100, 10))
	var next, ok, failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	hists := make([]Histogram, workers)
	var wg sync.WaitGroup
	cpu := StartCPU(cfg.ServerPID)
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			h := &hists[w]
			lr := newLineReader(nil, 16<<10)
			nick := make([]byte, 0, 32)
			for {
				i := next.Add(1) - 1
				if i >= int64(cfg.Registrations) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				c, err := dial(ctx, cfg.Addr)
				if err == nil {
					lr.reset(c)
					nick = strconv.AppendInt(append(nick[:0], cfg.NickBase...), i, 10)
					err = register(ctx, lr, string(nick))
					c.Close()
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					if failed.Add(1) > maxFail {
						next.Store(int64(cfg.Registrations))
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
	elapsed := time.Since(start)
	res.CPU = cpu.Stop()
	if srv := res.CPU.Server * res.CPU.Seconds; srv > 0 {
		res.PerServerCPUSecond = float64(ok.Load()) / srv
	}
	var all Histogram
	for i := range hists {
		all.Merge(&hists[i])
	}
	res.Registrations = int(ok.Load())
	res.Failures = int(failed.Load())
	res.Seconds = elapsed.Seconds()
	res.PerSecond = float64(res.Registrations) / elapsed.Seconds()
	res.P50Micros = micros(all.Quantile(0.50))
	res.P99Micros = micros(all.Quantile(0.99))
	res.MaxMicros = micros(all.Max())
	log.Info("registrations done", "ok", res.Registrations, "failed", res.Failures, "seconds", res.Seconds)
	if ctx.Err() != nil {
		return res, fmt.Errorf("register: %w", ctx.Err())
	}
	if res.Failures > 0 {
		return res, fmt.Errorf("register: %d of %d failed, first: %w", res.Failures, cfg.Registrations, firstErr)
	}
	return res, nil
}

func micros(d time.Duration) float64 { return float64(d) / 1e3 }
