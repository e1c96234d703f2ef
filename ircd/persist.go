package ircd

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// ListEntry is one +b/+e/+I entry of a registered channel.
type ListEntry struct {
	Mask  string
	SetBy string
	SetAt time.Time
}

// AccessEntry gives an account a level on a registered channel.
type AccessEntry struct {
	Account string
	Level   string // "founder", "op" or "voice"
}

// Access levels.
const (
	LevelFounder = "founder"
	LevelOp      = "op"
	LevelVoice   = "voice"
)

// ChannelRecord is everything kept of a registered channel.
type ChannelRecord struct {
	Name         string // display name; the store keys it by Fold(Name)
	Founder      string
	Registered   time.Time
	Modes        string // flag letters, e.g. "+ntR"
	Key          string
	Limit        int
	JoinThrottle string // "count:seconds" or ""
	Topic        string
	TopicSetBy   string
	TopicSetAt   time.Time
	Bans         []ListEntry
	Excepts      []ListEntry
	Invex        []ListEntry
	Access       []AccessEntry
}

// ChannelStore keeps registered channels. SaveChannels commits all records
// in one durable transaction before it returns.
type ChannelStore interface {
	LoadChannels() ([]ChannelRecord, error)
	SaveChannels(recs []ChannelRecord) error
	DropChannel(folded string) error
}

// record snapshots a registered channel.
func (ch *Channel) record() ChannelRecord {
	flags, _ := ch.modeString(false)
	letters := "+"
	for _, l := range flags[1:] {
		if l != 'k' && l != 'l' && l != 'j' {
			letters += string(l)
		}
	}
	r := ChannelRecord{
		Name:       ch.name,
		Founder:    ch.founder,
		Registered: ch.registeredAt,
		Modes:      letters,
		Key:        ch.key,
		Limit:      ch.limit,
		Topic:      ch.topic,
		TopicSetBy: ch.topicBy,
		TopicSetAt: ch.topicAt,
		Bans:       exportList(ch.bans),
		Excepts:    exportList(ch.excepts),
		Invex:      exportList(ch.invex),
	}
	if ch.joinLimit > 0 {
		r.JoinThrottle = strconv.Itoa(ch.joinLimit) + ":" + strconv.Itoa(int(ch.joinWindow/time.Second))
	}
	for acct, lvl := range ch.access {
		r.Access = append(r.Access, AccessEntry{Account: acct, Level: lvl})
	}
	return r
}

func exportList(l []listEntry) []ListEntry {
	if len(l) == 0 {
		return nil
	}
	out := make([]ListEntry, len(l))
	for i, e := range l {
		out[i] = ListEntry{Mask: e.mask, SetBy: e.setBy, SetAt: e.setAt}
	}
	return out
}

func importList(l []ListEntry, max int) []listEntry {
	var out []listEntry
	for _, e := range l {
		if len(out) >= max {
			break
		}
		out = append(out, listEntry{mask: Fold(e.Mask), setBy: e.SetBy, setAt: e.SetAt})
	}
	return out
}

// applyRecord restores a registered channel's state.
func (s *Server) applyRecord(ch *Channel, r ChannelRecord) {
	ch.registered = true
	ch.founder = r.Founder
	ch.registeredAt = r.Registered
	ch.flags = 0
	for _, l := range strings.TrimPrefix(r.Modes, "+") {
		if f, ok := flagFor(byte(l)); ok {
			ch.flags |= f
		}
	}
	if ch.speakOps {
		ch.flags |= chanModerated
	}
	ch.key = truncate(r.Key, s.lim.KeyLen)
	if r.Limit > 0 {
		ch.limit = r.Limit
	}
	if n, secs, ok := parseJoinThrottle(r.JoinThrottle); ok {
		ch.joinLimit, ch.joinWindow = n, time.Duration(secs)*time.Second
	}
	ch.topic = truncate(r.Topic, s.lim.TopicLen)
	ch.topicBy, ch.topicAt = r.TopicSetBy, r.TopicSetAt
	ch.bans = importList(r.Bans, s.lim.MaxListEntries)
	ch.excepts = importList(r.Excepts, s.lim.MaxListEntries)
	ch.invex = importList(r.Invex, s.lim.MaxListEntries)
	ch.access = map[string]string{}
	for _, a := range r.Access {
		if len(ch.access) >= s.lim.MaxListEntries {
			break
		}
		switch a.Level {
		case LevelFounder, LevelOp, LevelVoice:
			ch.access[a.Account] = a.Level
		}
	}
}

