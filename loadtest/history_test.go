package loadtest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/thorchat/thorchat/accounts"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/store"
)

// startHistoryServer runs a real ircd.Server with the accounts service
// keeping history in a real bbolt file (fsync on) on loopback.
func startHistoryServer(t testing.TB, queue int) string {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "thorchat.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := accounts.New(accounts.Config{HRP: "thor", Store: db, History: accounts.HistoryConfig{Enabled: true}})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	srv, err := ircd.New(ircd.Config{
		Name: "bench.local", MOTD: []string{"m"}, Backend: svc,
		Limits:  ircd.Limits{MaxClients: 20000, SendQBytes: 1 << 20},
		History: ircd.HistoryOptions{Replay: 20, MaxRequest: 100, Queue: queue},
	})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	serveTCP(t, srv, ln, db.Close)
	return ln.Addr().String()
}

func TestStoreThenLatest(t *testing.T) {
	addr := startHistoryServer(t, 0)
	tests := []struct {
		name                      string
		senders, window, messages int
		queries, limit            int
		wantShort                 bool
	}{
		{"one sender, serial", 1, 1, 30, 5, 20, false},
		{"pipelined senders", 4, 16, 1203, 20, 100, false},
		{"fewer stored than asked", 2, 8, 40, 3, 100, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := "#st" + string(rune('a'+i))
			res, err := Store(testContext(t), StoreConfig{
				Addr: addr, Senders: tt.senders, Window: tt.window, Messages: tt.messages,
				Pad: 10, Channel: prefix, NickBase: "s" + string(rune('a'+i)), ServerPID: os.Getpid(),
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent != int64(tt.messages) || res.Acked != res.Sent || res.Refused != 0 {
				t.Fatalf("sent %d, acked %d, refused %d; want %d each acked", res.Sent, res.Acked, res.Refused, tt.messages)
			}
			if res.PerSecond <= 0 || res.P50Micros <= 0 || res.P50Micros > res.P99Micros || res.P99Micros > res.MaxMicros {
				t.Fatalf("implausible figures: %+v", res)
			}
			lt, err := Latest(testContext(t), LatestConfig{Addr: addr, Channel: prefix + "0", Queries: tt.queries, Limit: tt.limit, NickBase: "q" + string(rune('a'+i))})
			if err != nil {
				t.Fatal(err)
			}
			perChannel := tt.messages / tt.senders
			want := int64(tt.queries * min(tt.limit, perChannel))
			if lt.Messages != want || (lt.Short > 0) != tt.wantShort {
				t.Fatalf("CHATHISTORY got %d messages, %d short; want %d, short %v", lt.Messages, lt.Short, want, tt.wantShort)
			}
			if lt.P50Micros <= 0 || lt.P99Micros < lt.P50Micros {
				t.Fatalf("implausible latency: %+v", lt)
			}
		})
	}
}

// TestStoreCountsRefusals: with a history lane of one entry, pipelined
// senders are refused (FAIL … TEMPORARILY_UNAVAILABLE), counted as refused
// and not as stored, and the run still ends.
func TestStoreCountsRefusals(t *testing.T) {
	addr := startHistoryServer(t, 1)
	res, err := Store(testContext(t), StoreConfig{Addr: addr, Senders: 4, Window: 64, Messages: 2000, Pad: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Refused == 0 || res.Acked+res.Refused != res.Sent {
		t.Fatalf("sent %d, acked %d, refused %d; want some refused, every message answered", res.Sent, res.Acked, res.Refused)
	}
}

func TestLatestFailsWithoutHistory(t *testing.T) {
	addr := startServer(t) // no history backend: CAP REQ draft/chathistory is refused
	_, err := Latest(testContext(t), LatestConfig{Addr: addr, Queries: 1})
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v; want the CAP refusal", err)
	}
}

func TestStartDaemonBounded(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want string
	}{
		{"exits at once", []string{"false"}, "exited at start"},
		{"never listens", []string{"sleep", "30"}, "not answering"},
		{"missing binary", []string{filepath.Join(t.TempDir(), "nope")}, "start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			d, err := StartDaemon(testContext(t), tt.argv, filepath.Join(t.TempDir(), "d.log"), closedAddr(t), 300*time.Millisecond)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("StartDaemon = %v, %v; want an error with %q", d, err, tt.want)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Fatalf("took %v: the budget is not kept", took)
			}
		})
	}
	if _, err := StartDaemon(testContext(t), []string{"true"}, filepath.Join(t.TempDir(), "d.log"), "192.0.2.1:6667", time.Second); err == nil {
		t.Fatal("a non-loopback address was accepted")
	}
}

