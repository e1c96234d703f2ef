package ircd

import (
	"strconv"
	"strings"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/channame"
	"github.com/thorchat/thorchat/record"
)

// Member privileges in a channel.
type memberMode uint8

const (
	memberVoice memberMode = 1 << iota
	memberOp
)

// prefixes returns "@", "+", "@+" (multi-prefix) or "".
func (m memberMode) prefixes(multi bool) string {
	p := ""
	if m&memberOp != 0 {
		p = "@"
		if !multi {
			return p
		}
	}
	if m&memberVoice != 0 {
		p += "+"
	}
	return p
}

// Channel modes without parameters.
type chanFlags uint16

const (
	chanNoExternal chanFlags = 1 << iota // n
	chanTopicOps                         // t
	chanModerated                        // m
	chanInviteOnly                       // i
	chanSecret                           // s
	chanRegOnly                          // R: only logged-in users may join
	chanRegSpeak                         // M: only logged-in users may speak
	chanNoCTCP                           // C: no CTCP but ACTION
)

var chanFlagLetters = []struct {
	f chanFlags
	l byte
}{{chanNoCTCP, 'C'}, {chanRegSpeak, 'M'}, {chanRegOnly, 'R'}, {chanInviteOnly, 'i'}, {chanModerated, 'm'}, {chanNoExternal, 'n'}, {chanSecret, 's'}, {chanTopicOps, 't'}}

const chanModesToken = "beI,k,jl,CMRimnst"

type listEntry struct {
	mask  string // folded, normalized
	setBy string
	setAt time.Time
}

// Channel is a channel's state, owned by the processing goroutine.
type Channel struct {
	name, folded string
	created      time.Time
	topic        string
	topicBy      string
	topicAt      time.Time
	flags        chanFlags
	key          string
	limit        int
	bans         []listEntry
	excepts      []listEntry
	invex        []listEntry
	members      map[*Client]memberMode
	invited      map[*Client]struct{} // pending invites (the client's invitedTo mirrors them)
	permanent    bool
	registered   bool
	founder      string
	registeredAt time.Time
	access       map[string]string // account → level, registered channels
	declared     *ChannelSpec      // from the configuration
	// +j count:seconds join throttle
	joinLimit   int
	joinWindow  time.Duration
	joinCount   int
	joinStarted time.Time
	speakOps    bool   // speak = "operators": +m with voice for operators and staff
	history     string // history policy set for it ("": the default for its modes; history.go)
	lastJoin    uint64 // s.stampSeq at the latest join (deliver.go, joinedAfter)
	// epoch: when not zero, its history starts here (a channel of this
	// name was forgotten before; chathistory.go, historyAccess)
	epoch time.Time
}

func (s *Server) newChannel(name string) *Channel {
	ch := &Channel{
		name:    name,
		folded:  Fold(name),
		created: s.clock.Now(),
		members: map[*Client]memberMode{},
	}
	s.st.channels[ch.folded] = ch
	if _, ok := s.st.forgotten[ch.folded]; ok {
		delete(s.st.forgotten, ch.folded)
		ch.epoch = ch.created
	}
	return ch
}

func (s *Server) createPermanentChannel(spec ChannelSpec) {
	ch := s.newChannel(spec.Name)
	ch.permanent = true
	sp := spec
	ch.declared = &sp
	s.applySpec(ch, spec)
}

// applySpec applies a declared channel's configuration (config wins over
// what was stored).
func (s *Server) applySpec(ch *Channel, spec ChannelSpec) {
	if t := truncate(spec.Topic, s.lim.TopicLen); t != "" && t != ch.topic {
		ch.topic = t
		ch.topicBy = s.name
		ch.topicAt = s.clock.Now()
	}
	for _, l := range strings.TrimPrefix(spec.Modes, "+") {
		if f, ok := flagFor(byte(l)); ok {
			ch.flags |= f
		}
	}
	if spec.SpeakOperators {
		ch.speakOps = true
		ch.flags |= chanModerated
	}
	if spec.History != "" {
		ch.history = spec.History
	}
}

