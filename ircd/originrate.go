package ircd

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// originRate bounds the rate of new connections per origin key
// (Limits.OriginConnRate, OriginConnBurst): one token bucket per origin
// seen recently. It is consulted by the accepting goroutines, before the
// server-wide bucket, so the connections a flooding origin is refused
// never spend the budget everyone shares.
//
// Memory is bounded: at most max buckets are kept. A bucket that has
// refilled is the same as a new one and is dropped when the table is
// full (swept at most once per sweepEvery); an origin that finds the
// table full of live buckets is not tracked and meets only the
// server-wide limits, so a table filled by many origins never locks
// newcomers out, while the origins already in it stay limited.
type originRate struct {
	limit rate.Limit
	burst int
	max   int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

// sweepEvery bounds how often a full table is swept for refilled buckets.
const sweepEvery = time.Second

func newOriginRate(perSec float64, burst, capacity int) *originRate {
	return &originRate{
		limit:   rate.Limit(perSec),
		burst:   max(burst, 1),
		max:     max(capacity, 1),
		buckets: map[string]*rate.Limiter{},
	}
}

// allow takes a token from key's bucket and reports whether there was
// one. The empty key (a listener without origins) is never limited.
func (o *originRate) allow(key string, now time.Time) bool {
	if key == "" {
		return true
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.buckets[key]
	if b == nil {
		if len(o.buckets) >= o.max {
			o.sweep(now)
		}
		if len(o.buckets) >= o.max {
			return true // untracked: only the server-wide limits apply
		}
		b = rate.NewLimiter(o.limit, o.burst)
		o.buckets[key] = b
	}
	return b.AllowN(now, 1)
}

// sweep drops the buckets that have refilled, at most once per
// sweepEvery.
func (o *originRate) sweep(now time.Time) {
	if now.Sub(o.swept) < sweepEvery && !o.swept.IsZero() {
		return
	}
	o.swept = now
	for k, b := range o.buckets {
		if b.TokensAt(now) >= float64(o.burst) {
			delete(o.buckets, k)
		}
	}
}

// size returns the number of origins tracked.
func (o *originRate) size() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.buckets)
}
