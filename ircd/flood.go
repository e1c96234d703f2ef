package ircd

import (
	"time"

	"golang.org/x/time/rate"
)

// FloodClass is one token bucket setting: Rate commands per second earned,
// Burst at once, and Excess owed commands at which the client is
// disconnected. Rate 0 turns throttling off for the class.
type FloodClass struct {
	Rate   float64
	Burst  int
	Excess int
}

// FloodOptions configures per-connection throttling and global
// connection limits. Over Tor every client comes from the same address, so
// nothing is limited per IP.
type FloodOptions struct {
	Default      FloodClass // registered clients
	Privileged   FloodClass // logged-in operators and staff
	Unregistered FloodClass // before registration completes
	// ConnRate and ConnBurst bound new connections per second
	// server-wide (0: unlimited).
	ConnRate  float64
	ConnBurst int
	// MaxUnauthenticated bounds connections not logged in (0: unlimited).
	MaxUnauthenticated int
}

// command costs: what a command takes from the bucket.
func commandCost(cmd string, nparams int, firstParam string) int {
	switch cmd {
	case "PRIVMSG", "NOTICE", "TAGMSG", "JOIN", "PART", "KICK":
		n := 1
		for i := 0; i < len(firstParam); i++ {
			if firstParam[i] == ',' {
				n++
			}
		}
		return n
	case "WHO", "LIST", "WHOIS", "NAMES":
		return 3
	case "AUTHENTICATE":
		return 2
	case "PING", "PONG":
		return 1
	}
	return 1
}

func (s *Server) floodClass(c *Client) FloodClass {
	switch {
	case !c.registered:
		return s.cfg.Flood.Unregistered
	case c.class == "operator" || c.class == "staff" || c.oper:
		return s.cfg.Flood.Privileged
	}
	return s.cfg.Flood.Default
}

// throttle charges cost to c's bucket. It returns false when c was
// disconnected for excess flood; otherwise, when c now owes tokens, its
// next command waits (fake lag) until the debt is paid.
func (s *Server) throttle(c *Client, cost int) bool {
	fc := s.floodClass(c)
	if fc.Rate <= 0 {
		return true
	}
	if c.limiter == nil || c.limClass != fc {
		c.limiter = rate.NewLimiter(rate.Limit(fc.Rate), max(fc.Burst, 1))
		c.limClass = fc
	}
	now := s.clock.Now()
	cost = min(cost, max(fc.Burst, 1))
	r := c.limiter.ReserveN(now, cost)
	d := r.DelayFrom(now)
	if d <= 0 {
		return true
	}
	// what it owes now, plus the commands it sent that wait behind this
	// one: lag alone never lets the debt pass one command's cost
	owed := d.Seconds()*fc.Rate + float64(c.backlog())
	if fc.Excess > 0 && owed >= float64(fc.Excess) {
		s.observer().FloodKill()
		s.kill(c, "Excess flood")
		return false
	}
	s.observer().FakeLag()
	c.lagged = true
	c.throttledUntil = now.Add(d)
	s.st.throttled[c] = struct{}{}
	s.armWake(d)
	return true
}

// armWake makes sure the processor wakes within d to resume throttled
// clients (the tick also checks, which is what a fake clock relies on).
func (s *Server) armWake(d time.Duration) {
	if s.wakeAt.IsZero() || time.Now().Add(d).Before(s.wakeAt) {
		s.wakeAt = time.Now().Add(d)
		s.wake.Reset(d)
	}
}

// resumeThrottled continues the batches of clients whose lag has passed.
func (s *Server) resumeThrottled() {
	if len(s.st.throttled) == 0 {
		return
	}
	now := s.clock.Now()
	var next time.Duration
	for c := range s.st.throttled {
		if wait := c.throttledUntil.Sub(now); wait > 0 && !c.gone {
			if next == 0 || wait < next {
				next = wait
			}
			continue
		}
		delete(s.st.throttled, c)
		c.lagged = false
		// for a client that is gone this only releases its reader,
		// which then sees the closed connection and frees the slot
		s.resumeInput(c)
	}
	s.wakeAt = time.Time{}
	if next > 0 {
		s.armWake(next)
	}
	s.runPending()
}

// backlog counts the lines of c's current batch that are not handled yet.
// While a client waits its reader is paused, so whatever it sent in the
// meantime arrives as one batch and counts here.
func (c *Client) backlog() int {
	ev := c.pending
	if ev == nil || ev.buf == nil {
		return 0
	}
	n, inLine := 0, false
	for _, b := range (*ev.buf)[c.pendingOff:ev.n] {
		if b == '\r' || b == '\n' {
			if inLine {
				n++
			}
			inLine = false
		} else {
			inLine = true
		}
	}
	return n
}
