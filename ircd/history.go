package ircd

import (
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/record"
)

// Message history: what is stored, in which order, and who may read it.
//
// Write path. When the backend keeps history (FeatureHistory), every
// PRIVMSG, NOTICE and TAGMSG a client sends goes through the history lane
// (s.hist, a lane[*histWrite]): route checks it and stamps it with its
// time and msgid on the loop, the lane's goroutine stores everything that
// queued up meanwhile in one transaction (Backend.AppendHistory, one
// fsync), and the batch's callbacks then run on the loop in FIFO order:
// each relays its message (deliver) and echoes it to its sender. So a
// message is durable before anyone, its sender included, sees it, and
// messages reach every recipient in the order they were sent.
//
// The sender is not held per message: a client may pipeline any number of
// messages into the lane (bounded by the lane: when it is full the
// message is refused with FAIL <cmd> TEMPORARILY_UNAVAILABLE and nothing
// is relayed). Its order with its other commands is kept by a barrier:
// while a client has messages in the lane (c.histPending), the next line
// that is not a PRIVMSG, NOTICE or TAGMSG waits (the client is held) until
// the last of them has been relayed. A JOIN, PART, NICK, QUIT… therefore
// never overtakes a message sent before it.
//
// Messages that are not stored (a channel whose policy is "off", a
// STATUSMSG, a TAGMSG that is not a react, a guest's private message,
// private messages while [history] private is off) ride the lane too, as
// an entry without a write: they keep their place among the client's
// stored messages at the cost of waiting for the batch they fall into.
// Messages to services (NickServ, ChanServ) are answered at once.
//
// Events (JOIN, PART, QUIT, KICK, MODE, TOPIC, NICK) of channels with
// history are stored through the same lane, in order with the messages,
// for draft/event-playback; their live relay does not wait for the
// commit. A JOIN of a logged-in account also records its join time
// (record.Joined, kept at the earliest) for the "joined" policy.
//
// Read path: CHATHISTORY queries the backend through the async pool
// (never on the loop); see chathistory.go. A JOIN's reads (read marker,
// replay) run in the lane, in order with the messages; see
// history_join.go.

// HistoryOptions configures message history on the IRC side; the backend
// decides whether anything is kept at all (FeatureHistory).
type HistoryOptions struct {
	// Private stores private messages between two logged-in accounts.
	Private bool
	// Replay is how many lines a client without draft/chathistory gets
	// when it joins a channel (0: none).
	Replay int
	// MaxRequest bounds one CHATHISTORY request (CHATHISTORY= in 005);
	// default 1000.
	MaxRequest int
	// Queue bounds the history lane; default 16384.
	Queue int
}

// HistoryRef is a CHATHISTORY message reference: a msgid, or a point in
// time when MsgID is "". The zero HistoryRef is "*".
type HistoryRef struct {
	MsgID string
	Time  time.Time
}

// IsZero reports whether r is "*".
func (r HistoryRef) IsZero() bool { return r.MsgID == "" && r.Time.IsZero() }

// History query subcommands (HistoryQuery.Sub).
const (
	HistoryLatest  = "LATEST"
	HistoryBefore  = "BEFORE"
	HistoryAfter   = "AFTER"
	HistoryAround  = "AROUND"
	HistoryBetween = "BETWEEN"
)

// HistoryQuery is one history read.
type HistoryQuery struct {
	Sub    string // HistoryLatest, HistoryBefore, ...
	Target string // record.ChannelTarget or record.PrivateTarget
	// From is the reference (LATEST: may be "*"); To is BETWEEN's second.
	From, To HistoryRef
	Limit    int
	// Joined applies the "joined" policy: only entries from the earlier of
	// JoinedSince (when not zero: the reader's current membership) and
	// the first recorded join of Account (when not "") are returned;
	// with neither, ErrHistoryNoAccess.
	Joined      bool
	JoinedSince time.Time
	Account     string
	// Epoch, when not zero, hides entries before it for every reader: a
	// channel that is neither registered nor declared starts a new
	// history when it is created again after it was forgotten (while the
	// daemon runs), so that a new channel never shows what an earlier one
	// of the same name said (which may have been +s, or "joined"). An
	// account with a recorded join before it reads from that join.
	Epoch time.Time
	// Events includes draft/event-playback events; Tagmsg includes
	// TAGMSGs (reacts and unreacts, for message-tags clients). PRIVMSG
	// and NOTICE are always returned.
	Events bool
	Tagmsg bool
}

// TargetsQuery is a CHATHISTORY TARGETS read.
type TargetsQuery struct {
	// Account includes its private conversations ("": none).
	Account string
	// Channels are the channel targets the reader may list.
	Channels map[string]bool
	// From and To bound the time of a target's latest entry (exclusive,
	// either order); Limit bounds the answer.
	From, To time.Time
	Limit    int
}

