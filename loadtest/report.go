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
	// Flood isolation: the calm clients' p99 while a flooder floods may
	// be at most FloodP99Factor × the baseline p99 + FloodP99SlackMicros
	// — "within noise" of the no-flood case. The pace phase (load within
	// every client's allowance: capacity, not isolation) has no target.
	FloodP99Factor      float64 `json:"flood_p99_max_factor"`
	FloodP99SlackMicros float64 `json:"flood_p99_slack_us"`
	// MinLoginsPerSec is for returning-account SASL logins.
	MinLoginsPerSec float64 `json:"min_returning_logins_per_second"`
	// MinFirstLoginsPerSec is for first-time SASL logins (each creates
	// its account).
	MinFirstLoginsPerSec float64 `json:"min_first_time_logins_per_second"`
	// History (issue 13): fan-out with history on at least
	// MinHistoryDeliveriesPerSec with p99 at most HistoryP99Factor × the
	// history-off p99 of the same run; stored messages per second from
	// the store scenario; CHATHISTORY LATEST p99 and the daemon's
	// start-up, both with at least HistoryStoredForTargets messages
	// stored (fewer: the figures are not at the target's conditions and
	// are judged FAIL).
	MinHistoryDeliveriesPerSec float64 `json:"min_history_deliveries_per_second"`
	HistoryP99Factor           float64 `json:"history_fanout_p99_max_factor"`
	MinStoredPerSec            float64 `json:"min_stored_messages_per_second"`
	MaxLatestP99Micros         float64 `json:"max_chathistory_latest_p99_us"`
	MaxStartupSeconds          float64 `json:"max_startup_seconds"`
	HistoryStoredForTargets    int64   `json:"history_stored_for_targets"`
}

// DefaultTargets are ThorChat's performance targets (2 cores).
func DefaultTargets() Targets {
	return Targets{
		MaxBytesPerIdleClient: 8 << 10, MinRegistrationsPerSec: 5000, MinDeliveriesPerSec: 500000,
		FloodP99Factor: 1.5, FloodP99SlackMicros: 1000, MinLoginsPerSec: 5000, MinFirstLoginsPerSec: 500,
		MinHistoryDeliveriesPerSec: 1_000_000, HistoryP99Factor: 2, MinStoredPerSec: 50_000,
		MaxLatestP99Micros: 5000, MaxStartupSeconds: 1, HistoryStoredForTargets: 1_000_000,
	}
}

// Report is the outcome of one run of the load tool.
type Report struct {
	Tool string `json:"tool"`
	Date string `json:"date"`
	Addr string `json:"addr"`
	CPUs int    `json:"load_cpus"`
	// ServerCPUs is the daemon's CPU affinity ("0-1"), when known.
	ServerCPUs string              `json:"server_cpus,omitempty"`
	Idle       *IdleResult         `json:"idle,omitempty"`
	Register   *RegisterResult     `json:"register,omitempty"`
	Fanout     *FanoutResult       `json:"fanout,omitempty"`
	Flood      *FloodResult        `json:"flood,omitempty"`
	Login      *LoginResult        `json:"login,omitempty"`
	History    *HistoryResult      `json:"history,omitempty"`
	CPU        map[string]CPUUsage `json:"cpu"`
	Targets    Targets             `json:"targets"`
	Pass       map[string]bool     `json:"pass"`
	Errors     []string            `json:"errors,omitempty"`
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
	if f := r.Flood; f != nil {
		r.Pass["flood"] = judgeFlood(f, t)
	}
	if l := r.Login; l != nil {
		r.Pass["login"] = l.Returning.Failures == 0 && l.Returning.Logins > 0 && l.Returning.PerSecond >= t.MinLoginsPerSec
		r.Pass["login_first_time"] = l.FirstTime.Failures == 0 && l.FirstTime.Logins > 0 && l.FirstTime.PerSecond >= t.MinFirstLoginsPerSec
	}
	if h := r.History; h != nil {
		judgeHistory(h, t, r.Pass)
	}
}