func (ch *Channel) modeString(showKey bool) (string, []string) {
	m := "+"
	var params []string
	for _, f := range chanFlagLetters {
		if ch.flags&f.f != 0 {
			m += string(f.l)
		}
	}
	if ch.key != "" {
		m += "k"
		if showKey {
			params = append(params, ch.key)
		} else {
			params = append(params, "*")
		}
	}
	if ch.joinLimit > 0 {
		m += "j"
		params = append(params, strconv.Itoa(ch.joinLimit)+":"+strconv.Itoa(int(ch.joinWindow/time.Second)))
	}
	if ch.limit > 0 {
		m += "l"
		params = append(params, strconv.Itoa(ch.limit))
	}
	return m, params
}

// joinAllowed applies +j count:seconds and counts the join.
func (ch *Channel) joinAllowed(now time.Time) bool {
	if ch.joinLimit <= 0 {
		return true
	}
	if now.Sub(ch.joinStarted) >= ch.joinWindow {
		ch.joinStarted, ch.joinCount = now, 0
	}
	if ch.joinCount >= ch.joinLimit {
		return false
	}
	ch.joinCount++
	return true
}

func (ch *Channel) removeMember(s *Server, c *Client) {
	delete(ch.members, c)
	delete(c.channels, ch)
	delete(c.joinedAt, ch)
	if len(ch.members) == 0 && !ch.permanent {
		s.forgetChannel(ch)
	}
}

// forgetChannel removes a channel from the server with the invites it held.
func (s *Server) forgetChannel(ch *Channel) {
	if s.st.channels[ch.folded] == ch {
		delete(s.st.channels, ch.folded)
		// a world-readable channel's history simply goes on; one whose
		// history was not for everyone starts anew when the name is
		// taken again (its earlier members keep reading theirs)
		if s.historyOn() && !ch.registered && ch.declared == nil && ch.historyPolicy() != record.HistoryWorld {
			if len(s.st.forgotten) >= s.lim.MaxChannels {
				for k := range s.st.forgotten { // make room: an arbitrary one
					delete(s.st.forgotten, k)
					break
				}
			}
			s.st.forgotten[ch.folded] = struct{}{}
		}
	}
	for t := range ch.invited {
		delete(t.invitedTo, ch)
	}
	ch.invited = nil
}

// addInvite records an invite of t to ch. Invites are kept by client, so
// they follow nick changes and end with the connection; both sides are
// bounded (the oldest arbitrary entry makes room).
func (s *Server) addInvite(ch *Channel, t *Client) {
	if ch.invited == nil {
		ch.invited = map[*Client]struct{}{}
	}
	if t.invitedTo == nil {
		t.invitedTo = map[*Channel]struct{}{}
	}
	if _, ok := ch.invited[t]; ok {
		return
	}
	if len(ch.invited) >= s.lim.MaxListEntries {
		for old := range ch.invited {
			removeInvite(ch, old)
			break
		}
	}
	if len(t.invitedTo) >= s.lim.MaxChannelsPerClient {
		for old := range t.invitedTo {
			removeInvite(old, t)
			break
		}
	}
	ch.invited[t] = struct{}{}
	t.invitedTo[ch] = struct{}{}
}

func removeInvite(ch *Channel, t *Client) {
	delete(ch.invited, t)
	delete(t.invitedTo, ch)
}

// broadcast sends msg to every member (except `except`), honouring caps:
// when need is non-zero only members with that cap get it.
func (ch *Channel) broadcast(msg *outMsg, except *Client, need capSet) {
	for m := range ch.members {
		if m == except || (need != 0 && !m.caps.has(need)) {
			continue
		}
		m.sendMsg(msg)
	}
}