// HistoryTarget is one answer of HistoryTargets: a channel (Target) or a
// private conversation with the account Peer, and the time of its latest
// entry.
type HistoryTarget struct {
	Target string
	Peer   string
	Last   time.Time
}

// histWrite is one entry of the history lane: a message to store (msg,
// when msg.Target is not ""), a join time, or neither (a message that is
// not stored but keeps its place). rejected is set by the commit when
// the backend refused msg as invalid.
type histWrite struct {
	msg      record.Message
	join     *record.Joined
	rejected bool
	// read, when set, runs in the lane after the batch is stored (stored:
	// msg is in the store), so that what it reads is in order with the
	// messages around it (a JOIN's read marker and replay, history_join.go)
	read func(stored bool)
}

// historyOn reports whether messages go through the history lane.
func (s *Server) historyOn() bool { return s.has(FeatureHistory) }

// commitHistory is the history lane's commit: one AppendHistory for the
// batch.
func (s *Server) commitHistory(batch []*histWrite) error {
	var msgs []record.Message
	var idx []int
	var joins []record.Joined
	for i, w := range batch {
		if w.msg.Target != "" {
			msgs = append(msgs, w.msg)
			idx = append(idx, i)
		}
		if w.join != nil {
			joins = append(joins, *w.join)
		}
	}
	var err error
	if len(msgs) > 0 || len(joins) > 0 {
		var rejected []int
		rejected, err = s.be.AppendHistory(msgs, joins)
		for _, r := range rejected {
			if r >= 0 && r < len(idx) {
				batch[idx[r]].rejected = true
			}
		}
	}
	for _, w := range batch {
		if w.read != nil {
			w.read(err == nil && w.msg.Target != "" && !w.rejected)
		}
	}
	return err
}

// policy returns ch's history policy: the one set for it, or the default
// for its modes ("world" for a channel anyone may join, "joined" for the
// rest).
func (ch *Channel) historyPolicy() string {
	if ch.history != "" {
		return ch.history
	}
	if ch.closed() {
		return record.HistoryJoined
	}
	return record.HistoryWorld
}

// closed reports whether not everyone may join ch: +i, +k or +s.
func (ch *Channel) closed() bool {
	return ch.flags&(chanInviteOnly|chanSecret) != 0 || ch.key != ""
}

// storesHistory reports whether messages of ch are stored.
func (s *Server) storesHistory(ch *Channel) bool {
	return s.historyOn() && ch.historyPolicy() != record.HistoryOff
}

// historyTags returns the client-only tags of a serialized tag string as
// a map ("" gives nil).
func historyTags(ctags string) map[string]string {
	if ctags == "" {
		return nil
	}
	t := irc.ParseTags(ctags)
	m := make(map[string]string, len(t))
	for k, v := range t {
		m[k] = v
	}
	return m
}

// storedTagmsg reports whether a TAGMSG with these client tags is kept in
// history: reacts and unreacts are (a poll's votes), other TAGMSGs
// (typing notifications…) are not.
func storedTagmsg(ctags map[string]string) bool {
	_, react := ctags["+draft/react"]
	_, unreact := ctags["+draft/unreact"]
	return react || unreact
}

var msgKinds = map[string]record.MessageKind{"PRIVMSG": record.KindPrivmsg, "NOTICE": record.KindNotice, "TAGMSG": record.KindTagmsg}

// historyRecord returns the record of d as stored, or one with an empty
// Target when d is not stored.
func (s *Server) historyRecord(c *Client, d *delivery) record.Message {
	tags := historyTags(d.ctags)
	if d.cmd == "TAGMSG" && !storedTagmsg(tags) {
		return record.Message{}
	}
	var target string
	switch {
	case d.ch != nil:
		if d.status != 0 || !s.storesHistory(d.ch) {
			return record.Message{} // STATUSMSG reaches only some members
		}
		target = record.ChannelTarget(d.ch.folded)
	case d.to != nil:
		if !s.cfg.History.Private || c.account == "" || d.to.account == "" {
			return record.Message{}
		}
		target = record.PrivateTarget(c.account, d.to.account)
	default:
		return record.Message{}
	}
	text := ""
	switch {
	case d.lines != nil:
		// a draft/multiline batch is one message: its lines joined with
		// "\n" (a concatenated line without); each replayed line is fitted
		// to the line limit then (chathistory.go, historyLines)
		text = d.text
	case d.cmd != "TAGMSG":
		text = s.fitText(c.prefix(), d.cmd, d.target, d.text)
	}
	return record.Message{
		Target:  target,
		MsgID:   string(d.msgid[:]),
		Time:    d.at,
		Kind:    msgKinds[d.cmd],
		Prefix:  c.prefix(),
		Account: c.account,
		To:      d.target,
		Tags:    tags,
		Text:    text,
	}
}