func TestJudgeHistory(t *testing.T) {
	good := func() *HistoryResult {
		return &HistoryResult{
			FanoutOff: &FanoutResult{Sent: 100, Delivered: 100, DeliveriesPerSecond: 3e6, P99Micros: 10000},
			FanoutOn:  &FanoutResult{Sent: 100, Delivered: 100, DeliveriesPerSecond: 1.2e6, P99Micros: 19000},
			Store:     &StoreResult{Sent: 1e6, Acked: 1e6, PerSecond: 60000},
			Latest:    &LatestResult{Queries: 1000, P99Micros: 3000},
			Stored:    1_000_100,
			Startup:   &StartupResult{ConnectSeconds: 0.1, RegisteredSeconds: 0.2},
		}
	}
	tests := []struct {
		name   string
		change func(h *HistoryResult)
		want   map[string]bool
	}{
		{"all met", func(*HistoryResult) {}, map[string]bool{"history_fanout": true, "history_store": true, "history_latest": true, "history_startup": true}},
		{"fan-out too slow", func(h *HistoryResult) { h.FanoutOn.DeliveriesPerSecond = 999_999 }, map[string]bool{"history_fanout": false}},
		{"fan-out p99 over twice", func(h *HistoryResult) { h.FanoutOn.P99Micros = 20001 }, map[string]bool{"history_fanout": false}},
		{"fan-out p99 exactly twice", func(h *HistoryResult) { h.FanoutOn.P99Micros = 20000 }, map[string]bool{"history_fanout": true}},
		{"fan-out lost a message", func(h *HistoryResult) { h.FanoutOn.Delivered = 99 }, map[string]bool{"history_fanout": false}},
		{"history-off run lost a message", func(h *HistoryResult) { h.FanoutOff.Delivered = 99 }, map[string]bool{"history_fanout": false}},
		{"no history-off run", func(h *HistoryResult) { h.FanoutOff = nil }, map[string]bool{}},
		{"store too slow", func(h *HistoryResult) { h.Store.PerSecond = 49_999 }, map[string]bool{"history_store": false}},
		{"store refused some", func(h *HistoryResult) { h.Store.Refused = 1; h.Store.Acked-- }, map[string]bool{"history_store": false}},
		{"latest p99 at the bound", func(h *HistoryResult) { h.Latest.P99Micros = 5000 }, map[string]bool{"history_latest": false}},
		{"latest short answers", func(h *HistoryResult) { h.Latest.Short = 1 }, map[string]bool{"history_latest": false}},
		{"startup too slow", func(h *HistoryResult) { h.Startup.RegisteredSeconds = 1.0 }, map[string]bool{"history_startup": false}},
		{"too few stored", func(h *HistoryResult) { h.Stored = 999_999 }, map[string]bool{"history_latest": false, "history_startup": false, "history_store": true, "history_fanout": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := good()
			tt.change(h)
			r := NewReport("127.0.0.1:1", 1)
			r.History = h
			r.Judge()
			for k, want := range tt.want {
				if got, ok := r.Pass[k]; !ok || got != want {
					t.Errorf("%s = %v (judged %v); want %v", k, got, ok, want)
				}
			}
			if tt.name == "no history-off run" {
				if _, ok := r.Pass["history_fanout"]; ok {
					t.Error("history_fanout judged without the history-off figure")
				}
			}
			var sb strings.Builder
			r.WriteText(&sb)
			if !strings.Contains(sb.String(), "history:") && h.FanoutOn != nil {
				t.Errorf("summary lacks the history section:\n%s", sb.String())
			}
		})
	}
}
