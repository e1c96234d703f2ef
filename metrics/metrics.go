// Package metrics exposes the daemon's Prometheus metrics: counters fed by
// the IRC server (as an ircd.Observer) and the store (as its commit
// observer), gauges read at scrape time from the server, tor and the
// store, and the Go runtime. Labels never carry an identity: no nick,
// account, channel, circuit or address.
//
// The registry is served on a unix socket only (mode 0600, see Serve),
// and on TCP only on an explicit loopback address for development.
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/torsvc"
)

// Sources are read at every scrape; each may be nil.
type Sources struct {
	// Snapshot counts the IRC server's clients and channels.
	Snapshot func(ctx context.Context) (ircd.Snapshot, error)
	// Tor returns the onion service's health; ok is false without an
	// onion service.
	Tor func() (h torsvc.Health, ok bool)
	// StoreSize returns the database file's size in bytes.
	StoreSize func() (int64, error)
	// HistoryMessages returns how many messages history holds (all
	// targets together).
	HistoryMessages func() (int64, error)
}

// Metrics is the daemon's registry. It implements ircd.Observer.
type Metrics struct {
	reg *prometheus.Registry

	conns         *prometheus.CounterVec
	registrations prometheus.Counter
	logins        *prometheus.CounterVec
	saslFailures  prometheus.Counter
	floodKills    prometheus.Counter
	fakeLag       prometheus.Counter
	originRefused prometheus.Counter
	relayed       prometheus.Counter
	deliveries    prometheus.Counter
	sendqKills    prometheus.Counter
	stored        prometheus.Counter
	commits       prometheus.Histogram
	state         *stateCollector
}

var _ ircd.Observer = (*Metrics)(nil)

// scrapeTimeout bounds the reads of Sources during one scrape.
const scrapeTimeout = 2 * time.Second

// New builds the registry: the daemon's metrics, the state read from src
// at scrape time, and the Go runtime and process collectors.
func New(src Sources) *Metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		conns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "thorchat_connections_total",
			Help: "Connections accepted, by transport (onion, dev, websocket).",
		}, []string{"transport"}),
		registrations: counter("thorchat_registrations_total", "Clients that completed IRC registration."),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "thorchat_logins_total",
			Help: "Finished SASL exchanges, by mechanism and result (ok, refused).",
		}, []string{"mechanism", "result"}),
		saslFailures:  counter("thorchat_sasl_failures_total", "SASL failures charged to connections (refused, aborted, too long, unknown mechanism)."),
		floodKills:    counter("thorchat_flood_disconnects_total", "Clients disconnected for excess flood."),
		fakeLag:       counter("thorchat_fake_lag_total", "Commands delayed by the flood throttle (fake lag)."),
		originRefused: counter("thorchat_origin_refusals_total", "Connections refused because their origin (Tor circuit) has too many open or opens them too fast."),
		relayed:       counter("thorchat_messages_relayed_total", "PRIVMSG, NOTICE and TAGMSG messages relayed."),
		deliveries:    counter("thorchat_message_deliveries_total", "Copies of relayed messages queued to recipients."),
		stored:        counter("thorchat_messages_stored_total", "Messages written to history before they were relayed."),
		sendqKills:    counter("thorchat_sendq_disconnects_total", "Clients disconnected because their send queue was full."),
		commits: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "thorchat_store_commit_seconds",
			Help:    "Duration of store write transactions, commit and fsync included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
	}
	m.state = &stateCollector{src: src, start: time.Now()}
	if src.Tor != nil {
		m.SetTor(src.Tor)
	}
	m.reg.MustRegister(m.conns, m.registrations, m.logins, m.saslFailures, m.floodKills, m.fakeLag,
		m.originRefused, m.relayed, m.deliveries, m.sendqKills, m.stored, m.commits, m.state,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// the transports and results exist from the start, at zero
	for _, t := range []string{"onion", "dev", "websocket"} {
		m.conns.WithLabelValues(t)
	}
	return m
}

// Mechanisms makes the login series of these SASL mechanisms exist from
// the start, at zero.
func (m *Metrics) Mechanisms(mechs []string) {
	for _, mech := range mechs {
		m.logins.WithLabelValues(mech, "ok")
		m.logins.WithLabelValues(mech, "refused")
	}
}

// SetTor sets the source of the tor metrics once the onion service runs.
func (m *Metrics) SetTor(f func() (torsvc.Health, bool)) { m.state.tor.Store(&f) }

// Registry returns the registry to serve.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveCommit records one store write transaction (store.Options.CommitObserver).
func (m *Metrics) ObserveCommit(d time.Duration) { m.commits.Observe(d.Seconds()) }

// ConnOpened implements ircd.Observer.
func (m *Metrics) ConnOpened(transport string) { m.conns.WithLabelValues(transport).Inc() }

// Registered implements ircd.Observer.
func (m *Metrics) Registered() { m.registrations.Inc() }

// Login implements ircd.Observer.
func (m *Metrics) Login(mechanism string, ok bool) {
	result := "refused"
	if ok {
		result = "ok"
	}
	m.logins.WithLabelValues(mechanism, result).Inc()
}

// SASLFailure implements ircd.Observer.
func (m *Metrics) SASLFailure() { m.saslFailures.Inc() }

// FloodKill implements ircd.Observer.
func (m *Metrics) FloodKill() { m.floodKills.Inc() }

// FakeLag implements ircd.Observer.
func (m *Metrics) FakeLag() { m.fakeLag.Inc() }

// OriginRefused implements ircd.Observer.
func (m *Metrics) OriginRefused() { m.originRefused.Inc() }

// Relayed implements ircd.Observer.
func (m *Metrics) Relayed(deliveries int) {
	m.relayed.Inc()
	m.deliveries.Add(float64(deliveries))
}

// SendQKill implements ircd.Observer.
func (m *Metrics) SendQKill() { m.sendqKills.Inc() }

// Stored implements ircd.Observer.
func (m *Metrics) Stored() { m.stored.Inc() }
