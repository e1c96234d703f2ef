package loadtest

import (
	"os"
	"testing"
	"time"
)

func TestIdleHoldsRegisteredClients(t *testing.T) {
	addr := startServer(t)
	res, held, err := Idle(testContext(t), IdleConfig{
		Addr: addr, ServerPID: os.Getpid(), Clients: 60, Dialers: 8,
		Settle: 10 * time.Millisecond, Recheck: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if held.Len() != 60 || res.Clients != 60 {
		t.Fatalf("held %d, result %d; want 60", held.Len(), res.Clients)
	}
	if res.RSSBefore <= 0 || res.RSSAfter <= 0 || res.ServerNoFile == 0 {
		t.Fatalf("memory figures missing: %+v", res)
	}
	if res.BytesPerClient != float64(res.RSSAfter-res.RSSBefore)/60 {
		t.Fatalf("bytes per client %v does not follow from %+v", res.BytesPerClient, res)
	}
	// The nicks are taken while the clients are held.
	_, _, err = Idle(testContext(t), IdleConfig{Addr: addr, Clients: 1, Settle: time.Millisecond})
	if err == nil {
		t.Fatal("a second idle run with the same nicks succeeded")
	}
}

func TestRegisterCountsEveryRegistration(t *testing.T) {
	addr := startServer(t)
	tests := []struct {
		name        string
		total, conc int
	}{
		{"serial", 40, 1},
		{"concurrent", 400, 32},
		{"more workers than registrations", 5, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Register(testContext(t), RegisterConfig{
				Addr: addr, Registrations: tt.total, Concurrency: tt.conc,
				NickBase: "r" + tt.name[:3], ServerPID: os.Getpid(),
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Registrations != tt.total || res.Failures != 0 {
				t.Fatalf("got %d ok, %d failed; want %d, 0", res.Registrations, res.Failures, tt.total)
			}
			if res.Concurrency != min(tt.conc, tt.total) {
				t.Fatalf("concurrency %d", res.Concurrency)
			}
			if res.PerSecond <= 0 || res.P50Micros <= 0 || res.P50Micros > res.P99Micros || res.P99Micros > res.MaxMicros {
				t.Fatalf("implausible figures: %+v", res)
			}
		})
	}
}

func TestRegisterFailsWithoutServer(t *testing.T) {
	res, err := Register(testContext(t), RegisterConfig{Addr: closedAddr(t), Registrations: 50, Concurrency: 4})
	if err == nil {
		t.Fatal("no error against a closed port")
	}
	if res.Registrations != 0 || res.Failures == 0 || res.Failures > 50 {
		t.Fatalf("got %+v", res)
	}
}

func TestFanoutDeliversEveryMessageToEveryMember(t *testing.T) {
	addr := startServer(t)
	tests := []struct {
		name                        string
		members, inflight, messages int
		duration                    time.Duration
		pad                         int
		wantAll                     bool // all messages are sent (no time stop)
	}{
		{"one in flight", 5, 1, 50, 0, 0, true},
		{"window", 30, 10, 600, 0, 40, true},
		{"window larger than messages", 3, 100, 7, 0, 0, true},
		{"stopped by duration", 10, 5, 1_000_000, 300 * time.Millisecond, 0, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Fanout(testContext(t), FanoutConfig{
				Addr: addr, Channel: "#t" + string(rune('a'+i)), NickBase: "f" + string(rune('a'+i)),
				Members: tt.members, Inflight: tt.inflight, Messages: tt.messages,
				Duration: tt.duration, Pad: tt.pad, ServerPID: os.Getpid(),
			})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantAll && res.Sent != tt.messages {
				t.Fatalf("sent %d of %d", res.Sent, tt.messages)
			}
			if !tt.wantAll && (res.Sent == 0 || res.Sent >= tt.messages) {
				t.Fatalf("sent %d: the duration did not stop the sender", res.Sent)
			}
			if res.Delivered != res.Sent || res.Deliveries != int64(res.Sent*tt.members) {
				t.Fatalf("sent %d, delivered %d, deliveries %d; want every message to all %d members",
					res.Sent, res.Delivered, res.Deliveries, tt.members)
			}
			if res.DeliveriesPerSecond <= 0 || res.P50Micros <= 0 || res.P50Micros > res.P99Micros || res.P99Micros > res.MaxMicros {
				t.Fatalf("implausible figures: %+v", res)
			}
			if want := len("PRIVMSG #ta :~0.0\r\n") + tt.pad; res.LineBytes < want {
				t.Fatalf("line bytes %d < %d", res.LineBytes, want)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	ctx := testContext(t)
	tests := []struct {
		name string
		run  func() error
	}{
		{"idle without clients", func() error { _, _, err := Idle(ctx, IdleConfig{Addr: "127.0.0.1:1"}); return err }},
		{"register without count", func() error {
			_, err := Register(ctx, RegisterConfig{Addr: "127.0.0.1:1", Concurrency: 1})
			return err
		}},
		{"fanout without inflight", func() error {
			_, err := Fanout(ctx, FanoutConfig{Addr: "127.0.0.1:1", Members: 1, Messages: 1})
			return err
		}},
		{"fanout pad too long", func() error {
			_, err := Fanout(ctx, FanoutConfig{Addr: "127.0.0.1:1", Members: 1, Inflight: 1, Messages: 1, Pad: 401})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.run() == nil {
				t.Fatal("no error")
			}
		})
	}
}
