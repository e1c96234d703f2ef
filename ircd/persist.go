package ircd

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/thorchat/thorchat/record"
)

// The records of registered channels are the record package's, shared
// with the host's store (names kept here for ircd's callers).
type (
	// ChannelRecord is everything kept of a registered channel.
	ChannelRecord = record.Channel
	// ListEntry is one +b/+e/+I entry of a registered channel.
	ListEntry = record.ListEntry
	// AccessEntry gives an account a level on a registered channel.
	AccessEntry = record.AccessEntry
)

// Access levels.
const (
	LevelFounder = record.LevelFounder
	LevelOp      = record.LevelOp
	LevelVoice   = record.LevelVoice
)

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
		Name:        ch.folded,
		DisplayName: ch.name,
		Founder:     ch.founder,
		Registered:  ch.registeredAt,
		Modes:       letters,
		Key:         ch.key,
		Limit:       ch.limit,
		Topic:       ch.topic,
		TopicSetBy:  ch.topicBy,
		TopicSetAt:  ch.topicAt,
		Bans:        exportList(ch.bans),
		Excepts:     exportList(ch.excepts),
		Invex:       exportList(ch.invex),
		History:     ch.history,
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
	if record.ValidHistoryPolicy(r.History) {
		ch.history = r.History
	}
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
	recs, err := s.be.LoadChannels()
	if err != nil {
		return err
	}
	for _, r := range recs {
		name := r.DisplayName
		if Fold(name) != r.Name {
			name = r.Name // the key is what the store files it under
		}
		if !validChannel(name, s.lim.ChannelLen) {
			s.log.Warn("skipping a stored channel with an invalid name")
			continue
		}
		ch := s.st.channels[Fold(name)]
		if ch == nil {
			ch = s.newChannel(name)
			ch.permanent = true
		}
		s.applyRecord(ch, r)
		if ch.declared != nil {
			s.applySpec(ch, *ch.declared)
		}
	}
	if err := s.checkDeclaredLookalikes(); err != nil {
		return err
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
		if err := s.be.SaveChannels(save); err != nil {
			return err
		}
	}
	return nil
}

// chanWrite is one snapshot (or drop) for the channel lane.
type chanWrite struct {
	rec  *ChannelRecord
	drop string // folded name to drop
}

// persist commits ch's snapshot, then runs after (on the processor): the
// MODE/TOPIC echo a client sees is only sent once the change is durable.
// The acting client's next command waits for the commit.
func (s *Server) persist(c *Client, ch *Channel, after func(error)) {
	rec := ch.record()
	s.writeChannel(c, chanWrite{rec: &rec}, after)
}

// writeChannel queues w on the channel lane; done runs after the commit,
// or at once with an error when the lane is full.
func (s *Server) writeChannel(c *Client, w chanWrite, done func(error)) {
	if !s.chans.submit(s, c, w, done) {
		// the writer is far behind: refuse rather than queue without bound
		s.chans.refused(s)
		if done != nil {
			done(errors.New("channel store is busy"))
		}
	}
}

// commitChannels stores a batch of channel writes in FIFO order:
// consecutive snapshots go in one transaction.
func (s *Server) commitChannels(batch []chanWrite) error {
	var recs []ChannelRecord
	var err error
	flush := func() {
		if len(recs) > 0 && err == nil {
			err = s.be.SaveChannels(recs)
		}
		recs = nil
	}
	for _, w := range batch {
		if w.rec != nil {
			recs = append(recs, *w.rec)
			continue
		}
		flush()
		if err == nil {
			err = s.be.DropChannel(w.drop)
		}
	}
	flush()
	return err
}