// loadChannels restores registered channels at start, then registers the
// declared ones with the configuration's values (config wins).
func (s *Server) loadChannels() error {
	st := s.cfg.ChannelStore
	recs, err := st.LoadChannels()
	if err != nil {
		return err
	}
	for _, r := range recs {
		if !validChannel(r.Name, s.lim.ChannelLen) {
			s.log.Warn("skipping a stored channel with an invalid name")
			continue
		}
		ch := s.st.channels[Fold(r.Name)]
		if ch == nil {
			ch = s.newChannel(r.Name)
			ch.permanent = true
		}
		s.applyRecord(ch, r)
		if ch.declared != nil {
			s.applySpec(ch, *ch.declared)
		}
	}
	var save []ChannelRecord
	for _, ch := range s.st.channels {
		if ch.declared == nil {
			continue
		}
		if !ch.registered {
			ch.registered = true
			ch.registeredAt = s.clock.Now()
		}
		save = append(save, ch.record())
	}
	if len(save) > 0 {
		if err := st.SaveChannels(save); err != nil {
			return err
		}
	}
	return nil
}

// persistJob is one snapshot (or drop) waiting for the channel writer.
type persistJob struct {
	rec  *ChannelRecord
	drop string      // folded name to drop
	done func(error) // runs on the processor after the commit
}

// persist commits ch's snapshot, then runs after (on the processor): the
// MODE/TOPIC echo a client sees is only sent once the change is durable.
// The acting client's next command waits for the commit.
func (s *Server) persist(c *Client, ch *Channel, after func(error)) {
	rec := ch.record()
	s.enqueuePersist(c, persistJob{rec: &rec, done: after})
}

func (s *Server) enqueuePersist(c *Client, job persistJob) {
	done := job.done
	job.done = func(err error) {
		if done != nil {
			done(err)
		}
		if c != nil {
			s.release(c) // also when c is gone: that frees its paused reader
		}
	}
	select {
	case s.persistQ <- job:
		if c != nil {
			s.hold(c)
		}
	default:
		// the writer is far behind: refuse rather than queue without bound
		if done != nil {
			done(errors.New("channel store is busy"))
		}
	}
}

// persistLoop is the channel writer: it commits queued snapshots in FIFO
// order, coalescing what has queued up into one transaction, and reports
// back to the processor.
func (s *Server) persistLoop() {
	for {
		var first persistJob
		select {
		case first = <-s.persistQ:
		case <-s.done:
			return
		}
		jobs := []persistJob{first}
	drain:
		for len(jobs) < 256 {
			select {
			case j := <-s.persistQ:
				jobs = append(jobs, j)
			default:
				break drain
			}
		}
		var err error
		var recs []ChannelRecord
		flush := func() {
			if len(recs) > 0 && err == nil {
				err = s.cfg.ChannelStore.SaveChannels(recs)
			}
			recs = nil
		}
		for _, j := range jobs {
			if j.rec != nil {
				recs = append(recs, *j.rec)
				continue
			}
			flush()
			if err == nil {
				err = s.cfg.ChannelStore.DropChannel(j.drop)
			}
		}
		flush()
		if err != nil {
			s.log.Error("channel store write failed", "err", err)
		}
		for _, j := range jobs {
			j := j
			select {
			case s.events <- event{kind: evResume, fn: func() { j.done(err) }}:
			case <-s.done:
				return
			}
		}
	}
}
