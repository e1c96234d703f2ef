package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/irc.v4"
)

// documentedMetrics are the names docs/operations.md lists that a daemon
// without an onion service serves.
var documentedMetrics = []string{
	"thorchat_connections_total", "thorchat_registrations_total", "thorchat_logins_total",
	"thorchat_sasl_failures_total", "thorchat_flood_disconnects_total", "thorchat_fake_lag_total",
	"thorchat_origin_refusals_total", "thorchat_messages_relayed_total", "thorchat_message_deliveries_total",
	"thorchat_sendq_disconnects_total", "thorchat_store_commit_seconds", "thorchat_clients",
	"thorchat_channels", "thorchat_store_size_bytes", "thorchat_start_time_seconds",
	"thorchat_messages_stored_total", "thorchat_history_messages",
	"go_goroutines", "go_memstats_heap_alloc_bytes", "process_open_fds",
}

// scrape fetches /metrics over the unix socket and parses it with the
// Prometheus text parser; it returns the raw text too.
func scrape(t *testing.T, sock string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("http://metrics/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("parse metrics: %v\n%s", err, raw)
	}
	return fams, string(raw)
}

// value returns the value of the series of name whose labels include
// want (label=value pairs), summing counters, gauges and histogram counts.
func value(fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	sum := 0.0
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// TestMetricsSocket: the daemon serves its metrics on a 0600 unix socket;
// they move when clients connect, log in and talk, and name nobody.
func TestMetricsSocket(t *testing.T) {
	tc := newTestConfig(t)
	d := startDaemon(t, tc.write(t))
	sock := filepath.Join(tc.Dir, "metrics.sock")
	var fi os.FileInfo
	deadline := time.Now().Add(waitFor)
	for {
		var err error
		if fi, err = os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no metrics socket: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("metrics socket mode %v, want a 0600 socket", fi.Mode())
	}
	before, _ := scrape(t, sock)
	for _, n := range documentedMetrics {
		if before[n] == nil {
			t.Errorf("metric %s is missing", n)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	alice := newKey(t)
	a := dial(t, d.addr, "alice", alice)
	g := dial(t, d.addr, "guestnick", nil)
	a.join("#secretroom", "")
	g.join("#secretroom", "")
	a.send("PRIVMSG #secretroom :hello")
	g.expect("PRIVMSG", func(m *irc.Message) bool { return m.Trailing() == "hello" })
	a.send("AUTHENTICATE FOO") // no sasl cap: a failure, not a login
	a.collect()

	after, raw := scrape(t, sock)
	tests := []struct {
		name   string
		labels []string
		delta  float64 // at least
	}{
		{"thorchat_connections_total", []string{"transport", "dev"}, 2},
		{"thorchat_registrations_total", nil, 2},
		{"thorchat_logins_total", []string{"mechanism", "THORCHAT-SECP256K1", "result", "ok"}, 1},
		{"thorchat_messages_relayed_total", nil, 1},
		{"thorchat_message_deliveries_total", nil, 1},
		{"thorchat_messages_stored_total", nil, 1}, // history is on by default
		{"thorchat_history_messages", nil, 1},
		{"thorchat_store_commit_seconds", nil, 1}, // the account's first login
		{"thorchat_channels", nil, 1},
	}
	for _, tt := range tests {
		b, a := value(before, tt.name, tt.labels...), value(after, tt.name, tt.labels...)
		if a-b < tt.delta {
			t.Errorf("%s%v: %v → %v, want +%v", tt.name, tt.labels, b, a, tt.delta)
		}
	}
	for _, kind := range []string{"guest", "logged_in"} {
		if v := value(after, "thorchat_clients", "kind", kind, "transport", "dev"); v != 1 {
			t.Errorf("thorchat_clients{kind=%s,transport=dev} = %v, want 1", kind, v)
		}
	}
	// nothing names a user, an account, a channel or an address
	for _, secret := range []string{"alice", "guestnick", alice.account, "secretroom", "127.0.0.1", fmt.Sprint(tc.Port), "hello"} {
		if strings.Contains(raw, secret) {
			t.Errorf("metrics output contains %q", secret)
		}
	}
	for name, f := range after {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "transport", "kind", "mechanism", "result", "le", "version", "quantile":
				default:
					t.Errorf("%s has label %s=%q: labels must not carry identities", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}
