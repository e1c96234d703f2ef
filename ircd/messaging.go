package ircd

import (
	"sort"
	"strings"

	"gopkg.in/irc.v4"
)

func (s *Server) handlePrivmsg(c *Client, m *irc.Message) { s.message(c, m, "PRIVMSG") }
func (s *Server) handleNotice(c *Client, m *irc.Message)  { s.message(c, m, "NOTICE") }
func (s *Server) handleTagmsg(c *Client, m *irc.Message)  { s.message(c, m, "TAGMSG") }

// maxClientTagData bounds the tag data of a client's line, between '@'
// and the space (message-tags "Size limit"): longer lines get 417 and are
// not relayed, never truncated.
const maxClientTagData = 4094

// clientTags serializes the client-only (+) tags of m, sorted, within the
// tag budget; "" when there are none.
func (s *Server) clientTags(m *irc.Message) string {
	if len(m.Tags) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m.Tags))
	for k := range m.Tags {
		if len(k) > 1 && k[0] == '+' && validTagKey(k[1:]) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := irc.EncodeTagValue(m.Tags[k])
		n := len(k)
		if b.Len() > 0 {
			n++ // ';'
		}
		if v != "" {
			n += 1 + len(v) // '='
		}
		if b.Len()+n > maxClientTagData {
			break // cannot happen after the line check; a safety net
		}
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(k)
		if v != "" {
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	return b.String()
}

func validTagKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		b := k[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '.' || b == '/') {
			return false
		}
	}
	return true
}

func (s *Server) message(c *Client, m *irc.Message, cmd string) {
	notice := cmd == "NOTICE"
	tagmsg := cmd == "TAGMSG"
	if len(m.Params) < 1 || m.Params[0] == "" {
		if !notice {
			c.numeric(errNoRecipient, "No recipient given ("+cmd+")")
		}
		return
	}
	text := ""
	if !tagmsg {
		if len(m.Params) < 2 || m.Params[1] == "" {
			if !notice {
				c.numeric(errNoTextToSend, "No text to send")
			}
			return
		}
		text = m.Params[1]
	}
	targets := splitList(m.Params[0])
	if len(targets) > s.lim.MaxTargets {
		if !notice {
			c.numeric(errTooManyTargets, m.Params[0], "Too many targets. The maximum is "+itoa(s.lim.MaxTargets))
		}
		return
	}
	ctags := s.clientTags(m)
	if tagmsg && ctags == "" {
		return
	}
	_, typing := m.Tags["+typing"]
	typing = typing && tagmsg
	now := s.clock.Now()
	if !notice {
		c.lastActive = now
	}
	for _, target := range targets {
		if target == "" {
			if !notice {
				c.numeric(errNoSuchNick, "*", "No such nick/channel")
			}
			continue
		}
		if typing && !s.typingAllowed(c, target) {
			continue // at most one typing notification per target per 3 s
		}
		s.messageTarget(c, cmd, target, text, ctags)
		if c.gone {
			return
		}
	}
}

func (s *Server) messageTarget(c *Client, cmd, target, text, ctags string) {
	d := s.route(c, cmd, target, text)
	if d == nil {
		return
	}
	d.text, d.ctags = text, ctags
	s.stamp(d)
	s.send(c, d)
}

// route resolves the target of c's message and applies every rule that
// decides whether it may be delivered (channel modes, bans, the
// recipient's contact rules). It returns nil when the message is refused
// (c has been told, unless it is a NOTICE) or was for a service, which
// handled it.
func (s *Server) route(c *Client, cmd, target, text string) *delivery {
	notice := cmd == "NOTICE"
	// STATUSMSG: @#chan or +#chan reaches only ops (or voiced and ops)
	status := memberMode(0)
	name := target
	if len(name) > 1 && (name[0] == '@' || name[0] == '+') && name[1] == '#' {
		status = memberVoice | memberOp
		if name[0] == '@' {
			status = memberOp
		}
		name = name[1:]
	}
	if name[0] == '#' {
		ch := s.st.channels[Fold(name)]
		if ch == nil {
			if !notice {
				c.numeric(errNoSuchNick, name, "No such nick/channel")
			}
			return nil
		}
		if reason := s.cannotSend(c, ch, text); reason != "" {
			if !notice {
				c.numeric(errCannotSendToChan, ch.name, reason)
			}
			return nil
		}
		return &delivery{cmd: cmd, target: target, ch: ch, status: status}
	}
	switch Fold(target) {
	case Fold(nickServ):
		if cmd == "PRIVMSG" {
			s.nickServ(c, text)
		}
		return nil
	case Fold(chanServ):
		if cmd == "PRIVMSG" {
			s.chanServ(c, text)
		}
		return nil
	}
	t := s.st.nicks[Fold(target)]
	if t == nil || !t.registered {
		if !notice {
			c.numeric(errNoSuchNick, target, "No such nick/channel")
		}
		return nil
	}
	if !s.privateAllowed(c, t, cmd, text) {
		return nil
	}
	// a +g user who writes to someone (first, or in reply) accepts them;
	// nothing is recorded of whom users without +g talk to
	if t != c && c.callerID {
		s.addAccept(c, acceptKey(t))
	}
	if cmd == "PRIVMSG" && t.away != "" {
		c.numeric(rplAway, t.nick, t.away)
	}
	return &delivery{cmd: cmd, target: t.nick, to: t}
}

// fitText shortens text so that the relayed line
// ":prefix CMD target :text\r\n" stays within the line limit (512 bytes
// without tags): the sender's line was within it without the prefix. It
// cuts at a UTF-8 character boundary.
func (s *Server) fitText(prefix, cmd, target, text string) string {
	return truncate(text, s.lim.LineBytes-(1+len(prefix)+1+len(cmd)+1+len(target)+2+2))
}

// cannotSend returns why c may not speak in ch, or "".
func (s *Server) cannotSend(c *Client, ch *Channel, text string) string {
	mode, in := ch.members[c]
	if c.oper {
		return ""
	}
	if !in && ch.flags&chanNoExternal != 0 {
		return "Cannot send to channel (no external messages)"
	}
	if ch.flags&chanNoCTCP != 0 && isCTCP(text) && !isAction(text) {
		return "Cannot send to channel (+C: no CTCPs)"
	}
	if ch.flags&chanRegSpeak != 0 && c.account == "" && mode&(memberOp|memberVoice) == 0 {
		return "Cannot send to channel (+M: only logged-in users may speak; log in with SASL)"
	}
	if mode&(memberOp|memberVoice) != 0 {
		return ""
	}
	if ch.flags&chanModerated != 0 {
		if ch.speakOps {
			return "Cannot send to channel (+m: only node operators and staff may speak here)"
		}
		return "Cannot send to channel (+m)"
	}
	if ch.isBanned(c) {
		return "Cannot send to channel (you are banned)"
	}
	return ""
}
