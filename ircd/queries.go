package ircd

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/irc.v4"
)

func itoa(n int) string { return strconv.Itoa(n) }

// findUser returns the registered client with nick, or tells c 401 and
// returns nil.
func (s *Server) findUser(c *Client, nick string) *Client {
	t := s.st.nicks[Fold(nick)]
	if t == nil || !t.registered {
		c.numeric(errNoSuchNick, nick, "No such nick/channel")
		return nil
	}
	return t
}

// sharesChannel reports whether a and b have a channel in common.
func sharesChannel(a, b *Client) bool {
	if len(a.channels) > len(b.channels) {
		a, b = b, a
	}
	for ch := range a.channels {
		if _, ok := b.channels[ch]; ok {
			return true
		}
	}
	return false
}

// channelShown reports whether c may see that t is a member of ch, in
// WHOIS and in the channel field of WHO: a secret channel only to its
// members, an invisible (+i) user's channels only to those who share them;
// IRC operators and t itself see all.
func channelShown(ch *Channel, t, c *Client) bool {
	if c.oper || t == c || isMember(ch, c) {
		return true
	}
	return ch.flags&chanSecret == 0 && !t.invisible
}

// visibleTo reports whether t shows up in c's WHO/NAMES-style queries.
func visibleTo(t, c *Client) bool {
	return t == c || !t.invisible || c.oper || sharesChannel(t, c)
}

func (s *Server) handleWho(c *Client, m *irc.Message) {
	mask := "*"
	if len(m.Params) > 0 && m.Params[0] != "" {
		mask = m.Params[0]
	}
	fields, token := "", ""
	opersOnly := false
	if len(m.Params) > 1 {
		opt := m.Params[1]
		if i := strings.IndexByte(opt, '%'); i >= 0 {
			fields = opt[i+1:]
			opt = opt[:i]
			if j := strings.IndexByte(fields, ','); j >= 0 {
				token = fields[j+1:]
				fields = fields[:j]
				if len(token) > 3 {
					token = token[:3]
				}
			}
		}
		opersOnly = strings.Contains(opt, "o")
	}
	sent := 0
	reply := func(t *Client, ch *Channel) bool {
		if sent >= s.lim.MaxWhoReplies {
			return false
		}
		if opersOnly && !t.oper {
			return true
		}
		sent++
		s.whoReply(c, t, ch, fields, token)
		return true
	}
	if mask[0] == '#' {
		ch := s.st.channels[Fold(mask)]
		if ch != nil && (ch.flags&chanSecret == 0 || isMember(ch, c) || c.oper) {
			in := isMember(ch, c) || c.oper
			for t := range ch.members {
				if !in && t.invisible {
					continue
				}
				if !reply(t, ch) {
					break
				}
			}
		}
	} else if t := s.st.nicks[Fold(mask)]; t != nil && t.registered && !strings.ContainsAny(mask, "*?") {
		reply(t, nil)
	} else {
		fm := Fold(mask)
		for t := range s.st.all {
			if !t.registered || !visibleTo(t, c) {
				continue
			}
			if fm != "*" && !matchMask(fm, Fold(t.nick)) && !matchMask(fm, Fold(t.host)) && !matchMask(fm, Fold(t.realname)) && !(t.account != "" && matchMask(fm, Fold(t.account))) {
				continue
			}
			if !reply(t, nil) {
				break
			}
		}
	}
	c.numeric(rplEndOfWho, mask, "End of WHO list")
}

// whoFlags returns H/G, * for opers and channel prefixes.
func whoFlags(c, t *Client, ch *Channel) string {
	f := "H"
	if t.away != "" {
		f = "G"
	}
	if t.oper {
		f += "*"
	}
	if ch != nil {
		f += ch.members[t].prefixes(c.caps.has(capMultiPrefix))
	}
	return f
}

