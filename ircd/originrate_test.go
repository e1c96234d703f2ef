package ircd

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// refusalCounter is an Observer that counts origin refusals.
type refusalCounter struct {
	nopObserver
	n atomic.Int64
}

func (r *refusalCounter) OriginRefused() { r.n.Add(1) }

// observedBackend is no backend but for its metrics sink.
type observedBackend struct {
	NoBackend
	obs Observer
}

func (b observedBackend) Observer() Observer { return b.obs }

// proxyAttempt connects over circuit, sends tor's PROXY line and then
// lines, and returns the ERROR text the server closed the connection with
// ("" when it closed without one).
func proxyAttempt(t *testing.T, addr, circuit, lines string) string {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Errorf("dial: %v", err)
		return ""
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("PROXY TCP6 fc00:dead:beef:4dad::" + circuit + " ::1 65535 6667\r\n" + lines)); err != nil {
		t.Errorf("write: %v", err)
		return ""
	}
	r := bufio.NewReader(conn)
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("circuit %s: connection not closed", circuit)
			}
			return ""
		}
		if strings.HasPrefix(l, "ERROR ") {
			return strings.TrimRight(strings.TrimPrefix(l, "ERROR :"), "\r\n")
		}
	}
}

// TestOriginConnRateFlood (issue 12, item 5): one Tor circuit opening
// connections as fast as it can (each quits at once, so the open-count
// limit max_per_circuit never stops it) cannot keep other circuits out.
// Before the per-origin rate, its connections spent the server-wide
// conn_burst and the well-behaved circuits were refused with "Too many
// new connections". The fake clock never refills a bucket, so the counts
// are exact.
func TestOriginConnRateFlood(t *testing.T) {
	const (
		serverBurst = 30
		originBurst = 5
		floodDials  = 120
		good        = 10
	)
	obs := &refusalCounter{}
	ts := startProxyServerWith(t, func(c *Config) {
		c.Backend = observedBackend{obs: obs}
		c.Flood.ConnRate = 1
		c.Flood.ConnBurst = serverBurst
		c.Limits.OriginConnBurst = originBurst
	})
	var (
		done                           atomic.Int64
		wg                             sync.WaitGroup
		mu                             sync.Mutex
		accepted, originRefused, other int
	)
	wg.Go(func() {
		for range floodDials {
			reason := proxyAttempt(t, ts.addr, "0:2a", "NICK flood\r\nQUIT\r\n")
			mu.Lock()
			switch {
			case strings.HasPrefix(reason, "Closing Link: flood"), strings.HasPrefix(reason, "Closing Link: *"):
				accepted++
			case reason == "Closing Link: Too many new connections over one Tor circuit, try again later":
				originRefused++
			default:
				other++
				t.Logf("flood connection closed with %q", reason)
			}
			mu.Unlock()
			done.Add(1)
		}
	})
	// the good circuits come while the flood goes on, after it has had
	// more than the server-wide burst
	for done.Load() < serverBurst+5 {
		time.Sleep(time.Millisecond)
	}
	ok := 0
	for i := range good {
		circuit := "1:" + itoa(i)
		reason := proxyAttempt(t, ts.addr, circuit, "NICK good"+itoa(i)+"\r\nUSER g 0 * :g\r\nPING :x\r\nQUIT\r\n")
		if strings.HasPrefix(reason, "Closing Link: good"+itoa(i)+" (Quit") {
			ok++
		} else {
			t.Logf("good circuit %s: %q", circuit, reason)
		}
	}
	wg.Wait()
	if ok != good {
		t.Fatalf("%d of %d well-behaved connections got in during the flood", ok, good)
	}
	if accepted != originBurst || originRefused != floodDials-originBurst || other != 0 {
		t.Fatalf("flooding circuit: %d accepted, %d refused for its rate, %d otherwise; want %d, %d, 0",
			accepted, originRefused, other, originBurst, floodDials-originBurst)
	}
	if n := obs.n.Load(); n != floodDials-originBurst {
		t.Fatalf("origin refusals observed: %d, want %d", n, floodDials-originBurst)
	}
}

// TestOriginRateTable: the table of origin buckets is bounded; refilled
// buckets are dropped when it is full, and an origin that finds it full
// of live buckets is let through untracked (the server-wide bucket still
// applies), while the origins in it stay limited.
func TestOriginRateTable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o := newOriginRate(1, 2, 3) // 1/s, burst 2, 3 origins
	steps := []struct {
		name    string
		advance time.Duration
		key     string
		want    bool
		size    int
	}{
		{"a first", 0, "a", true, 1},
		{"a second", 0, "a", true, 1},
		{"a over its burst", 0, "a", false, 1},
		{"no origin is never limited", 0, "", true, 1},
		{"b", 0, "b", true, 2},
		{"c", 0, "c", true, 3},
		{"d finds the table full: untracked", 0, "d", true, 3},
		{"d again: still untracked", 0, "d", true, 3},
		{"a stays limited", 0, "a", false, 3},
		{"after 2.5s a, b and c have refilled and are dropped for e", 2500 * time.Millisecond, "e", true, 1},
		{"a starts a new bucket", 0, "a", true, 2},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		if got := o.allow(st.key, now); got != st.want {
			t.Fatalf("%s: allow(%q) = %v, want %v", st.name, st.key, got, st.want)
		}
		if got := o.size(); got != st.size {
			t.Fatalf("%s: %d origins tracked, want %d", st.name, got, st.size)
		}
	}
}
