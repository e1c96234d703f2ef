package ircd

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/record"
)

// CHATHISTORY (IRCv3 draft/chathistory) and the replay on JOIN. Who may
// read what is decided here, on the loop (historyAccess); the reads go
// through the async pool and the answer is sent, always in a chathistory
// batch (an empty one when there is nothing), by the continuation.
//
// Visibility:
//   - a channel's policy is "world" (who may join reads its whole retained
//     history), "joined" (from the time the reader joined: an account from
//     its first recorded join, kept in the store, so it reads what was said
//     while it was away; a guest from when its current membership began)
//     or "off" (nothing is stored: empty answers).
//   - a non-member reads a channel only when it is "world", open (no +i,
//     +k, +s) and not +R for a guest; otherwise only an account with a
//     recorded join does, from that join. A channel that does not exist
//     now is read the same way. Banned clients get INVALID_TARGET.
//   - a private conversation is read only by its two accounts; guests get
//     INVALID_TARGET for any nick.
//   - a channel that is neither registered nor declared in the
//     configuration is forgotten when its last member leaves. If its
//     history was world-readable, it goes on when the channel is created
//     again (observers of an open channel read what was said before).
//     Otherwise readers of the new channel see only what was said since
//     (HistoryQuery.Epoch), except accounts that were in the earlier
//     channel: they read from their first recorded join, as they do while
//     no channel of that name exists. The forgotten names are kept in
//     memory (at most Limits.MaxChannels): after a restart, a channel's
//     history goes on.

// historyTimeFormat is the server-time format of timestamp= references.
const historyTimeFormat = "2006-01-02T15:04:05.000Z"

// historyRead is what a reader may read of a channel's history
// (channelHistoryRead).
type historyRead int

const (
	// readNone: nothing; the target is refused (INVALID_TARGET).
	readNone historyRead = iota
	// readEmpty: the channel keeps no history (policy "off").
	readEmpty
	// readAll: the whole retained history.
	readAll
	// readSinceJoin: a member of a channel that is not "world", from when
	// its current membership began (an account: from its recorded joins).
	readSinceJoin
	// readRecordedJoins: an account that is not a member, from its
	// recorded joins.
	readRecordedJoins
)

// historyReader is who asks for a channel's history. The zero value is an
// observer of the pages without JavaScript: a guest in no channel, whom no
// ban can match.
type historyReader struct {
	account string // "" for a guest
	member  bool   // in the channel now
	banned  bool   // matched by a ban of the channel and not an IRC operator
}

// channelHistoryRead is the one rule of who reads a channel's history
// (the visibility above): CHATHISTORY, the replay on JOIN (through
// historyAccess) and the pages without JavaScript (PublicChannel) ask it.
// ch is nil when no channel of that name exists now.
func channelHistoryRead(ch *Channel, r historyReader) historyRead {
	if ch == nil {
		if r.account != "" {
			return readRecordedJoins
		}
		return readNone
	}
	if r.banned {
		return readNone
	}
	policy := ch.historyPolicy()
	if policy == record.HistoryOff {
		return readEmpty
	}
	world := policy == record.HistoryWorld
	if r.member {
		if world {
			return readAll
		}
		return readSinceJoin
	}
	if world && !ch.closed() && !(ch.flags&chanRegOnly != 0 && r.account == "") {
		return readAll
	}
	if r.account != "" {
		return readRecordedJoins
	}
	return readNone
}

