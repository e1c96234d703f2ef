package ircd

import (
	"errors"
	"runtime"
	"time"
)

// Off-loop work. The processing goroutine owns all IRC state and never
// waits for a disk, a lock held by the host or a CPU-heavy check. Such
// work goes off the loop in exactly one of two ways, and its result comes
// back to the loop as an evResume event, in order:
//
//   - s.async(c, work): the async pool. work runs on a pooled worker (at
//     most SASLOptions.Workers at once; workers are reused, so the deep
//     stacks of signature checks grow once) and returns the continuation
//     that runs on the loop. c's input is held (hold/release) until then.
//     For answers a client waits for: SASL steps, OPER passwords, nick
//     claims, device credentials, REHASH.
//   - lanes (lane[T]): an ordered, bounded queue served by one goroutine
//     that commits what has queued up as one batch (one store
//     transaction), then runs the batch's callbacks on the loop in FIFO
//     order. A write may hold its client until the commit (channel
//     records: the MODE/TOPIC echo is sent only once the change is
//     durable) or not (accept lists and user modes). A full lane refuses
//     the write instead of queueing without bound. Each lane is a field
//     of Server started by Run; a new kind of write (message history)
//     gets its own lane with its own batch commit.
//
// Nothing else in ircd calls the Backend off the loop, and Backend
// methods called on the loop answer from memory.

// asyncWorkers returns how many slow steps may run at once: n, or by
// default enough that steps waiting for a disk commit (an account's first
// login) do not starve signature checks of slots and commits can batch.
func asyncWorkers(n int) int {
	if n > 0 {
		return n
	}
	return max(64, 4*runtime.GOMAXPROCS(0))
}

// asyncIdle is how long an async worker stays parked for the next step
// before it exits.
const asyncIdle = 10 * time.Second

// asyncJob is one slow step: the work and the client it suspends.
type asyncJob struct {
	c    *Client
	work func() func()
}

// async runs work off the processing goroutine and suspends c's input
// until the continuation it returns has run on the processor. A parked
// worker takes the step if one is waiting; otherwise a new worker starts.
// Workers are reused so that the deep stacks of signature checks are
// grown once, not for every login; at most asyncWorkers steps run at once.
func (s *Server) async(c *Client, work func() func()) {
	s.hold(c)
	j := asyncJob{c: c, work: work}
	select {
	case s.parked <- j:
	default:
		go s.asyncWorker(j)
	}
}

// asyncWorker runs j, then parks for further steps until it has been idle
// for asyncIdle or the server stops. At most cap(s.workers) workers park.
func (s *Server) asyncWorker(j asyncJob) {
	idle := time.NewTimer(asyncIdle)
	defer idle.Stop()
	for {
		s.workers <- struct{}{}
		cont := j.work()
		<-s.workers
		c := j.c
		select {
		case s.events <- event{c: c, kind: evResume, fn: func() {
			cont()
			s.release(c)
		}}:
		case <-s.done:
			return
		}
		j = asyncJob{}
		// at most cap(s.workers) workers wait for work; the rest of a
		// burst's workers exit at once
		if s.idleWorkers.Add(1) > int64(cap(s.workers)) {
			s.idleWorkers.Add(-1)
			return
		}
		idle.Reset(asyncIdle)
		select {
		case j = <-s.parked:
			s.idleWorkers.Add(-1)
		case <-idle.C:
			s.idleWorkers.Add(-1)
			return
		case <-s.done:
			return
		}
	}
}

// lane is an ordered, bounded queue of writes of type T, served by one
// goroutine (run). commit stores a batch in one go; maxBatch bounds a
// batch.
type lane[T any] struct {
	name     string
	q        chan laneJob[T]
	maxBatch int
	commit   func(batch []T) error
	// dropped counts writes refused because the lane was full since the
	// last warning, which is logged at most once a minute
	dropped  int
	warnedAt time.Time
}

// laneJob is one queued write: c (if not nil) is held until done (if not
// nil) has run on the loop with the batch's result.
type laneJob[T any] struct {
	v    T
	c    *Client
	done func(error)
}

func newLane[T any](name string, size, maxBatch int, commit func([]T) error) *lane[T] {
	return &lane[T]{name: name, q: make(chan laneJob[T], size), maxBatch: maxBatch, commit: commit}
}

// submit queues v (on the loop). When c is not nil its input is held until
// done has run. It returns false, holding nothing, when the lane is full.
func (l *lane[T]) submit(s *Server, c *Client, v T, done func(error)) bool {
	select {
	case l.q <- laneJob[T]{v: v, c: c, done: done}:
		if c != nil {
			s.hold(c)
		}
		return true
	default:
		return false
	}
}

// refused records a write the caller dropped because the lane was full,
// with one warning a minute (not one log line per client action).
func (l *lane[T]) refused(s *Server) {
	l.dropped++
	now := s.clock.Now()
	if l.warnedAt.IsZero() || now.Sub(l.warnedAt) >= time.Minute {
		s.log.Warn("store lane is full; writes were refused", "lane", l.name, "refused", l.dropped)
		l.dropped = 0
		l.warnedAt = now
	}
}

// run commits queued writes in FIFO order, a batch at a time, and hands
// each batch's callbacks back to the loop as one event. When the server
// stops it commits what is still queued (without callbacks) and returns.
func (l *lane[T]) run(s *Server) {
	batch := make([]laneJob[T], 0, l.maxBatch)
	vals := make([]T, 0, l.maxBatch)
	for {
		batch, vals = batch[:0], vals[:0]
		select {
		case j := <-l.q:
			batch = append(batch, j)
		case <-s.done:
			l.drain(s, vals)
			return
		}
	fill:
		for len(batch) < l.maxBatch {
			select {
			case j := <-l.q:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		for _, j := range batch {
			vals = append(vals, j.v)
		}
		err := l.commit(vals)
		if err != nil {
			s.log.Error("store write failed", "lane", l.name, "err", err)
		}
		var back []laneJob[T]
		for _, j := range batch {
			if j.c != nil || j.done != nil {
				back = append(back, j)
			}
		}
		if len(back) == 0 {
			continue
		}
		select {
		case s.events <- event{kind: evResume, fn: func() {
			for _, j := range back {
				if j.done != nil {
					j.done(err)
				}
				if j.c != nil {
					s.release(j.c) // also when c is gone: that frees its paused reader
				}
			}
		}}:
		case <-s.done:
			l.drain(s, vals[:0])
			return
		}
	}
}

// drain commits whatever is still queued when the server stops, so Run
// returns only after every accepted write is stored.
func (l *lane[T]) drain(s *Server, vals []T) {
	for {
		select {
		case j := <-l.q:
			vals = append(vals, j.v)
		default:
			if len(vals) > 0 {
				if err := l.commit(vals); err != nil {
					s.log.Error("store write failed", "lane", l.name, "err", err)
				}
			}
			return
		}
	}
}

// runEach is the commit of a lane whose writes are independent calls
// (account preferences): each runs, in order, and their errors are
// reported together.
func runEach(batch []func() error) error {
	var errs []error
	for _, f := range batch {
		if err := f(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
