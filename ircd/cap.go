package ircd

import (
	"strings"

	"gopkg.in/irc.v4"
)

type capSet uint32

const (
	capCapNotify capSet = 1 << iota
	capMultiPrefix
	capUserhostInNames
	capServerTime
	capMessageTags
	capEchoMessage
	capAwayNotify
	capSetname
	capInviteNotify
	capChghost
	capAccountNotify
	capExtendedJoin
	capAccountTag
	capSASL
	capBatch
	capLabeledResponse
	capStandardReplies
	capExtendedMonitor
	capMultiline
	capChathistory
	capEventPlayback
	capReadMarker
	capMessageRedaction
)

func (s capSet) has(c capSet) bool { return s&c != 0 }

var capNames = []struct {
	bit  capSet
	name string
}{
	{capAccountNotify, "account-notify"},
	{capAccountTag, "account-tag"},
	{capAwayNotify, "away-notify"},
	{capBatch, "batch"},
	{capCapNotify, "cap-notify"},
	{capChghost, "chghost"},
	{capMultiline, "draft/multiline"},
	{capChathistory, "draft/chathistory"},
	{capEventPlayback, "draft/event-playback"},
	{capMessageRedaction, "draft/message-redaction"},
	{capReadMarker, "draft/read-marker"},
	{capEchoMessage, "echo-message"},
	{capExtendedJoin, "extended-join"},
	{capExtendedMonitor, "extended-monitor"},
	{capInviteNotify, "invite-notify"},
	{capLabeledResponse, "labeled-response"},
	{capMessageTags, "message-tags"},
	{capMultiPrefix, "multi-prefix"},
	{capSASL, "sasl"},
	{capServerTime, "server-time"},
	{capSetname, "setname"},
	{capStandardReplies, "standard-replies"},
	{capUserhostInNames, "userhost-in-names"},
}

func capByName(name string) (capSet, bool) {
	for _, c := range capNames {
		if c.name == name {
			return c.bit, true
		}
	}
	return 0, false
}

// available returns the caps this server offers now (sasl only with an
// authenticator).
func (s *Server) availableCaps() capSet {
	var all capSet
	for _, c := range capNames {
		all |= c.bit
	}
	if !s.has(FeatureAccounts) {
		all &^= capSASL
	}
	if !s.historyOn() {
		all &^= capChathistory | capEventPlayback | capReadMarker | capMessageRedaction
	}
	return all
}

func (s *Server) capValue(c capSet, version int) string {
	if c == capSASL && version >= 302 && s.has(FeatureAccounts) {
		return strings.Join(s.be.Mechanisms(), ",")
	}
	if c == capMultiline && version >= 302 {
		return s.multilineLimits()
	}
	return ""
}

func (s *Server) handleCap(c *Client, m *irc.Message) {
	if len(m.Params) < 1 {
		c.numeric(errNeedMoreParams, "CAP", "Not enough parameters")
		return
	}
	sub := strings.ToUpper(m.Params[0])
	nick := c.nickOrStar()
	switch sub {
	case "LS":
		if !c.registered {
			c.capNegotiating = true
		}
		v := 301
		if len(m.Params) > 1 && m.Params[1] >= "302" && len(m.Params[1]) == 3 {
			v = 302
		}
		if v > c.capVersion {
			c.capVersion = v
		}
		if v >= 302 {
			c.caps |= capCapNotify
		}
		avail := s.availableCaps()
		words := make([]string, 0, len(capNames))
		for _, cp := range capNames {
			if !avail.has(cp.bit) {
				continue
			}
			w := cp.name
			if v := s.capValue(cp.bit, c.capVersion); v != "" {
				w += "=" + v
			}
			words = append(words, w)
		}
		s.sendCapList(c, nick, "LS", words)
	case "LIST":
		var words []string
		for _, cp := range capNames {
			if c.caps.has(cp.bit) {
				words = append(words, cp.name)
			}
		}
		s.sendCapList(c, nick, "LIST", words)
	case "REQ":
		if len(m.Params) < 2 {
			c.numeric(errNeedMoreParams, "CAP", "Not enough parameters")
			return
		}
		if !c.registered {
			c.capNegotiating = true
		}
		req := m.Params[1]
		if len(req) > 1024 {
			c.send(line(s.name, "CAP", nick, "NAK", req[:1024]))
			return
		}
		add, del := capSet(0), capSet(0)
		avail := s.availableCaps()
		ok := true
		for _, w := range strings.Fields(req) {
			neg := strings.HasPrefix(w, "-")
			bit, known := capByName(strings.TrimPrefix(w, "-"))
			if !known || !avail.has(bit) || (neg && bit == capCapNotify && c.capVersion >= 302) {
				ok = false
				break
			}
			if neg {
				del |= bit
			} else {
				add |= bit
			}
		}
		if !ok {
			c.send(line(s.name, "CAP", nick, "NAK", req))
			return
		}
		c.caps = (c.caps | add) &^ del
		c.send(line(s.name, "CAP", nick, "ACK", req))
	case "END":
		if !c.registered {
			c.capNegotiating = false
			s.tryRegister(c)
		}
	default:
		c.numeric("410", sub, "Invalid CAP command")
	}
}

// sendCapList sends LS/LIST replies, split with "*" continuations for 302.
func (s *Server) sendCapList(c *Client, nick, sub string, words []string) {
	const maxLen = 400
	var cur strings.Builder
	cur.Grow(maxLen)
	for _, w := range words {
		if cur.Len() > 0 && cur.Len()+1+len(w) > maxLen && c.capVersion >= 302 {
			c.send(line(s.name, "CAP", nick, sub, "*", cur.String()))
			cur = strings.Builder{}
			cur.Grow(maxLen)
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(w)
	}
	c.send(lineTrail(s.name, "CAP", nick, sub, cur.String()))
}