// historyAccess decides what c may read of target. ok is false when c may
// not (INVALID_TARGET); empty is set when nothing can be there (the
// channel's policy is "off", or private history is not kept).
func (s *Server) historyAccess(c *Client, target string) (q HistoryQuery, name string, empty, ok bool) {
	q.Events = c.caps.has(capEventPlayback)
	q.Tagmsg = c.caps.has(capMessageTags) // TAGMSG needs message-tags
	q.Account = c.account
	if strings.HasPrefix(target, "#") {
		folded := Fold(target)
		q.Target = record.ChannelTarget(folded)
		ch := s.st.channels[folded]
		r := historyReader{account: c.account}
		name = target
		if ch != nil {
			name = ch.name
			if !ch.permanent {
				q.Epoch = ch.epoch
			}
			r.member = isMember(ch, c)
			r.banned = ch.isBanned(c) && !c.oper
		}
		switch channelHistoryRead(ch, r) {
		case readEmpty:
			return q, name, true, true
		case readAll:
			return q, name, false, true
		case readSinceJoin:
			q.Joined, q.JoinedSince = true, c.joinedAt[ch].at
			return q, name, false, true
		case readRecordedJoins:
			q.Joined = true
			return q, name, false, ch != nil || validChannel(target, s.lim.ChannelLen)
		}
		return q, name, false, false
	}
	if c.account == "" {
		return q, target, false, false
	}
	peer, ok := s.peerAccount(target)
	if !ok {
		return q, target, false, false
	}
	q.Target = record.PrivateTarget(c.account, peer)
	return q, target, !s.cfg.History.Private, true
}

// parseHistoryRef parses "*" (when star is allowed), "msgid=…" or
// "timestamp=…".
func parseHistoryRef(p string, star bool) (HistoryRef, bool) {
	if p == "*" {
		return HistoryRef{}, star
	}
	k, v, found := strings.Cut(p, "=")
	if !found || v == "" {
		return HistoryRef{}, false
	}
	switch k {
	case "msgid":
		return HistoryRef{MsgID: v}, len(v) <= 64
	case "timestamp":
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil || t.IsZero() {
			return HistoryRef{}, false
		}
		return HistoryRef{Time: t}, true
	}
	return HistoryRef{}, false
}

func (s *Server) handleChathistory(c *Client, m *irc.Message) {
	fail := func(code string, ctx []string, text string) {
		c.send(s.failLine("CHATHISTORY", code, ctx, text))
	}
	if !s.historyOn() {
		c.numeric(errUnknownCommand, "CHATHISTORY", "Unknown command")
		return
	}
	if len(m.Params) == 0 {
		fail("NEED_MORE_PARAMS", nil, "Missing parameters")
		return
	}
	sub := strings.ToUpper(m.Params[0])
	args := m.Params[1:]
	need := 3
	switch sub {
	case HistoryLatest, HistoryBefore, HistoryAfter, HistoryAround, "TARGETS":
	case HistoryBetween:
		need = 4
	default:
		fail("UNKNOWN_COMMAND", []string{m.Params[0]}, "Unknown subcommand")
		return
	}
	if len(args) < need {
		fail("NEED_MORE_PARAMS", []string{sub}, "Missing parameters")
		return
	}
	if len(args) > need {
		fail("INVALID_PARAMS", []string{sub}, "Too many parameters")
		return
	}
	limit, err := strconv.Atoi(args[need-1])
	if err != nil || limit < 1 {
		fail("INVALID_PARAMS", []string{sub, args[need-1]}, "Invalid limit")
		return
	}
	limit = min(limit, s.cfg.History.MaxRequest)
	if sub == "TARGETS" {
		s.chathistoryTargets(c, args, limit, fail)
		return
	}
	target := args[0]
	from, ok := parseHistoryRef(args[1], sub == HistoryLatest)
	if !ok {
		fail("INVALID_PARAMS", []string{sub, args[1]}, "Invalid message reference")
		return
	}
	var to HistoryRef
	if sub == HistoryBetween {
		if to, ok = parseHistoryRef(args[2], false); !ok {
			fail("INVALID_PARAMS", []string{sub, args[2]}, "Invalid message reference")
			return
		}
	}
	q, name, empty, ok := s.historyAccess(c, target)
	if !ok {
		fail("INVALID_TARGET", []string{sub, target}, "Messages could not be retrieved")
		return
	}
	if empty {
		s.sendHistoryBatch(c, name, nil)
		return
	}
	q.Sub, q.From, q.To, q.Limit = sub, from, to, limit
	s.async(c, func() func() {
		msgs, err := s.be.History(q)
		return func() {
			switch {
			case errors.Is(err, ErrHistoryNoAccess):
				fail("INVALID_TARGET", []string{sub, target}, "Messages could not be retrieved")
			case errors.Is(err, ErrHistoryNotFound):
				s.sendHistoryBatch(c, name, nil)
			case err != nil:
				s.log.Warn("history query failed", "err", err)
				fail("MESSAGE_ERROR", []string{sub, target}, "Messages could not be retrieved")
			default:
				s.sendHistoryBatch(c, name, msgs)
			}
		}
	})
}

