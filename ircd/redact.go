package ircd

import (
	"errors"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/record"
)

// IRCv3 draft/message-redaction: REDACT <target> <msgid> [:reason].
//
// Who may redact: the sender of a stored PRIVMSG, NOTICE or TAGMSG (an
// account its own messages; a guest its messages of the same connection),
// and, in a channel, its operators and IRC operators. There is no time
// window. The message is looked up and redacted in the store through the
// async pool (Backend.HistoryMessage, RedactHistory: its text, tags and
// params are removed, a tombstone keeps its msgid, time and sender), and
// once that is durable the REDACT is relayed like the message was — to
// the channel's members, or to the other side of a private conversation —
// but only to clients that negotiated draft/message-redaction; the others
// get nothing (no fallback notice). The sender always gets it back.
// CHATHISTORY and the replay on JOIN leave redacted messages out.
//
// A message that is not in the target's stored history (never stored,
// expired, already redacted, or of another target) is UNKNOWN_MSGID, so
// REDACT tells nobody more than CHATHISTORY would.

// redactResult is what the async step found.
type redactResult struct {
	code string // "" on success, or a FAIL REDACT code
	err  error  // a store failure
}

func (s *Server) handleRedact(c *Client, m *irc.Message) {
	if !s.historyOn() {
		c.numeric(errUnknownCommand, "REDACT", "Unknown command")
		return
	}
	target, msgid := m.Params[0], m.Params[1]
	reason := ""
	if len(m.Params) > 2 {
		reason = truncate(m.Params[2], s.lim.KickLen)
	}
	fail := func(code string, ctx []string, text string) {
		c.send(s.failLine("REDACT", code, ctx, text))
	}
	var key, shown string
	op := false
	var ch *Channel
	if len(target) > 0 && target[0] == '#' {
		ch = s.st.channels[Fold(target)]
		if ch == nil || (!isMember(ch, c) && !c.oper) {
			fail("INVALID_TARGET", []string{target}, "You cannot delete messages from "+target)
			return
		}
		key, shown = record.ChannelTarget(ch.folded), ch.name
		op = c.oper || ch.members[c]&memberOp != 0
	} else {
		peer, ok := "", false
		if c.account != "" {
			peer, ok = s.peerAccount(target)
		}
		if !ok {
			fail("INVALID_TARGET", []string{target}, "You cannot delete messages from "+target)
			return
		}
		key, shown = record.PrivateTarget(c.account, peer), target
		if t := s.st.nicks[Fold(target)]; t != nil && t.registered {
			shown = t.nick
		}
	}
	acct, prefix, signon := c.account, c.prefix(), c.signon.Truncate(time.Millisecond)
	own := func(e *record.Message) bool {
		if e.Account != "" {
			return e.Account == acct
		}
		// a guest's message: the same connection (guest hosts are
		// unique per connection while the daemon runs)
		return acct == "" && e.Prefix == prefix && !e.Time.Before(signon)
	}
	s.async(c, func() func() {
		r := s.redactStored(key, msgid, op, own)
		return func() {
			switch {
			case c.gone:
			case r.err != nil:
				s.log.Warn("redaction failed", "err", r.err)
				fail("TEMPORARILY_UNAVAILABLE", []string{shown, msgid}, "The message could not be deleted, try again")
			case r.code == "UNKNOWN_MSGID":
				fail(r.code, []string{shown, msgid}, "This message does not exist or is too old")
			case r.code != "":
				fail(r.code, []string{shown, msgid}, "You are not authorised to delete this message")
			default:
				s.relayRedact(c, target, shown, msgid, reason)
			}
		}
	})
}

// redactStored checks and redacts msgid of key (off the loop).
func (s *Server) redactStored(key, msgid string, op bool, own func(*record.Message) bool) redactResult {
	e, err := s.be.HistoryMessage(msgid)
	switch {
	case errors.Is(err, ErrHistoryNotFound):
		return redactResult{code: "UNKNOWN_MSGID"}
	case err != nil:
		return redactResult{err: err}
	case e.Target != key || e.Redacted:
		return redactResult{code: "UNKNOWN_MSGID"}
	case e.Kind != record.KindPrivmsg && e.Kind != record.KindNotice && e.Kind != record.KindTagmsg:
		return redactResult{code: "REDACT_FORBIDDEN"} // events are not messages
	case !op && !own(&e):
		return redactResult{code: "REDACT_FORBIDDEN"}
	}
	if _, err := s.be.RedactHistory(key, msgid); err != nil {
		if errors.Is(err, ErrHistoryNotFound) {
			return redactResult{code: "UNKNOWN_MSGID"} // expired meanwhile
		}
		return redactResult{err: err}
	}
	return redactResult{}
}

// relayRedact sends c's REDACT, now durable, to the recipients of the
// target that negotiated draft/message-redaction, and back to c.
func (s *Server) relayRedact(c *Client, target, shown, msgid, reason string) {
	params := []string{shown, msgid}
	if reason != "" {
		params = append(params, reason)
	}
	o := &outMsg{at: s.clock.Now(), account: c.account, hasID: true,
		body: buildLine(c.prefix(), "REDACT", params, reason != "")}
	s.msgIDs.next(o.at, &o.msgid)
	n := 0
	if shown[0] == '#' {
		if ch := s.st.channels[Fold(shown)]; ch != nil {
			for mbr := range ch.members {
				if mbr != c && mbr.caps.has(capMessageRedaction) {
					mbr.sendMsg(o)
					n++
				}
			}
		}
	} else if t := s.st.nicks[Fold(shown)]; t != nil && t.registered && t != c && t.caps.has(capMessageRedaction) {
		if peer, ok := s.peerAccount(target); ok && t.account == peer {
			t.sendMsg(o)
			n++
		}
	}
	s.observer().Relayed(n)
	c.sendMsg(o)
}