// toCommonPeers sends msg once to every client sharing a channel with c.
// With need set, only peers having that cap; includeSelf adds c itself.
func (s *Server) toCommonPeers(c *Client, msg *outMsg, need capSet, includeSelf bool) {
	if len(c.channels) == 1 {
		for ch := range c.channels {
			ch.broadcast(msg, c, need)
		}
	} else if len(c.channels) > 1 {
		seen := make(map[*Client]struct{}, 64)
		for ch := range c.channels {
			for m := range ch.members {
				if m == c || (need != 0 && !m.caps.has(need)) {
					continue
				}
				if _, dup := seen[m]; dup {
					continue
				}
				seen[m] = struct{}{}
				m.sendMsg(msg)
			}
		}
	}
	if includeSelf && (need == 0 || c.caps.has(need)) {
		c.sendMsg(msg)
	}
	if need&extMonitorCaps != 0 {
		s.toMonitors(c, msg, need)
	}
}

// isBanned checks +b against +e for c.
func (ch *Channel) isBanned(c *Client) bool {
	return matchList(ch.bans, c) && !matchList(ch.excepts, c)
}

func matchList(l []listEntry, c *Client) bool {
	if len(l) == 0 {
		return false
	}
	full := Fold(c.prefix())
	for _, e := range l {
		if strings.HasPrefix(e.mask, "$a:") {
			if c.account != "" && matchMask(e.mask[3:], Fold(c.account)) {
				return true
			}
			continue
		}
		if matchMask(e.mask, full) {
			return true
		}
	}
	return false
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func (s *Server) handleJoin(c *Client, m *irc.Message) {
	if m.Params[0] == "0" {
		for ch := range c.channels {
			s.part(c, ch, "Left all channels")
		}
		return
	}
	names := splitList(m.Params[0])
	var keys []string
	if len(m.Params) > 1 {
		keys = splitList(m.Params[1])
	}
	if len(names) > s.lim.MaxChannelsPerClient {
		names = names[:s.lim.MaxChannelsPerClient]
	}
	for i, name := range names {
		key := ""
		if i < len(keys) {
			key = keys[i]
		}
		s.join(c, name, key)
		if c.gone {
			return
		}
	}
}

func (s *Server) join(c *Client, name, key string) {
	if !channelShape(name, s.lim.ChannelLen) {
		if name != "" && name[0] == '#' {
			c.numeric(errBadChanMask, name, "Bad channel mask")
		} else {
			c.numeric(errNoSuchChannel, name, "No such channel")
		}
		return
	}
	if channame.Check(name) != nil {
		c.numeric(errBadChanName, name, "Illegal channel name: only visible characters (no control, invisible, formatting or bidi characters)")
		return
	}
	folded := Fold(name)
	ch := s.st.channels[folded]
	if ch != nil {
		if _, in := ch.members[c]; in {
			return
		}
	}
	if len(c.channels) >= s.lim.MaxChannelsPerClient {
		c.numeric(errTooManyChannels, name, "You have joined too many channels")
		return
	}
	if ch == nil {
		if len(s.st.channels) >= s.lim.MaxChannels && s.transientChannels() >= s.lim.MaxChannels {
			c.numeric(errTooManyChannels, name, "The server has too many channels")
			return
		}
	} else {
		_, invited := ch.invited[c]
		// opers, and accounts with op access on a registered channel, pass
		// +k, +l, +i and +b; so does an invite, which only channel
		// operators can make (handleInvite)
		override := c.oper || ch.accessMode(c.account)&memberOp != 0
		switch {
		case override:
		case ch.key != "" && key != ch.key && !invited:
			c.numeric(errBadChannelKey, ch.name, "Cannot join channel (+k)")
			return
		case ch.limit > 0 && len(ch.members) >= ch.limit && !invited:
			c.numeric(errChannelIsFull, ch.name, "Cannot join channel (+l)")
			return
		case ch.flags&chanInviteOnly != 0 && !invited && !matchList(ch.invex, c):
			c.numeric(errInviteOnlyChan, ch.name, "Cannot join channel (+i)")
			return
		case ch.isBanned(c) && !invited:
			c.numeric(errBannedFromChan, ch.name, "Cannot join channel (+b)")
			return
		case ch.flags&chanRegOnly != 0 && c.account == "":
			c.numeric(errNeedReggedNick, ch.name, "Cannot join channel (+R): you need to be logged in (SASL)")
			return
		case !ch.joinAllowed(s.clock.Now()) && !invited:
			c.numeric(errThrottle, ch.name, "Cannot join channel (+j): too many joins, try again later")
			return
		case len(ch.members) >= s.lim.MaxMembersPerChannel:
			c.numeric(errChannelIsFull, ch.name, "Cannot join channel (channel is at the server's member limit)")
			return
		}
		removeInvite(ch, c)
	}
	var mode memberMode
	if ch == nil {
		ch = s.newChannel(name)
		ch.flags = chanNoExternal | chanTopicOps
		mode = memberOp
	} else if len(ch.members) == 0 && !ch.permanent {
		mode = memberOp
	}
	if ch.speakOps && (c.class == "operator" || c.class == "staff") {
		mode |= memberVoice
	}
	ch.members[c] = mode
	if c.channels == nil {
		c.channels = make(map[*Channel]struct{}, 4)
	}
	c.channels[ch] = struct{}{}
	c.lastActive = s.clock.Now()
	now := s.clock.Now()
	plain := newOutMsg(now, line(c.prefix(), "JOIN", ch.name))
	plain.account = c.account
	acct := c.account
	if acct == "" {
		acct = "*"
	}
	ext := newOutMsg(now, buildLine(c.prefix(), "JOIN", []string{ch.name, acct, c.realname}, true))
	ext.account = c.account
	for mbr := range ch.members {
		if mbr.caps.has(capExtendedJoin) {
			mbr.sendMsg(ext)
		} else {
			mbr.sendMsg(plain)
		}
	}
	if c.away != "" {
		// away-notify: members learn that the joiner is away
		ch.broadcast(s.awayMsg(c), c, capAwayNotify)
	}
	if mode != 0 {
		// speak = operators: voice shows who may talk, in standard terms
		if mode&memberVoice != 0 && mode&memberOp == 0 {
			vm := newOutMsg(now, line(s.name, "MODE", ch.name, "+v", c.nick))
			ch.broadcast(vm, nil, 0)
		}
	}
	if ch.topic != "" {
		c.numeric(rplTopic, ch.name, ch.topic)
		c.numeric(rplTopicWhoTime, ch.name, ch.topicBy, strconv.FormatInt(ch.topicAt.Unix(), 10))
	}
	if c.joinedAt == nil {
		c.joinedAt = make(map[*Channel]joinMark, 4)
	}
	s.stampSeq++
	ch.lastJoin = s.stampSeq
	c.joinedAt[ch] = joinMark{at: now, seq: s.stampSeq}
	// the names (with the read marker before their end), then the access
	// modes and the replay; they may wait for the history lane
	// (history_join.go)
	s.joinHistory(c, ch, now, func() { s.applyAccess(ch, c) })
}

func (s *Server) handlePart(c *Client, m *irc.Message) {
	reason := ""
	if len(m.Params) > 1 {
		reason = truncate(m.Params[1], s.lim.KickLen)
	}
	for _, name := range splitList(m.Params[0]) {
		ch := s.st.channels[Fold(name)]
		if ch == nil {
			c.numeric(errNoSuchChannel, name, "No such channel")
			continue
		}
		if _, in := ch.members[c]; !in {
			c.numeric(errNotOnChannel, ch.name, "You're not on that channel")
			continue
		}
		s.part(c, ch, reason)
	}
}

func (s *Server) part(c *Client, ch *Channel, reason string) {
	params := []string{ch.name}
	if reason != "" {
		params = append(params, reason)
	}
	msg := newOutMsg(s.clock.Now(), line(c.prefix(), "PART", params...))
	ch.broadcast(msg, nil, 0)
	s.recordEvent(c, ch, record.KindPart, msg.at, nil, reason)
	ch.removeMember(s, c)
}

func (s *Server) handleTopic(c *Client, m *irc.Message) {
	ch := s.st.channels[Fold(m.Params[0])]
	if ch == nil {
		c.numeric(errNoSuchChannel, m.Params[0], "No such channel")
		return
	}
	mode, in := ch.members[c]
	if len(m.Params) < 2 {
		if !in && ch.flags&chanSecret != 0 {
			c.numeric(errNotOnChannel, ch.name, "You're not on that channel")
			return
		}
		if ch.topic == "" {
			c.numeric(rplNoTopic, ch.name, "No topic is set")
			return
		}
		c.numeric(rplTopic, ch.name, ch.topic)
		c.numeric(rplTopicWhoTime, ch.name, ch.topicBy, strconv.FormatInt(ch.topicAt.Unix(), 10))
		return
	}
	if !in && !c.oper {
		c.numeric(errNotOnChannel, ch.name, "You're not on that channel")
		return
	}
	if ch.flags&chanTopicOps != 0 && mode&memberOp == 0 && !c.oper {
		c.numeric(errChanOPrivsNeeded, ch.name, "You're not channel operator")
		return
	}
	ch.topic = truncate(m.Params[1], s.lim.TopicLen)
	ch.topicBy = c.prefix()
	ch.topicAt = s.clock.Now()
	msg := newOutMsg(ch.topicAt, buildLine(c.prefix(), "TOPIC", []string{ch.name, ch.topic}, true))
	msg.account = c.account
	s.recordEvent(c, ch, record.KindTopic, ch.topicAt, nil, ch.topic)
	s.commitThenBroadcast(c, ch, true, msg)
}

func (s *Server) handleNames(c *Client, m *irc.Message) {
	if len(m.Params) == 0 || m.Params[0] == "" {
		c.numeric(rplEndOfNames, "*", "End of /NAMES list")
		return
	}
	for _, name := range splitList(m.Params[0])[:1] {
		ch := s.st.channels[Fold(name)]
		if ch == nil || (ch.flags&chanSecret != 0 && !isMember(ch, c)) {
			c.numeric(rplEndOfNames, name, "End of /NAMES list")
			continue
		}
		s.sendNames(c, ch)
	}
}

func isMember(ch *Channel, c *Client) bool {
	_, ok := ch.members[c]
	return ok
}

func (s *Server) sendNames(c *Client, ch *Channel) {
	sym := "="
	if ch.flags&chanSecret != 0 {
		sym = "@"
	}
	in := isMember(ch, c)
	multi := c.caps.has(capMultiPrefix)
	uhnames := c.caps.has(capUserhostInNames)
	head := len(s.name) + len(c.nick) + len(ch.name) + 16
	var b strings.Builder
	for mbr, mode := range ch.members {
		if !in && mbr.invisible {
			continue
		}
		word := mode.prefixes(multi)
		if uhnames {
			word += mbr.prefix()
		} else {
			word += mbr.nick
		}
		if b.Len() > 0 && head+b.Len()+1+len(word) > 500 {
			c.numeric(rplNamReply, sym, ch.name, b.String())
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(word)
	}
	if b.Len() > 0 {
		c.numeric(rplNamReply, sym, ch.name, b.String())
	}
	c.numeric(rplEndOfNames, ch.name, "End of /NAMES list")
}

// handleKick: "KICK <channel>{,<channel>} <user>{,<user>} [<comment>]",
// with one channel for every user or one channel per user (RFC 2812
// 3.2.8). Each kick is its own KICK line, seen by every member.
func (s *Server) handleKick(c *Client, m *irc.Message) {
	chans := splitList(m.Params[0])
	targets := splitList(m.Params[1])
	if len(chans) > 1 && len(chans) != len(targets) {
		c.numeric(errNeedMoreParams, "KICK", "Not enough parameters: give one channel, or one channel per user")
		return
	}
	reason := c.nick
	if len(m.Params) > 2 && m.Params[2] != "" {
		reason = truncate(m.Params[2], s.lim.KickLen)
	}
	if len(targets) > s.lim.MaxTargets {
		c.numeric(errTooManyTargets, m.Params[1], "Too many targets")
		targets = targets[:s.lim.MaxTargets]
	}
	var refused map[string]bool // channels already answered with an error
	for i, nick := range targets {
		name := chans[0]
		if len(chans) > 1 {
			name = chans[i]
		}
		if refused[Fold(name)] {
			continue
		}
		ch := s.kickChannel(c, name)
		if ch == nil {
			if refused == nil {
				refused = map[string]bool{}
			}
			refused[Fold(name)] = true
			continue
		}
		t := s.findUser(c, nick)
		if t == nil {
			continue
		}
		if !isMember(ch, t) {
			c.numeric(errUserNotInChannel, t.nick, ch.name, "They aren't on that channel")
			continue
		}
		msg := newOutMsg(s.clock.Now(), buildLine(c.prefix(), "KICK", []string{ch.name, t.nick, reason}, true))
		ch.broadcast(msg, nil, 0)
		s.recordEvent(c, ch, record.KindKick, msg.at, []string{t.nick}, reason)
		ch.removeMember(s, t)
	}
}

// kickChannel returns the channel named name if c may kick there, or
// tells c why not and returns nil.
func (s *Server) kickChannel(c *Client, name string) *Channel {
	ch := s.st.channels[Fold(name)]
	if ch == nil {
		c.numeric(errNoSuchChannel, name, "No such channel")
		return nil
	}
	mode, in := ch.members[c]
	if !in && !c.oper {
		c.numeric(errNotOnChannel, ch.name, "You're not on that channel")
		return nil
	}
	if mode&memberOp == 0 && !c.oper {
		c.numeric(errChanOPrivsNeeded, ch.name, "You're not channel operator")
		return nil
	}
	return ch
}

func (s *Server) handleInvite(c *Client, m *irc.Message) {
	t := s.findUser(c, m.Params[0])
	if t == nil {
		return
	}
	ch := s.st.channels[Fold(m.Params[1])]
	if ch == nil {
		c.numeric(errNoSuchChannel, m.Params[1], "No such channel")
		return
	}
	mode, in := ch.members[c]
	if !in {
		c.numeric(errNotOnChannel, ch.name, "You're not on that channel")
		return
	}
	if isMember(ch, t) {
		c.numeric(errUserOnChannel, t.nick, ch.name, "is already on channel")
		return
	}
	if ch.flags&chanInviteOnly != 0 && mode&memberOp == 0 && !c.oper {
		c.numeric(errChanOPrivsNeeded, ch.name, "You're not channel operator")
		return
	}
	// Only a channel operator's (or IRC operator's) invite is recorded,
	// and so passes +i, +k, +l, +b and +j at the JOIN; anyone else's
	// (allowed while the channel is -i) is a notice that passes nothing.
	if mode&memberOp != 0 || c.oper {
		s.addInvite(ch, t)
	}
	c.numeric(rplInviting, t.nick, ch.name)
	if t.away != "" {
		c.numeric(rplAway, t.nick, t.away)
	}
	msg := newOutMsg(s.clock.Now(), line(c.prefix(), "INVITE", t.nick, ch.name))
	t.sendMsg(msg)
	// invite-notify: channel operators with the cap see it too
	for mbr, mm := range ch.members {
		if mbr != c && mm&memberOp != 0 && mbr.caps.has(capInviteNotify) {
			mbr.sendMsg(msg)
		}
	}
}
