package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Targets are the figures the server must reach on the reference machine.
type Targets struct {
	MaxBytesPerIdleClient  float64 `json:"max_bytes_per_idle_client"`
	MinRegistrationsPerSec float64 `json:"min_registrations_per_second"`
	MinDeliveriesPerSec    float64 `json:"min_deliveries_per_second"`
}

// DefaultTargets are ThorChat's performance targets (2 cores).
func DefaultTargets() Targets {
	return Targets{MaxBytesPerIdleClient: 8 << 10, MinRegistrationsPerSec: 5000, MinDeliveriesPerSec: 500000}
}

// Report is the outcome of one run of the load tool.
type Report struct {
	Tool     string              `json:"tool"`
	Date     string              `json:"date"`
	Addr     string              `json:"addr"`
	CPUs     int                 `json:"load_cpus"`
	Idle     *IdleResult         `json:"idle,omitempty"`
	Register *RegisterResult     `json:"register,omitempty"`
	Fanout   *FanoutResult       `json:"fanout,omitempty"`
	CPU      map[string]CPUUsage `json:"cpu"`
	Targets  Targets             `json:"targets"`
	Pass     map[string]bool     `json:"pass"`
	Errors   []string            `json:"errors,omitempty"`
}

// NewReport starts a report dated now.
func NewReport(addr string, cpus int) *Report {
	return &Report{
		Tool: "thorchat-load", Date: time.Now().UTC().Format(time.RFC3339),
		Addr: addr, CPUs: cpus, Targets: DefaultTargets(), Pass: map[string]bool{},
		CPU: map[string]CPUUsage{},
	}
}

// Judge fills Pass from the results against the targets.
func (r *Report) Judge() {
	t := r.Targets
	if r.Idle != nil && r.Idle.RSSAfter > 0 {
		r.Pass["idle"] = r.Idle.BytesPerClient <= t.MaxBytesPerIdleClient
	}
	if r.Register != nil {
		r.Pass["register"] = r.Register.Failures == 0 && r.Register.PerSecond >= t.MinRegistrationsPerSec
	}
	if r.Fanout != nil {
		r.Pass["fanout"] = r.Fanout.Delivered == r.Fanout.Sent && r.Fanout.DeliveriesPerSecond >= t.MinDeliveriesPerSec
	}
}

// WriteText writes the human-readable summary.
func (r *Report) WriteText(w io.Writer) {
	verdict := func(k string) string {
		ok, known := r.Pass[k]
		switch {
		case !known:
			return "n/a"
		case ok:
			return "PASS"
		}
		return "FAIL"
	}
	fmt.Fprintf(w, "thorchat-load %s  server %s  (load on %d CPU)\n", r.Date, r.Addr, r.CPUs)
	if i := r.Idle; i != nil {
		fmt.Fprintf(w, "idle:     %d registered idle clients in %.2fs\n", i.Clients, i.ConnectSeconds)
		if i.RSSAfter > 0 {
			fmt.Fprintf(w, "          server RSS %.1f MiB -> %.1f MiB / %.1f MiB (settled)\n",
				mib(i.RSSBefore), mib(i.RSSAfter1), mib(i.RSSAfter))
			fmt.Fprintf(w, "          %.0f bytes (%.2f KiB) per idle client   target <= %.0f KiB   %s\n",
				i.BytesPerClient, i.BytesPerClient/1024, r.Targets.MaxBytesPerIdleClient/1024, verdict("idle"))
		}
	}
	if g := r.Register; g != nil {
		fmt.Fprintf(w, "register: %d registrations (%d failed), %d concurrent, %.2fs\n",
			g.Registrations, g.Failures, g.Concurrency, g.Seconds)
		fmt.Fprintf(w, "          %.0f registrations/s   target >= %.0f   %s\n", g.PerSecond, r.Targets.MinRegistrationsPerSec, verdict("register"))
		fmt.Fprintf(w, "          latency p50 %.0f us  p99 %.0f us  max %.0f us\n", g.P50Micros, g.P99Micros, g.MaxMicros)
		if g.PerServerCPUSecond > 0 {
			fmt.Fprintf(w, "          server CPU %.0f us per registration (%.0f per server-CPU-second)\n", 1e6/g.PerServerCPUSecond, g.PerServerCPUSecond)
		}
	}
	if f := r.Fanout; f != nil {
		fmt.Fprintf(w, "fanout:   %d members, %d in flight, %d sent, %d delivered to all, %d deliveries in %.2fs (%d-byte lines)\n",
			f.Members, f.Inflight, f.Sent, f.Delivered, f.Deliveries, f.Seconds, f.LineBytes)
		fmt.Fprintf(w, "          %.0f deliveries/s   target >= %.0f   %s\n", f.DeliveriesPerSecond, r.Targets.MinDeliveriesPerSec, verdict("fanout"))
		fmt.Fprintf(w, "          latency p50 %.0f us  p99 %.0f us  max %.0f us\n", f.P50Micros, f.P99Micros, f.MaxMicros)
		if f.PerServerCPUSecond > 0 {
			fmt.Fprintf(w, "          server CPU %.0f ns per delivery (%.0f per server-CPU-second)\n", 1e9/f.PerServerCPUSecond, f.PerServerCPUSecond)
		}
		if f.CPU.ServerWrites > 0 {
			fmt.Fprintf(w, "          %.1f deliveries per server write()\n", float64(f.Deliveries)/float64(f.CPU.ServerWrites))
		}
	}
	for _, k := range []string{"idle", "register", "fanout"} {
		if u, ok := r.CPU[k]; ok {
			fmt.Fprintf(w, "cpu:      %-8s server %3.0f%% of a core (waited for a CPU %3.0f%%), load tool %3.0f%% (waited %3.0f%%) over %.1fs; server syscalls: %d reads, %d writes\n",
				k, 100*u.Server, 100*u.ServerRunWait, 100*u.Load, 100*u.LoadRunWait, u.Seconds, u.ServerReads, u.ServerWrites)
		}
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error:    %s\n", e)
	}
}

// WriteJSON writes the report as one JSON line.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