// send stores (when history is kept) and then relays d from c: the one
// path of every routed PRIVMSG, NOTICE and TAGMSG.
func (s *Server) send(c *Client, d *delivery) {
	if !s.historyOn() {
		s.deliver(c, d)
		return
	}
	w := &histWrite{msg: s.historyRecord(c, d)}
	relay := func(err error) {
		switch {
		case err != nil || w.rejected:
			if !c.gone {
				c.send(s.failLine(d.cmd, "MESSAGE_ERROR", []string{d.target}, "Your message could not be stored and was not sent"))
			}
		default:
			if w.msg.Target != "" {
				s.observer().Stored()
			}
			s.deliver(c, d)
		}
	}
	// a labeled command's echo comes from the lane callback, after the
	// command is done: the callback puts the capture back (labeled.go)
	lc := c.label
	done := func(err error) {
		c.histPending--
		if lc != nil {
			s.laneLabel(c, lc, func() { relay(err) })
		} else {
			relay(err)
		}
		if c.histPending == 0 && c.histBarrier {
			c.histBarrier = false
			s.release(c)
		}
	}
	if !s.hist.submit(s, nil, w, done) {
		s.hist.refused(s)
		c.send(s.failLine(d.cmd, "TEMPORARILY_UNAVAILABLE", []string{d.target}, "The server is busy; your message was not sent, try again"))
		return
	}
	if lc != nil {
		lc.lanes++
	}
	c.histPending++
}

// recordEvent stores an event of ch (draft/event-playback) through the
// history lane, in order with the messages; its relay does not wait.
// params are the middle parameters after the channel (KICK: victim; MODE:
// modes and arguments; NICK: the new nick).
func (s *Server) recordEvent(c *Client, ch *Channel, kind record.MessageKind, at time.Time, params []string, text string) {
	if !s.storesHistory(ch) {
		return
	}
	if !s.hist.submit(s, nil, s.eventWrite(c, ch, kind, at, params, text), nil) {
		s.hist.refused(s) // the event is live already; only its record is lost
	}
}

// eventWrite is the history lane entry of an event of ch.
func (s *Server) eventWrite(c *Client, ch *Channel, kind record.MessageKind, at time.Time, params []string, text string) *histWrite {
	var id [msgIDLen]byte
	s.msgIDs.next(at, &id)
	w := &histWrite{msg: record.Message{
		Target:  record.ChannelTarget(ch.folded),
		MsgID:   string(id[:]),
		Time:    at,
		Kind:    kind,
		Prefix:  c.prefix(),
		Account: c.account,
		To:      ch.name,
		Params:  params,
		Text:    text,
	}}
	if kind == record.KindJoin && c.account != "" {
		w.join = &record.Joined{Account: c.account, Target: w.msg.Target, Time: at}
	}
	return w
}

// recordEventAll stores an event of c (QUIT, NICK) in every channel it is
// in that keeps history.
func (s *Server) recordEventAll(c *Client, kind record.MessageKind, params []string, text string) {
	if !s.historyOn() {
		return
	}
	at := s.clock.Now()
	for ch := range c.channels {
		s.recordEvent(c, ch, kind, at, params, text)
	}
}

// messageCommand reports whether a line is a PRIVMSG, NOTICE or TAGMSG,
// the commands that may follow each other into the history lane without
// waiting for the previous ones to be relayed.
func messageCommand(ln []byte) bool {
	i := 0
	skip := func() {
		for i < len(ln) && ln[i] != ' ' {
			i++
		}
		for i < len(ln) && ln[i] == ' ' {
			i++
		}
	}
	if i < len(ln) && ln[i] == '@' {
		skip()
	}
	if i < len(ln) && ln[i] == ':' {
		skip()
	}
	j := i
	for j < len(ln) && ln[j] != ' ' {
		j++
	}
	switch cmd := ln[i:j]; len(cmd) {
	case 6:
		return equalFoldASCII(cmd, "NOTICE") || equalFoldASCII(cmd, "TAGMSG")
	case 7:
		return equalFoldASCII(cmd, "PRIVMSG")
	}
	return false
}

func equalFoldASCII(b []byte, upper string) bool {
	for i := range b {
		x := b[i]
		if x >= 'a' && x <= 'z' {
			x -= 'a' - 'A'
		}
		if x != upper[i] {
			return false
		}
	}
	return true
}

// histBarrier holds c before a line that must not overtake its messages
// still in the history lane; it reports whether c is now held.
func (s *Server) histBarrierBefore(c *Client, ln []byte) bool {
	if c.histPending == 0 || c.histBarrier || messageCommand(ln) {
		return false
	}
	c.histBarrier = true
	s.hold(c)
	return true
}

// failLine builds "FAIL cmd code ctx… :text" (standard replies).
func (s *Server) failLine(cmd, code string, ctx []string, text string) []byte {
	params := append(append([]string{cmd, code}, ctx...), text)
	return lineTrail(s.name, "FAIL", params...)
}
