package metrics

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/torsvc"
)

var (
	descClients = prometheus.NewDesc("thorchat_clients",
		"Connected clients by kind (unregistered, guest, logged_in, operator) and transport.", []string{"kind", "transport"}, nil)
	descChannels  = prometheus.NewDesc("thorchat_channels", "Channels that exist.", nil, nil)
	descStoreSize = prometheus.NewDesc("thorchat_store_size_bytes", "Size of the database file.", nil, nil)
	descHistory   = prometheus.NewDesc("thorchat_history_messages", "Messages kept in history, all targets together.", nil, nil)
	descStart     = prometheus.NewDesc("thorchat_start_time_seconds", "When the daemon started, Unix time.", nil, nil)
	descTorUp     = prometheus.NewDesc("thorchat_tor_up",
		"1 while the control connection to tor is up (embedded mode: tor runs).", nil, nil)
	descBootstrap = prometheus.NewDesc("thorchat_tor_bootstrap_percent", "Tor's last reported bootstrap progress (-1: none yet).", nil, nil)
	descRestarts  = prometheus.NewDesc("thorchat_tor_restarts_total",
		"Times tor died (embedded mode) or its control connection was lost (control mode).", nil, nil)
	descPublished = prometheus.NewDesc("thorchat_onion_descriptor_published",
		"1 once tor uploaded the onion service descriptor since the start.", nil, nil)
	descDescAge = prometheus.NewDesc("thorchat_onion_descriptor_age_seconds",
		"Seconds since the last descriptor upload (absent before the first).", nil, nil)
)

// stateCollector reads the daemon's state at scrape time.
type stateCollector struct {
	src   Sources
	start time.Time
	tor   atomic.Pointer[func() (torsvc.Health, bool)]
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descClients, descChannels, descStoreSize, descHistory, descStart,
		descTorUp, descBootstrap, descRestarts, descPublished, descDescAge} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descStart, float64(c.start.UnixNano())/1e9)
	if c.src.Snapshot != nil {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		snap, err := c.src.Snapshot(ctx)
		cancel()
		if err == nil {
			seen := map[[2]string]bool{}
			for _, cc := range snap.Clients {
				gauge(descClients, float64(cc.N), cc.Kind, cc.Transport)
				seen[[2]string{cc.Kind, cc.Transport}] = true
			}
			// every kind shows, at zero when nobody is of that kind
			for _, k := range []string{ircd.KindUnregistered, ircd.KindGuest, ircd.KindLoggedIn, ircd.KindOperator} {
				for _, t := range []string{"onion", "dev"} {
					if !seen[[2]string{k, t}] {
						gauge(descClients, 0, k, t)
					}
				}
			}
			gauge(descChannels, float64(snap.Channels))
		} else {
			ch <- prometheus.NewInvalidMetric(descClients, err)
		}
	}
	if c.src.HistoryMessages != nil {
		if n, err := c.src.HistoryMessages(); err == nil {
			gauge(descHistory, float64(n))
		} else {
			ch <- prometheus.NewInvalidMetric(descHistory, err)
		}
	}
	if c.src.StoreSize != nil {
		if n, err := c.src.StoreSize(); err == nil {
			gauge(descStoreSize, float64(n))
		} else {
			ch <- prometheus.NewInvalidMetric(descStoreSize, err)
		}
	}
	if f := c.tor.Load(); f != nil {
		if h, ok := (*f)(); ok {
			gauge(descTorUp, b2f(h.Up))
			gauge(descBootstrap, float64(h.Bootstrap))
			ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(h.Restarts))
			gauge(descPublished, b2f(h.Published()))
			if h.Published() {
				gauge(descDescAge, time.Since(h.LastUpload).Seconds())
			}
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
