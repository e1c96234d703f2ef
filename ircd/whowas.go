package ircd

import (
	"strconv"
	"time"

	"gopkg.in/irc.v4"
)

// WhowasOptions bounds the WHOWAS history: what recently quit users were
// called, kept in memory only (never on disk) and showing only the host
// they had on the server (the cloak), never an address.
type WhowasOptions struct {
	Len int           // entries kept, the oldest dropped first (default 1000)
	TTL time.Duration // how long an entry is kept (default 1h)
}

// DefaultWhowas returns the WHOWAS bounds used when a field is zero.
func DefaultWhowas() WhowasOptions {
	return WhowasOptions{Len: 1000, TTL: time.Hour}
}

type whowasEntry struct {
	nick, folded, user, host, realname string
	at                                 time.Time // when they quit
}

// whowasLog is a ring of the latest entries, oldest at head; it grows up
// to Len as it fills. It is owned by the processing goroutine.
type whowasLog struct {
	opts WhowasOptions
	ring []whowasEntry
	head int // the oldest entry
	n    int
}

func newWhowasLog(o WhowasOptions) whowasLog {
	d := DefaultWhowas()
	if o.Len <= 0 {
		o.Len = d.Len
	}
	if o.TTL <= 0 {
		o.TTL = d.TTL
	}
	return whowasLog{opts: o}
}

func (w *whowasLog) len() int { return w.n }

// add records c, which is quitting at now.
func (w *whowasLog) add(c *Client, now time.Time) {
	e := whowasEntry{nick: c.nick, folded: c.folded, user: c.user, host: c.host, realname: c.realname, at: now}
	if w.n == len(w.ring) && len(w.ring) < w.opts.Len {
		grown := make([]whowasEntry, min(max(2*len(w.ring), 16), w.opts.Len))
		for i := 0; i < w.n; i++ {
			grown[i] = w.ring[(w.head+i)%len(w.ring)]
		}
		w.ring, w.head = grown, 0
	}
	if w.n == len(w.ring) { // full: the newest replaces the oldest
		w.ring[w.head] = e
		w.head = (w.head + 1) % len(w.ring)
		return
	}
	w.ring[(w.head+w.n)%len(w.ring)] = e
	w.n++
}

// expire forgets the entries older than TTL (they are in time order).
func (w *whowasLog) expire(now time.Time) {
	for w.n > 0 && now.Sub(w.ring[w.head].at) >= w.opts.TTL {
		w.ring[w.head] = whowasEntry{}
		w.head = (w.head + 1) % len(w.ring)
		w.n--
	}
	if w.n == 0 && len(w.ring) > 0 {
		w.ring, w.head = nil, 0
	}
}

// find calls fn for up to max (all when max <= 0) live entries of the
// folded nick, newest first, and returns how many it found.
func (w *whowasLog) find(folded string, max int, now time.Time, fn func(*whowasEntry)) int {
	found := 0
	for i := w.n - 1; i >= 0 && (max <= 0 || found < max); i-- {
		e := &w.ring[(w.head+i)%len(w.ring)]
		if e.folded != folded || now.Sub(e.at) >= w.opts.TTL {
			continue
		}
		fn(e)
		found++
	}
	return found
}

// handleWhowas: "WHOWAS <nick>{,<nick>} [<count>]" (RFC 2812 3.6.3).
// Each nick gets its entries (314 and 312, newest first, at most count
// when count is positive) or 406; one 369 ends the reply.
func (s *Server) handleWhowas(c *Client, m *irc.Message) {
	arg := ""
	if len(m.Params) > 0 {
		arg = m.Params[0]
	}
	if arg == "" { // RFC 2812: 431 for a WHOWAS without a nick
		c.numeric(errNoNicknameGiven, "No nickname given")
		return
	}
	count := 0
	if len(m.Params) > 1 {
		if n, err := strconv.Atoi(m.Params[1]); err == nil {
			count = n
		}
	}
	nicks := splitList(arg)
	if len(nicks) > s.lim.MaxTargets {
		nicks = nicks[:s.lim.MaxTargets]
	}
	now := s.clock.Now()
	for _, nick := range nicks {
		if nick == "" {
			continue
		}
		found := s.whowas.find(Fold(nick), count, now, func(e *whowasEntry) {
			c.numeric(rplWhowasUser, e.nick, e.user, e.host, "*", e.realname)
			c.numeric(rplWhoisServer, e.nick, s.name, e.at.UTC().Format(time.RFC1123))
		})
		if found == 0 {
			c.numeric(errWasNoSuchNick, nick, "There was no such nickname")
		}
	}
	c.numeric(rplEndOfWhowas, arg, "End of WHOWAS")
}
