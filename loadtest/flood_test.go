package loadtest

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/thorchat/thorchat/ircd"
)

// startFloodServer runs a real ircd.Server on loopback with the daemon's
// default command throttle, or none when rate is 0.
func startFloodServer(tb testing.TB, rate float64) string {
	tb.Helper()
	srv, err := ircd.New(ircd.Config{
		Name:   "bench.local",
		MOTD:   []string{"ThorChat load test"},
		Limits: ircd.Limits{MaxClients: 1000, SendQBytes: 1 << 20},
		Flood: ircd.FloodOptions{
			Default:      ircd.FloodClass{Rate: rate, Burst: 10, Excess: 40},
			Unregistered: ircd.FloodClass{Rate: 1, Burst: 12, Excess: 24},
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	serveTCP(tb, srv, ln, nil)
	return ln.Addr().String()
}

func TestFloodPhases(t *testing.T) {
	tests := []struct {
		name       string
		rate       float64 // the server's default-class rate
		pacers     int
		stagger    bool
		rounds     int
		wantKilled bool // the flooder is disconnected for excess flood
	}{
		{"throttled, with pacers", 2, 4, false, 1, true},
		{"throttled, staggered pacers", 2, 4, true, 1, true},
		{"throttled, no pacers, two rounds", 2, 0, false, 2, true},
		{"not throttled", 0, 0, false, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startFloodServer(t, tt.rate)
			res, err := Flood(testContext(t), FloodConfig{
				Addr: addr, Phase: 1200 * time.Millisecond, Calm: 4, CalmInterval: 600 * time.Millisecond,
				NoiseMembers: 2, Flooders: 1, Reconnect: true, Pacers: tt.pacers, PaceStagger: tt.stagger, Rounds: tt.rounds, Pad: 10,
				ServerPID: os.Getpid(),
			})
			if err != nil {
				t.Fatal(err)
			}
			kinds := 2
			if tt.pacers > 0 {
				kinds = 3
			}
			if len(res.Phases) != kinds*tt.rounds || len(res.Pooled) != kinds {
				t.Fatalf("%d phases, %d pooled; want %d, %d", len(res.Phases), len(res.Pooled), kinds*tt.rounds, kinds)
			}
			for _, pl := range res.Pooled {
				var sent int64
				for _, ph := range res.Phases {
					if ph.Name == pl.Name {
						sent += ph.Sent
						if ph.P99Micros < pl.RoundP99MinMicros || ph.P99Micros > pl.RoundP99MaxMicros {
							t.Fatalf("round p99 %v outside the pooled range %+v", ph.P99Micros, pl)
						}
					}
				}
				if pl.Sent != sent || pl.Deliveries != sent || pl.P99Micros > pl.MaxMicros {
					t.Fatalf("pooled %s: %+v; want %d sent and received", pl.Name, pl, sent)
				}
			}
			for _, ph := range res.Phases {
				if ph.Sent < 4 || ph.Deliveries != ph.Sent || ph.Expected != ph.Deliveries {
					t.Fatalf("phase %s: sent %d, deliveries %d, expected %d; want every message received",
						ph.Name, ph.Sent, ph.Deliveries, ph.Expected)
				}
				if ph.P50Micros <= 0 || ph.P50Micros > ph.P99Micros || ph.P99Micros > ph.MaxMicros {
					t.Fatalf("phase %s: implausible latencies %+v", ph.Name, ph)
				}
				if ph.CPU.Seconds <= 0 || ph.CPU.ServerWrites == 0 {
					t.Fatalf("phase %s: no CPU figures: %+v", ph.Name, ph.CPU)
				}
			}
			if res.FloodConns < 1 || res.FloodReceived < 1 || res.FloodWritten < res.FloodReceived {
				t.Fatalf("flooder: %d connections, %d lines written, %d delivered", res.FloodConns, res.FloodWritten, res.FloodReceived)
			}
			if got := res.FloodKilled > 0; got != tt.wantKilled {
				t.Fatalf("flooder killed %d times (other ends %d); want killed = %v", res.FloodKilled, res.FloodOther, tt.wantKilled)
			}
			if tt.wantKilled {
				// the burst of 10 less the JOIN passes, the rest is cut off at excess
				if res.FloodReceived < res.FloodKilled*9 || res.FloodReceived > (res.FloodKilled+res.FloodOther+res.FloodOpenAtEnd)*51 {
					t.Fatalf("%d flooder lines delivered over %d killed connections", res.FloodReceived, res.FloodKilled)
				}
				if res.FirstKillMs <= 0 || res.KillP50Ms > res.KillMaxMs {
					t.Fatalf("kill times: %+v", res)
				}
			}
			if tt.pacers > 0 && (res.PacersKilled != 0 || res.PaceSent < int64(tt.pacers*10) || res.PaceReceived != res.PaceSent) {
				t.Fatalf("pacers: sent %d, delivered %d, disconnected %d", res.PaceSent, res.PaceReceived, res.PacersKilled)
			}
			rep := NewReport(addr, 1)
			rep.Flood = &res
			rep.Judge()
			if !tt.wantKilled && rep.Pass["flood"] {
				t.Fatal("judged a pass although the flooder was never disconnected")
			}
		})
	}
}

func TestJudgeFlood(t *testing.T) {
	good := func() FloodResult {
		return FloodResult{
			Pooled: []FloodPhase{
				{Name: PhaseBaseline, Deliveries: 100, Expected: 100, P99Micros: 400},
				{Name: PhaseFlood, Deliveries: 100, Expected: 100, P99Micros: 1500},
				{Name: PhasePace, Deliveries: 100, Expected: 100, P99Micros: 500},
			},
			Flooders: 1, FloodKilled: 3, Rounds: 2,
		}
	}
	tests := []struct {
		name   string
		change func(*FloodResult)
		want   bool
	}{
		{"good", func(*FloodResult) {}, true},
		{"flood p99 over the allowance", func(f *FloodResult) { f.Pooled[1].P99Micros = 1601 }, false},
		{"pace p99 over the allowance: capacity, not judged", func(f *FloodResult) { f.Pooled[2].P99Micros = 5000 }, true},
		{"a calm delivery lost", func(f *FloodResult) { f.Pooled[1].Deliveries = 99 }, false},
		{"a calm delivery lost while pacing", func(f *FloodResult) { f.Pooled[2].Deliveries = 99 }, false},
		{"flooder never disconnected", func(f *FloodResult) { f.FloodKilled = 0 }, false},
		{"a flooder connection closed otherwise", func(f *FloodResult) { f.FloodOther = 1 }, false},
		{"one flooder still flooding at each phase end", func(f *FloodResult) { f.FloodOpenAtEnd = 2 }, true},
		{"more left flooding than phases", func(f *FloodResult) { f.FloodOpenAtEnd = 3 }, false},
		{"a pacer disconnected", func(f *FloodResult) { f.PacersKilled = 1 }, false},
		{"no baseline", func(f *FloodResult) { f.Pooled = f.Pooled[1:] }, false},
		{"no flooder, no kill needed", func(f *FloodResult) { f.FloodKilled = 0; f.Flooders = 0 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := good()
			tt.change(&f)
			if got := judgeFlood(&f, DefaultTargets()); got != tt.want {
				t.Fatalf("judgeFlood = %v; want %v", got, tt.want)
			}
		})
	}
}