// chathistoryTargets answers CHATHISTORY TARGETS: the channels c is in
// that keep history and the private conversations of its account, whose
// latest message lies between the two timestamps.
func (s *Server) chathistoryTargets(c *Client, args []string, limit int, fail func(string, []string, string)) {
	var bounds [2]time.Time
	for i := range bounds {
		r, ok := parseHistoryRef(args[i], false)
		if !ok || r.MsgID != "" {
			fail("INVALID_PARAMS", []string{"TARGETS", args[i]}, "Invalid timestamp")
			return
		}
		bounds[i] = r.Time
	}
	q := TargetsQuery{From: bounds[0], To: bounds[1], Limit: limit, Channels: map[string]bool{}}
	names := map[string]string{}
	for ch := range c.channels {
		if s.storesHistory(ch) && (!ch.isBanned(c) || c.oper) {
			q.Channels[record.ChannelTarget(ch.folded)] = true
			names[record.ChannelTarget(ch.folded)] = ch.name
		}
	}
	if s.cfg.History.Private {
		q.Account = c.account
	}
	s.async(c, func() func() {
		ts, err := s.be.HistoryTargets(q)
		return func() {
			if err != nil {
				s.log.Warn("history targets query failed", "err", err)
				fail("MESSAGE_ERROR", []string{"TARGETS", "*"}, "Targets could not be retrieved")
				return
			}
			b := s.startBatch(c, nil, "draft/chathistory-targets")
			for _, t := range ts {
				name := t.Peer
				if name == "" {
					name = names[t.Target]
				}
				if name == "" {
					continue
				}
				b.sendTo(c, line(s.name, "CHATHISTORY", "TARGETS", name, t.Last.UTC().Format(historyTimeFormat)))
			}
			b.end(nil)
		}
	})
}

// sendHistoryBatch sends msgs to c in a chathistory batch for name.
func (s *Server) sendHistoryBatch(c *Client, name string, msgs []record.Message) {
	b := s.startBatch(c, nil, "chathistory", name)
	for i := range msgs {
		m := &msgs[i]
		if lines := s.historyLines(m); lines != nil {
			s.sendHistoryMultiline(c, b, m, lines)
			continue
		}
		if body := historyBody(m); body != nil {
			b.sendTo(c, historyOut(m, body).bytesFor(c.caps))
		}
	}
	b.end(nil)
}

// historyLines returns the lines of a stored PRIVMSG or NOTICE that does
// not fit one IRC line — a draft/multiline message (lines joined with
// "\n") — or nil for one that does. A line longer than the line limit is
// cut into pieces at UTF-8 boundaries, each after the first marked as
// concatenated. No line ever holds a line feed or carriage return.
func (s *Server) historyLines(m *record.Message) []mlLine {
	if m.Kind != record.KindPrivmsg && m.Kind != record.KindNotice {
		return nil
	}
	cmd := m.Kind.String()
	if !strings.ContainsAny(m.Text, "\r\n") && s.fitText(m.Prefix, cmd, m.To, m.Text) == m.Text {
		return nil
	}
	var lines []mlLine
	for _, l := range strings.Split(m.Text, "\n") {
		l = strings.ReplaceAll(l, "\r", "")
		first := true
		for first || l != "" {
			part := s.fitText(m.Prefix, cmd, m.To, l)
			if part == "" && l != "" {
				return lines // the prefix leaves no room: cannot happen with sane limits
			}
			lines = append(lines, mlLine{text: part, concat: !first})
			l = l[len(part):]
			first = false
		}
	}
	return lines
}

