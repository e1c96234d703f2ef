package loadtest

import (
	"context"
	"flag"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"
)

// Profiling harness: the benchmarks run a real ircd.Server in this process
// and drive it with the scenarios, so `go test -cpuprofile` or
// `-memprofile` show the server's hot spots (the generator's own frames
// are in package loadtest and are easy to tell apart). See
// docs/performance.md.

var (
	heapProfile = flag.String("loadtest.heapprofile", "", "BenchmarkIdle: write an in-use heap profile here while the idle clients are held")
	idleWS      = flag.Bool("loadtest.ws", false, "BenchmarkIdle: the clients speak IRC over WebSocket (the web package's /ws)")
)

func benchContext(b *testing.B) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	b.Cleanup(cancel)
	return ctx
}

// BenchmarkRegister: b.N registrations, 100 at a time.
func BenchmarkRegister(b *testing.B) {
	addr := startServer(b)
	b.ResetTimer()
	res, err := Register(benchContext(b), RegisterConfig{Addr: addr, Registrations: b.N, Concurrency: 100})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.PerSecond, "regs/s")
	b.ReportMetric(res.P99Micros, "p99-µs")
}

// BenchmarkFanout: b.N messages to 500 members, 50 in flight.
func BenchmarkFanout(b *testing.B) {
	addr := startServer(b)
	b.ResetTimer()
	res, err := Fanout(benchContext(b), FanoutConfig{
		Addr: addr, Members: 500, Inflight: 50, Messages: b.N, Pad: 40,
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if res.Delivered != b.N {
		b.Fatalf("delivered %d of %d", res.Delivered, b.N)
	}
	b.ReportMetric(res.DeliveriesPerSecond, "deliveries/s")
	b.ReportMetric(res.P99Micros, "p99-µs")
}

// BenchmarkLogin: b.N returning-account logins (after min(b.N, 2000)
// first-time logins create the accounts), 64 at a time, over the unix
// socket with the epoll client (the -scenario login defaults), against
// the real accounts service and a bbolt file. Server and load tool share
// this process and its cores; cpu-µs/login is both together.
func BenchmarkLogin(b *testing.B) {
	if !hasEpollClient {
		b.Skip("the epoll client needs Linux")
	}
	addr, sock, _ := startLoginServer(b)
	b.ResetTimer()
	res, err := Login(benchContext(b), LoginConfig{
		Addr: addr, Unix: sock, Host: "bench.local", Client: ClientEpoll,
		Accounts: min(b.N, 2000), Logins: b.N, Concurrency: 64, ServerPID: os.Getpid(),
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	r := res.Returning
	b.ReportMetric(r.PerSecond, "logins/s")
	b.ReportMetric(r.ServerCPUMicros, "cpu-µs/login")
	b.ReportMetric(r.P99Micros, "p99-µs")
}

// BenchmarkIdle holds b.N registered idle clients (run it with e.g.
// -benchtime 5000x) and reports the heap and stack growth of the whole
// process per client — server and generator together, so an upper bound;
// -loadtest.heapprofile writes the in-use heap at that moment, where the
// server's share is the frames under package ircd (and web); -loadtest.ws
// holds WebSocket clients instead of TCP ones.
func BenchmarkIdle(b *testing.B) {
	if *heapProfile != "" {
		runtime.MemProfileRate = 64 // fine-grained, for this profile only
	}
	var addr string
	if *idleWS {
		addr = startWSServer(b)
	} else {
		addr = startServer(b)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	_, held, err := Idle(benchContext(b), IdleConfig{Addr: addr, Clients: b.N, WebSocket: *idleWS})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	defer held.Close()
	runtime.GC()
	runtime.ReadMemStats(&after)
	grow := func(a, b uint64) float64 { return float64(int64(a) - int64(b)) }
	b.ReportMetric(grow(after.HeapInuse, before.HeapInuse)/float64(b.N), "heap-B/client")
	b.ReportMetric(grow(after.StackInuse, before.StackInuse)/float64(b.N), "stack-B/client")
	if *heapProfile != "" {
		f, err := os.Create(*heapProfile)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
	}
}