// judgeHistory judges the history scenario's figures; a figure that was
// not measured (its step failed or did not run) has no verdict.
func judgeHistory(h *HistoryResult, t Targets, pass map[string]bool) {
	if on, off := h.FanoutOn, h.FanoutOff; on != nil && off != nil {
		pass["history_fanout"] = on.Sent > 0 && on.Delivered == on.Sent && off.Delivered == off.Sent &&
			on.DeliveriesPerSecond >= t.MinHistoryDeliveriesPerSec &&
			on.P99Micros <= t.HistoryP99Factor*off.P99Micros
	}
	if s := h.Store; s != nil {
		pass["history_store"] = s.Acked > 0 && s.Refused == 0 && s.Acked == s.Sent && s.PerSecond >= t.MinStoredPerSec
	}
	full := h.Stored >= t.HistoryStoredForTargets
	if l := h.Latest; l != nil {
		pass["history_latest"] = full && l.Queries > 0 && l.Short == 0 && l.P99Micros < t.MaxLatestP99Micros
	}
	if s := h.Startup; s != nil {
		pass["history_startup"] = full && s.RegisteredSeconds > 0 && s.RegisteredSeconds < t.MaxStartupSeconds
	}
}

// judgeFlood judges isolation, what docs/performance.md claims: a flooder
// must not hurt others. Every calm message in every phase reached its
// receiver; the flood phase's p99 (pooled over the rounds) is within the
// allowance of the baseline's; every flooder connection was closed for
// excess flood, but for at most one per flooder per round still flooding
// when its phase ended; and no pacer (a client within its allowance) was
// disconnected. The pace phase's p99 measures capacity, not isolation,
// and is reported without a verdict.
func judgeFlood(f *FloodResult, t Targets) bool {
	base, flood := f.Phase(PhaseBaseline), f.Phase(PhaseFlood)
	if base == nil || flood == nil || base.Deliveries == 0 {
		return false
	}
	for _, ph := range f.Pooled {
		if ph.Deliveries != ph.Expected {
			return false
		}
	}
	if flood.P99Micros > t.FloodP99Factor*base.P99Micros+t.FloodP99SlackMicros {
		return false
	}
	if f.Flooders > 0 && (f.FloodKilled == 0 || f.FloodOther > 0 || f.FloodOpenAtEnd > int64(f.Flooders*max(f.Rounds, 1))) {
		return false
	}
	return f.PacersKilled == 0
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
	on := ""
	if r.ServerCPUs != "" {
		on = ", server on CPUs " + r.ServerCPUs
	}
	fmt.Fprintf(w, "thorchat-load %s  server %s  (load on %d CPU%s)\n", r.Date, r.Addr, r.CPUs, on)
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
	if f := r.Flood; f != nil {
		r.writeFlood(w, f, verdict("flood"))
	}
	if l := r.Login; l != nil {
		over := "TCP"
		if l.Unix {
			over = "the unix socket"
		}
		fmt.Fprintf(w, "login:    %d accounts, %d at a time over %s (%s client); a login is connect, CAP, THORCHAT-SECP256K1 with a real signature, end of MOTD\n",
			l.Accounts, l.Concurrency, over, l.Client)
		for _, ph := range []struct {
			name string
			p    LoginPhase
		}{{"first-time", l.FirstTime}, {"returning", l.Returning}} {
			p := ph.p
			fmt.Fprintf(w, "          %-10s %d logins (%d failed) in %.2fs: %.0f logins/s   latency p50 %.0f us  p99 %.0f us  max %.0f us\n",
				ph.name, p.Logins, p.Failures, p.Seconds, p.PerSecond, p.P50Micros, p.P99Micros, p.MaxMicros)
			fmt.Fprintf(w, "                     CPU per login: server %.0f us, load tool %.0f us; server %3.0f%% of a core (waited for a CPU %3.0f%%), load tool %3.0f%% (waited %3.0f%%), host steal %.1f%%\n",
				p.ServerCPUMicros, p.LoadCPUMicros, 100*p.CPU.Server, 100*p.CPU.ServerRunWait, 100*p.CPU.Load, 100*p.CPU.LoadRunWait, 100*p.CPU.Steal)
		}
		fmt.Fprintf(w, "          first-time logins/s target >= %.0f   %s\n", r.Targets.MinFirstLoginsPerSec, verdict("login_first_time"))
		fmt.Fprintf(w, "          returning logins/s target >= %.0f   %s\n", r.Targets.MinLoginsPerSec, verdict("login"))
	}
	if h := r.History; h != nil {
		r.writeHistory(w, h, verdict)
	}
	for _, k := range []string{"idle", "register", "fanout"} {
		if u, ok := r.CPU[k]; ok {
			fmt.Fprintf(w, "cpu:      %-8s server %3.0f%% of a core (waited for a CPU %3.0f%%), load tool %3.0f%% (waited %3.0f%%) over %.1fs; server syscalls: %d reads, %d writes\n",
				k, 100*u.Server, 100*u.ServerRunWait, 100*u.Load, 100*u.LoadRunWait, u.Seconds, u.ServerReads, u.ServerWrites)
		}
	}
	if f := r.Flood; f != nil {
		for _, ph := range f.Pooled {
			u := ph.CPU
			fmt.Fprintf(w, "cpu:      %-8s server %3.0f%% of a core (waited for a CPU %3.0f%%), load tool %3.0f%% (waited %3.0f%%) over %.1fs; server syscalls: %d reads, %d writes\n",
				ph.Name, 100*u.Server, 100*u.ServerRunWait, 100*u.Load, 100*u.LoadRunWait, u.Seconds, u.ServerReads, u.ServerWrites)
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

func (r *Report) writeFlood(w io.Writer, f *FloodResult, verdict string) {
	fmt.Fprintf(w, "flood:    %d calm pairs (sender -> receiver, a channel each), one message every %.2fs each; %d noise members in #noise and #pace\n",
		f.Calm, f.CalmInterval, f.NoiseMembers)
	for _, ph := range f.Phases {
		fmt.Fprintf(w, "          round %d %-8s %5d sent, %5d received   latency p50 %.0f us  p99 %.0f us  max %.0f us   server CPU %.0f%%, host steal %.1f%%\n",
			ph.Round, ph.Name, ph.Sent, ph.Deliveries, ph.P50Micros, ph.P99Micros, ph.MaxMicros, 100*ph.CPU.Server, 100*ph.CPU.Steal)
	}
	for _, ph := range f.Pooled {
		fmt.Fprintf(w, "          all     %-8s %5d sent, %5d received   latency p50 %.0f us  p99 %.0f us  max %.0f us   (p99 of the rounds %.0f..%.0f us)\n",
			ph.Name, ph.Sent, ph.Deliveries, ph.P50Micros, ph.P99Micros, ph.MaxMicros, ph.RoundP99MinMicros, ph.RoundP99MaxMicros)
	}
	if base := f.Phase(PhaseBaseline); base != nil {
		fmt.Fprintf(w, "          isolation: flood p99 <= %.1f x baseline + %.0f us = %.0f us, every calm message received, flooders cut off for excess flood, no pacer disconnected   %s\n",
			r.Targets.FloodP99Factor, r.Targets.FloodP99SlackMicros,
			r.Targets.FloodP99Factor*base.P99Micros+r.Targets.FloodP99SlackMicros, verdict)
		if pace := f.Phase(PhasePace); pace != nil {
			fmt.Fprintf(w, "          capacity: pace p99 %.0f us (%.1f x baseline): clients within their allowance, no target, not judged\n",
				pace.P99Micros, pace.P99Micros/max(base.P99Micros, 1))
		}
	}
	fmt.Fprintf(w, "          %d flooder(s): %d connections (%d refused at connect), %d closed with Excess flood, %d otherwise, %d still flooding when a phase ended\n",
		f.Flooders, f.FloodConns, f.FloodRefused, f.FloodKilled, f.FloodOther, f.FloodOpenAtEnd)
	fmt.Fprintf(w, "          flooder lines: %d taken by the sockets (most never read by the server), %d delivered to each noise member\n",
		f.FloodWritten, f.FloodReceived)
	fmt.Fprintf(w, "          first write -> disconnected: first %.1f ms, p50 %.1f ms, max %.1f ms\n",
		f.FirstKillMs, f.KillP50Ms, f.KillMaxMs)
	if f.Pacers > 0 {
		how := "all at the same instants"
		if f.PaceStagger {
			how = "staggered"
		}
		fmt.Fprintf(w, "          %d pacers in #pace at the limit (%s): %d lines sent, %d delivered to each noise member, %d disconnected\n",
			f.Pacers, how, f.PaceSent, f.PaceReceived, f.PacersKilled)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func (r *Report) writeHistory(w io.Writer, h *HistoryResult, verdict func(string) string) {
	t := r.Targets
	for _, f := range []struct {
		name string
		res  *FanoutResult
	}{{"off", h.FanoutOff}, {"on", h.FanoutOn}} {
		if f.res == nil {
			continue
		}
		fmt.Fprintf(w, "history:  fan-out with history %-3s %d members, %d in flight, %d sent, %d delivered to all: %.0f deliveries/s   latency p50 %.0f us  p99 %.0f us  max %.0f us\n",
			f.name, f.res.Members, f.res.Inflight, f.res.Sent, f.res.Delivered, f.res.DeliveriesPerSecond, f.res.P50Micros, f.res.P99Micros, f.res.MaxMicros)
		if f.res.PerServerCPUSecond > 0 {
			fmt.Fprintf(w, "          server CPU %.0f ns per delivery, server %3.0f%% of a core (waited for a CPU %3.0f%%)\n",
				1e9/f.res.PerServerCPUSecond, 100*f.res.CPU.Server, 100*f.res.CPU.ServerRunWait)
		}
	}
	if h.FanoutOff != nil {
		fmt.Fprintf(w, "          history on: >= %.0f deliveries/s and p99 <= %.1f x %.0f us = %.0f us   %s\n",
			t.MinHistoryDeliveriesPerSec, t.HistoryP99Factor, h.FanoutOff.P99Micros, t.HistoryP99Factor*h.FanoutOff.P99Micros, verdict("history_fanout"))
	}
	if s := h.Store; s != nil {
		fmt.Fprintf(w, "          store: %d senders (a channel each, window %d): %d sent, %d stored (echoed), %d refused in %.2fs: %.0f stored messages/s   target >= %.0f   %s\n",
			s.Senders, s.Window, s.Sent, s.Acked, s.Refused, s.Seconds, s.PerSecond, t.MinStoredPerSec, verdict("history_store"))
		fmt.Fprintf(w, "          store: send -> echo p50 %.0f us  p99 %.0f us  max %.0f us; server %3.0f%% of a core (waited for a CPU %3.0f%%)\n",
			s.P50Micros, s.P99Micros, s.MaxMicros, 100*s.CPU.Server, 100*s.CPU.ServerRunWait)
	}
	cond := fmt.Sprintf("%d messages stored", h.Stored)
	if h.Stored < t.HistoryStoredForTargets {
		cond += fmt.Sprintf(", fewer than the %d the targets are set for: not judged as met", t.HistoryStoredForTargets)
	}
	if l := h.Latest; l != nil {
		fmt.Fprintf(w, "          CHATHISTORY LATEST %s * %d: %d queries (%d short) p50 %.0f us  p99 %.0f us  max %.0f us   target p99 < %.0f us (%s)   %s\n",
			l.Channel, l.Limit, l.Queries, l.Short, l.P50Micros, l.P99Micros, l.MaxMicros, t.MaxLatestP99Micros, cond, verdict("history_latest"))
	}
	if h.DataBytes > 0 {
		fmt.Fprintf(w, "          data directory %.1f MiB for %d messages: %.0f bytes per stored message\n", mib(h.DataBytes), h.Stored, h.BytesPerMessage)
	}
	if s := h.StartupEmpty; s != nil {
		fmt.Fprintf(w, "          start-up, empty store: listener accepting %.3fs, registration answered %.3fs after exec\n", s.ConnectSeconds, s.RegisteredSeconds)
	}
	if s := h.Startup; s != nil {
		fmt.Fprintf(w, "          start-up with the store filled: listener accepting %.3fs, registration answered %.3fs after exec   target < %.1fs (%s)   %s\n",
			s.ConnectSeconds, s.RegisteredSeconds, t.MaxStartupSeconds, cond, verdict("history_startup"))
	}
}