// sendHistoryMultiline sends a stored multiline message inside the
// chathistory batch b: to a draft/multiline client as a multiline batch
// nested in b (its opening line with the message's tags), to others as
// its separate non-blank lines, the first with the message ID — as it
// was relayed live (multiline.go).
func (s *Server) sendHistoryMultiline(c *Client, b *outBatch, m *record.Message, lines []mlLine) {
	cmd := m.Kind.String()
	if b != nil && c.caps.has(capMultiline) {
		ref := s.newBatchRef()
		open := historyOut(m, buildLine(m.Prefix, "BATCH", []string{"+" + ref, multilineType, m.To}, false))
		b.send(open.bytesFor(c.caps))
		for _, l := range lines {
			tagged := withBatchTag(buildLine(m.Prefix, cmd, []string{m.To, l.text}, true), ref)
			if l.concat {
				tagged = withTag(tagged, multilineConcat, "")
			}
			c.send(tagged)
		}
		b.send(batchLine(s.name, "", ref, false))
		return
	}
	first := true
	for _, l := range lines {
		if l.text == "" {
			continue
		}
		o := historyOut(m, buildLine(m.Prefix, cmd, []string{m.To, l.text}, true))
		if !first {
			o.hasID, o.clientTags = false, ""
		}
		first = false
		b.sendTo(c, o.bytesFor(c.caps))
	}
}

// historyBody rebuilds the line of a stored message or event (nil for an
// invalid one).
func historyBody(m *record.Message) []byte {
	switch m.Kind {
	case record.KindPrivmsg, record.KindNotice:
		return buildLine(m.Prefix, m.Kind.String(), []string{m.To, m.Text}, true)
	case record.KindTagmsg, record.KindJoin:
		return line(m.Prefix, m.Kind.String(), m.To)
	case record.KindPart:
		if m.Text == "" {
			return line(m.Prefix, "PART", m.To)
		}
		return lineTrail(m.Prefix, "PART", m.To, m.Text)
	case record.KindQuit:
		return lineTrail(m.Prefix, "QUIT", m.Text)
	case record.KindKick:
		if len(m.Params) < 1 {
			return nil
		}
		return lineTrail(m.Prefix, "KICK", m.To, m.Params[0], m.Text)
	case record.KindMode:
		return line(m.Prefix, "MODE", append([]string{m.To}, m.Params...)...)
	case record.KindTopic:
		return lineTrail(m.Prefix, "TOPIC", m.To, m.Text)
	case record.KindNick:
		if len(m.Params) < 1 {
			return nil
		}
		return line(m.Prefix, "NICK", m.Params[0])
	}
	return nil
}

// historyOut wraps a stored message's line with its tags: server-time,
// its msgid and client-only tags (message-tags), its account
// (account-tag), as each recipient negotiated.
func historyOut(m *record.Message, body []byte) *outMsg {
	o := &outMsg{at: m.Time, account: m.Account, body: body}
	if len(m.MsgID) == msgIDLen {
		copy(o.msgid[:], m.MsgID)
		o.hasID = true
	}
	if len(m.Tags) > 0 {
		keys := make([]string, 0, len(m.Tags))
		for k := range m.Tags {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var sb strings.Builder
		for _, k := range keys {
			if sb.Len() > 0 {
				sb.WriteByte(';')
			}
			sb.WriteString(k)
			if v := m.Tags[k]; v != "" {
				sb.WriteByte('=')
				sb.WriteString(irc.EncodeTagValue(v))
			}
		}
		o.clientTags = sb.String()
	}
	return o
}