func (s *Server) whoReply(c, t *Client, ch *Channel, fields, token string) {
	chName := "*"
	if ch == nil {
		for tc := range t.channels {
			if channelShown(tc, t, c) {
				chName = tc.name
				ch = tc
				break
			}
		}
	} else {
		chName = ch.name
	}
	if fields == "" {
		c.numeric(rplWhoReply, chName, t.user, t.host, s.name, t.nick, whoFlags(c, t, ch), "0 "+t.realname)
		return
	}
	// WHOX: fields in the fixed order tcuihsnfdlaor
	var p []string
	for _, f := range "tcuihsnfdlaor" {
		if !strings.ContainsRune(fields, f) {
			continue
		}
		switch f {
		case 't':
			tok := token
			if tok == "" {
				tok = "0"
			}
			p = append(p, tok)
		case 'c':
			p = append(p, chName)
		case 'u':
			p = append(p, t.user)
		case 'i':
			p = append(p, "255.255.255.255")
		case 'h':
			p = append(p, t.host)
		case 's':
			p = append(p, s.name)
		case 'n':
			p = append(p, t.nick)
		case 'f':
			p = append(p, whoFlags(c, t, ch))
		case 'd':
			p = append(p, "0")
		case 'l':
			p = append(p, strconv.Itoa(int(s.clock.Now().Sub(t.lastActive).Seconds())))
		case 'a':
			a := t.account
			if a == "" {
				a = "0"
			}
			p = append(p, a)
		case 'o':
			p = append(p, "n/a")
		case 'r':
			p = append(p, t.realname)
		}
	}
	if len(p) == 0 {
		return
	}
	c.numeric(rplWhoSpcRpl, p...)
}

func (s *Server) handleWhois(c *Client, m *irc.Message) {
	if len(m.Params) == 0 {
		c.numeric(errNoNicknameGiven, "No nickname given")
		return
	}
	arg := m.Params[len(m.Params)-1]
	if arg == "" {
		c.numeric(errNoNicknameGiven, "No nickname given")
		return
	}
	for _, nick := range splitList(arg)[:1] {
		t := s.st.nicks[Fold(nick)]
		if t == nil || !t.registered {
			c.numeric(errNoSuchNick, nick, "No such nick/channel")
			c.numeric(rplEndOfWhois, nick, "End of /WHOIS list")
			continue
		}
		c.numeric(rplWhoisUser, t.nick, t.user, t.host, "*", t.realname)
		var chans []string
		for ch := range t.channels {
			if !channelShown(ch, t, c) {
				continue
			}
			chans = append(chans, ch.members[t].prefixes(c.caps.has(capMultiPrefix))+ch.name)
		}
		for len(chans) > 0 {
			n := min(len(chans), 20)
			c.numeric(rplWhoisChannels, t.nick, strings.Join(chans[:n], " "))
			chans = chans[n:]
		}
		c.numeric(rplWhoisServer, t.nick, s.name, s.cfg.Network)
		if t.away != "" {
			c.numeric(rplAway, t.nick, t.away)
		}
		if t.oper {
			c.numeric(rplWhoisOperator, t.nick, "is an IRC operator")
		}
		if t.account != "" {
			c.numeric(rplWhoisAccount, t.nick, t.account, "is logged in as")
		}
		if t.class != "" {
			c.numeric("320", t.nick, "is a "+classLabel(t.class))
		}
		if t.account != "" && !t.loginKind.fullPower() && (t == c || c.oper) {
			// a credential session, to its user and IRC operators
			c.numeric("320", t.nick, "is logged in with "+t.loginKind.describe())
		}
		now := s.clock.Now()
		c.numeric(rplWhoisIdle, t.nick, strconv.Itoa(int(now.Sub(t.lastActive).Seconds())), strconv.FormatInt(t.signon.Unix(), 10), "seconds idle, signon time")
		c.numeric(rplEndOfWhois, t.nick, "End of /WHOIS list")
	}
}

func classLabel(class string) string {
	switch class {
	case "operator":
		return "THORChain node operator"
	case "staff":
		return "ThorChat staff member"
	}
	return class
}

// handleList answers LIST with the conditions ELIST=MNU advertises:
// masks (M; a channel matches one of them), !masks (N; it matches none)
// and user counts (U; >n, <n), comma-separated in the first parameter or
// in a second one.
func (s *Server) handleList(c *Client, m *irc.Message) {
	var masks, notMasks []string
	minU, maxU := -1, -1
	for _, p := range m.Params[:min(len(m.Params), 2)] {
		for _, f := range splitList(p) {
			switch {
			case strings.HasPrefix(f, ">"):
				if n, err := strconv.Atoi(f[1:]); err == nil {
					minU = n
				}
			case strings.HasPrefix(f, "<"):
				if n, err := strconv.Atoi(f[1:]); err == nil {
					maxU = n
				}
			case strings.HasPrefix(f, "!"):
				if f != "!" {
					notMasks = append(notMasks, Fold(f[1:]))
				}
			case f != "":
				masks = append(masks, Fold(f))
			}
		}
	}
	c.numeric(rplListStart, "Channel", "Users  Name")
	sent := 0
	for _, ch := range s.st.channels {
		if ch.flags&chanSecret != 0 && !isMember(ch, c) && !c.oper {
			continue
		}
		n := len(ch.members)
		if minU >= 0 && n <= minU || maxU >= 0 && n >= maxU {
			continue
		}
		if len(masks) > 0 {
			ok := false
			for _, mk := range masks {
				if matchMask(mk, ch.folded) {
					ok = true
					break
				}
			}
			if !ok {
				continue
			}
		}
		if slices.ContainsFunc(notMasks, func(mk string) bool { return matchMask(mk, ch.folded) }) {
			continue
		}
		if sent++; sent > s.lim.MaxWhoReplies {
			break
		}
		ms, _ := ch.modeString(false)
		c.numeric(rplList, ch.name, strconv.Itoa(n), "["+ms+"] "+ch.topic)
	}
	c.numeric(rplListEnd, "End of /LIST")
}

