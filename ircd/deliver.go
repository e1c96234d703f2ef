package ircd

import "time"

// delivery is one complete message a client sent — a PRIVMSG, NOTICE or
// TAGMSG line, or an assembled draft/multiline batch — after route has
// checked it: it has a target, its time and its message ID, and deliver
// hands it to its recipients.
//
// deliver is the single place where a message is relayed; send
// (history.go) stores each message (a multiline batch as one message) before
// it calls deliver.
type delivery struct {
	cmd    string     // PRIVMSG, NOTICE or TAGMSG
	target string     // as recipients see it: "#chan", "@#chan" (STATUSMSG) or the recipient's nick
	ch     *Channel   // channel target, or nil
	status memberMode // STATUSMSG: only members with these modes
	to     *Client    // private target, or nil
	text   string     // a line's text; a multiline batch's combined text
	lines  []mlLine   // a multiline batch's lines (nil for a single line)
	ctags  string     // client-only tags, serialized
	at     time.Time
	msgid  [msgIDLen]byte
	seq    uint64 // s.stampSeq when stamped
}

// joinMark is when a client joined a channel: the time, and s.stampSeq
// then, which tells the messages stamped before the join.
type joinMark struct {
	at  time.Time
	seq uint64
}

// stamp gives d its time, a new message ID and its place in the order of
// messages and joins.
func (s *Server) stamp(d *delivery) {
	d.at = s.clock.Now()
	s.msgIDs.next(d.at, &d.msgid)
	s.stampSeq++
	d.seq = s.stampSeq
}

// joinedAfter reports whether member mbr of d.ch joined it after d was
// stamped: with history, a message waits in the lane and may be relayed
// after a later join; the joiner did not see it live and gets it from
// history (replay on JOIN, CHATHISTORY), never twice or out of order.
func (d *delivery) joinedAfter(mbr *Client) bool {
	return d.seq <= d.ch.lastJoin && d.seq <= mbr.joinedAt[d.ch].seq
}

// deliver relays d from c to its recipients and echoes it to c
// (echo-message). A TAGMSG reaches only message-tags clients; a multiline
// batch reaches draft/multiline clients as a batch and the others as its
// separate lines.
func (s *Server) deliver(c *Client, d *delivery) {
	need := capSet(0)
	if d.cmd == "TAGMSG" {
		need = capMessageTags
	}
	var one *outMsg
	var ml *mlOut
	if d.lines == nil {
		one = s.singleMsg(c, d)
	} else {
		ml = s.multilineMsg(c, d)
	}
	send := func(r *Client) {
		if one != nil {
			r.sendMsg(one)
		} else {
			ml.sendTo(r)
		}
	}
	n := 0
	if d.ch != nil {
		for mbr, mm := range d.ch.members {
			if mbr == c || (need != 0 && !mbr.caps.has(need)) || (d.status != 0 && mm&d.status == 0) || d.joinedAfter(mbr) {
				continue
			}
			send(mbr)
			n++
		}
	} else if need == 0 || d.to.caps.has(need) {
		if lc := c.label; d.to == c && lc != nil {
			// a message to oneself: only the echo is the labeled
			// response (labeled-response), the delivered copy is not
			c.label = nil
			send(c)
			c.label = lc
		} else {
			send(d.to)
		}
		n = 1
	}
	s.observer().Relayed(n)
	if c.caps.has(capEchoMessage) && (need == 0 || c.caps.has(need)) {
		send(c)
	}
}

// singleMsg is the relayed line of a single-line message.
func (s *Server) singleMsg(c *Client, d *delivery) *outMsg {
	prefix := c.prefix()
	params := []string{d.target}
	if d.cmd != "TAGMSG" {
		params = append(params, s.fitText(prefix, d.cmd, d.target, d.text))
	}
	return &outMsg{
		at:         d.at,
		account:    c.account,
		clientTags: d.ctags,
		msgid:      d.msgid,
		hasID:      true,
		body:       buildLine(prefix, d.cmd, params, d.cmd != "TAGMSG"),
	}
}
