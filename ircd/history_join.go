package ircd

import (
	"errors"
	"time"

	"github.com/thorchat/thorchat/record"
)

// What a JOIN reads from history: the joiner's read marker of the channel
// (draft/read-marker: sent after the JOIN, before the end of NAMES) and,
// for a client without draft/chathistory, the replay of the channel's
// last lines.
//
// Both are read in the history lane, after the batch holding the JOIN's
// own record is stored (histWrite.read), and sent by its callback: the
// replay is what was stored before the JOIN (CHATHISTORY BEFORE the
// JOIN's msgid), the messages stamped before the join but relayed after it
// are not relayed to the joiner (delivery.joinedAfter), and those stamped
// after it are relayed by later callbacks. So the joiner sees every
// message once, in order: the replay, then the live ones. The joiner's
// input is held until the callback has run (like a MODE until it is
// durable), so its next command's answers come after the NAMES.

// joinRead is what one JOIN reads in the lane.
type joinRead struct {
	account, target string // read marker (account "": none to read)
	replay          *HistoryQuery
	joinID          string // msgid of the JOIN's record

	marker    time.Time
	markerErr error
	msgs      []record.Message
	replayErr error
}

// run reads (off the loop); stored tells whether the JOIN's record is in
// the store, so that the replay can end just before it.
func (s *Server) runJoinRead(r *joinRead, stored bool) {
	if r.account != "" {
		r.marker, r.markerErr = s.be.ReadMarker(r.account, r.target)
	}
	if r.replay != nil {
		q := *r.replay
		if stored {
			q.Sub, q.From = HistoryBefore, HistoryRef{MsgID: r.joinID}
		}
		r.msgs, r.replayErr = s.be.History(q)
	}
}

// joinHistory records c's JOIN of ch and sends the NAMES, with the read
// marker and the replay when c gets them, and runs after (the access
// modes) after the NAMES: at once when there is nothing to read,
// otherwise from the lane callback.
func (s *Server) joinHistory(c *Client, ch *Channel, now time.Time, after func()) {
	var w *histWrite
	if s.storesHistory(ch) {
		w = s.eventWrite(c, ch, record.KindJoin, now, nil, "")
	}
	marker := s.historyOn() && c.caps.has(capReadMarker)
	r := &joinRead{}
	if marker && c.account != "" {
		r.account, r.target = c.account, record.ChannelTarget(ch.folded)
	}
	r.replay = s.replayQuery(c, ch)
	if r.account == "" && r.replay == nil {
		if marker {
			c.send(s.markreadLine(ch.name, time.Time{})) // a guest has none
		}
		s.sendNames(c, ch)
		after()
		if w != nil && !s.hist.submit(s, nil, w, nil) {
			s.hist.refused(s) // the JOIN is live already; only its record is lost
		}
		return
	}
	if w == nil {
		w = &histWrite{}
	}
	r.joinID = w.msg.MsgID
	w.read = func(stored bool) { s.runJoinRead(r, stored) }
	done := func(error) { s.joinReadDone(c, ch, r, marker, after) }
	if s.hist.submit(s, c, w, done) {
		return
	}
	// the lane is full: the JOIN's record is lost; read through the
	// async pool instead
	s.hist.refused(s)
	s.async(c, func() func() {
		s.runJoinRead(r, false)
		return func() { done(nil) }
	})
}

// joinReadDone sends what the JOIN read: the read marker, the NAMES, the
// replay.
func (s *Server) joinReadDone(c *Client, ch *Channel, r *joinRead, marker bool, after func()) {
	if c.gone {
		return
	}
	if marker {
		if r.markerErr != nil {
			s.log.Warn("reading a read marker failed", "err", r.markerErr)
			c.send(s.failLine("MARKREAD", "INTERNAL_ERROR", []string{ch.name}, "The read timestamp could not be returned"))
		} else {
			c.send(s.markreadLine(ch.name, r.marker))
		}
	}
	s.sendNames(c, ch)
	if !isMember(ch, c) {
		return
	}
	after()
	if r.replay == nil {
		return
	}
	switch {
	case r.replayErr != nil:
		if !errors.Is(r.replayErr, ErrHistoryNoAccess) && !errors.Is(r.replayErr, ErrHistoryNotFound) {
			s.log.Warn("history replay failed", "err", r.replayErr)
		}
	case len(r.msgs) > 0:
		s.sendHistoryBatch(c, ch.name, r.msgs)
	}
}

// replayQuery returns the query of the replay on JOIN: the last
// [history] replay lines of ch, for a client that has not negotiated
// draft/chathistory (it would ask itself); nil when there is none.
func (s *Server) replayQuery(c *Client, ch *Channel) *HistoryQuery {
	n := s.cfg.History.Replay
	if n <= 0 || !s.historyOn() || c.caps.has(capChathistory) || !s.storesHistory(ch) {
		return nil
	}
	q, _, empty, ok := s.historyAccess(c, ch.name)
	if !ok || empty {
		return nil
	}
	q.Sub, q.Limit, q.Events, q.Tagmsg = HistoryLatest, min(n, s.cfg.History.MaxRequest), false, false
	return &q
}