func (s *Server) handleAway(c *Client, m *irc.Message) {
	text := ""
	if len(m.Params) > 0 {
		text = truncate(m.Params[0], s.lim.AwayLen)
	}
	if text == c.away {
		if text == "" {
			c.numeric(rplUnAway, "You are no longer marked as being away")
		} else {
			c.numeric(rplNowAway, "You have been marked as being away")
		}
		return
	}
	c.away = text
	if text == "" {
		c.numeric(rplUnAway, "You are no longer marked as being away")
	} else {
		c.numeric(rplNowAway, "You have been marked as being away")
	}
	s.toCommonPeers(c, s.awayMsg(c), capAwayNotify, false)
}

// awayMsg is c's away state as away-notify sends it: "AWAY :text", or
// "AWAY" when c is back.
func (s *Server) awayMsg(c *Client) *outMsg {
	var msg *outMsg
	if c.away == "" {
		msg = newOutMsg(s.clock.Now(), line(c.prefix(), "AWAY"))
	} else {
		msg = newOutMsg(s.clock.Now(), buildLine(c.prefix(), "AWAY", []string{c.away}, true))
	}
	msg.account = c.account
	return msg
}

func (s *Server) handleSetname(c *Client, m *irc.Message) {
	name := m.Params[0]
	if name == "" || len(name) > s.lim.RealnameLen {
		c.send(line(s.name, "FAIL", "SETNAME", "INVALID_REALNAME", "Realname is not valid"))
		return
	}
	c.realname = name
	msg := newOutMsg(s.clock.Now(), buildLine(c.prefix(), "SETNAME", []string{name}, true))
	msg.account = c.account
	s.toCommonPeers(c, msg, capSetname, true)
}

func (s *Server) handleVersion(c *Client, m *irc.Message) {
	c.numeric(rplVersion, s.cfg.Version+".", s.name, "ThorChat: an onion-only IRC server with secp256k1 identities")
	s.sendISupport(c)
}

func (s *Server) handleTime(c *Client, m *irc.Message) {
	now := s.clock.Now()
	c.numeric(rplTime, s.name, strconv.FormatInt(now.Unix(), 10), "0", now.UTC().Format(time.RFC1123))
}

func (s *Server) handleInfo(c *Client, m *irc.Message) {
	for _, l := range []string{
		"ThorChat " + s.cfg.Version,
		"A private IRC server for people whose identity is a key,",
		"reachable only as a Tor onion service.",
		"Log in with the THORCHAT-SECP256K1 SASL mechanism.",
		"Up since " + s.created.UTC().Format(time.RFC1123),
	} {
		c.numeric(rplInfo, l)
	}
	c.numeric(rplEndOfInfo, "End of /INFO list")
}

func (s *Server) handleMotd(c *Client, m *irc.Message)   { s.sendMotd(c) }
func (s *Server) handleLusers(c *Client, m *irc.Message) { s.sendLusers(c) }

func (s *Server) handleIson(c *Client, m *irc.Message) {
	var on []string
	for _, p := range m.Params {
		for _, n := range strings.Fields(p) {
			if len(on) >= 50 {
				break
			}
			if t := s.st.nicks[Fold(n)]; t != nil && t.registered {
				on = append(on, t.nick)
			}
		}
	}
	c.numeric(rplIsOn, strings.Join(on, " "))
}

func (s *Server) handleUserhost(c *Client, m *irc.Message) {
	var out []string
	for _, n := range m.Params[:min(len(m.Params), 5)] {
		t := s.st.nicks[Fold(n)]
		if t == nil || !t.registered {
			continue
		}
		e := t.nick
		if t.oper {
			e += "*"
		}
		if t.away != "" {
			e += "=-"
		} else {
			e += "=+"
		}
		out = append(out, e+t.user+"@"+t.host)
	}
	c.numeric(rplUserHost, strings.Join(out, " "))
}
