package ircd

import (
	"strconv"
	"strings"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/record"
)

func (s *Server) handleMode(c *Client, m *irc.Message) {
	target := m.Params[0]
	if target != "" && target[0] == '#' {
		s.channelMode(c, m)
		return
	}
	s.userMode(c, m)
}

func (s *Server) userMode(c *Client, m *irc.Message) {
	t := s.findUser(c, m.Params[0])
	if t == nil {
		return
	}
	if t != c {
		c.numeric(errUsersDontMatch, "Can't change mode for other users")
		return
	}
	if len(m.Params) < 2 {
		c.numeric(rplUModeIs, c.modeString())
		return
	}
	add := true
	applied := ""
	dir := byte(0)
	unknown := false
	kept := c.keptModes()
	for i := 0; i < len(m.Params[1]); i++ {
		l := m.Params[1][i]
		switch l {
		case '+':
			add = true
		case '-':
			add = false
		case 'i', 'R', 'g', 'T', 'w':
			if s.setUserMode(c, l, add) {
				applied += modeDir(&dir, add) + string(l)
			}
		case 'o':
			if !add && c.oper {
				c.oper = false
				s.st.opers--
				applied += modeDir(&dir, add) + "o"
			}
		default:
			unknown = true
		}
	}
	if unknown {
		c.numeric(errUModeUnknownFlag, "Unknown MODE flag")
	}
	if applied != "" {
		c.send(line(c.prefix(), "MODE", c.nick, applied))
	}
	if now := c.keptModes(); now != kept {
		s.saveKeptModes(c, now)
	}
}

// setUserMode sets or clears one of the user modes a client may change
// itself and keep (keptModeLetters), and reports whether it changed.
func (s *Server) setUserMode(c *Client, l byte, add bool) bool {
	if l == 'i' {
		if c.invisible == add {
			return false
		}
		c.invisible = add
		if c.registered { // registration counts the clients that have it by then
			if add {
				s.st.invisible++
			} else {
				s.st.invisible--
			}
		}
		return true
	}
	p := c.umodeFlag(l)
	if *p == add {
		return false
	}
	*p = add
	return true
}

// modeDir returns "+" or "-" when the direction changes.
func modeDir(cur *byte, add bool) string {
	want := byte('-')
	if add {
		want = '+'
	}
	if *cur == want {
		return ""
	}
	*cur = want
	return string(want)
}

func (s *Server) channelMode(c *Client, m *irc.Message) {
	ch := s.st.channels[Fold(m.Params[0])]
	if ch == nil {
		c.numeric(errNoSuchChannel, m.Params[0], "No such channel")
		return
	}
	mode, in := ch.members[c]
	if len(m.Params) < 2 {
		ms, params := ch.modeString(in || c.oper)
		c.numeric(rplChannelModeIs, append([]string{ch.name, ms}, params...)...)
		c.numeric(rplCreationTime, ch.name, strconv.FormatInt(ch.created.Unix(), 10))
		return
	}
	isOp := mode&memberOp != 0 || c.oper
	args := m.Params[2:]
	nextArg := func() (string, bool) {
		if len(args) == 0 {
			return "", false
		}
		a := args[0]
		args = args[1:]
		return a, true
	}
	add := true
	var applied strings.Builder
	var appliedArgs []string
	dir := byte(0)
	paramModes := 0
	deniedOnce := false
	deny := func() {
		if !deniedOnce {
			deniedOnce = true
			if !in && !c.oper {
				c.numeric(errNotOnChannel, ch.name, "You're not on that channel")
			} else {
				c.numeric(errChanOPrivsNeeded, ch.name, "You're not channel operator")
			}
		}
	}
	emit := func(l byte, arg string, hasArg bool) {
		applied.WriteString(modeDir(&dir, add))
		applied.WriteByte(l)
		if hasArg {
			appliedArgs = append(appliedArgs, arg)
		}
	}
	// param takes a mode's parameter: 461 when a required one is missing,
	// silently dropped past MODES parameter modes, refused for non-ops.
	param := func(required bool) (string, bool) {
		arg, ok := nextArg()
		if !ok && required {
			c.numeric(errNeedMoreParams, "MODE", "Not enough parameters")
			return "", false
		}
		if paramModes++; paramModes > s.lim.ModesPerCommand {
			return "", false
		}
		if !isOp {
			deny()
			return "", false
		}
		return arg, true
	}
	for i := 0; i < len(m.Params[1]); i++ {
		l := m.Params[1][i]
		switch l {
		case '+':
			add = true
			continue
		case '-':
			add = false
			continue
		}
		switch l {
		case 'b', 'e', 'I':
			if len(args) == 0 {
				s.sendList(c, ch, l)
				continue
			}
			arg, ok := param(true)
			if !ok {
				continue
			}
			list := ch.listFor(l)
			mask := Fold(normalizeMask(arg))
			if len(mask) > 200 {
				c.numeric(errInvalidModeParam, ch.name, string(l), arg, "Mask is too long")
				continue
			}
			if add {
				if indexEntry(*list, mask) >= 0 {
					continue
				}
				if len(*list) >= s.lim.MaxListEntries {
					c.numeric(errBanListFull, ch.name, mask, "Channel list is full")
					continue
				}
				*list = append(*list, listEntry{mask: mask, setBy: c.prefix(), setAt: s.clock.Now()})
			} else {
				i := indexEntry(*list, mask)
				if i < 0 {
					continue
				}
				*list = append((*list)[:i], (*list)[i+1:]...)
			}
			emit(l, mask, true)
		case 'o', 'v':
			arg, ok := param(true)
			if !ok {
				continue
			}
			t := s.findUser(c, arg)
			if t == nil {
				continue
			}
			tm, tin := ch.members[t]
			if !tin {
				c.numeric(errUserNotInChannel, t.nick, ch.name, "They aren't on that channel")
				continue
			}
			bit := memberOp
			if l == 'v' {
				bit = memberVoice
			}
			if (tm&bit != 0) == add {
				continue
			}
			if add {
				ch.members[t] = tm | bit
			} else {
				ch.members[t] = tm &^ bit
			}
			emit(l, t.nick, true)
		case 'k':
			// -k takes (and ignores) a parameter when one is given
			arg, ok := param(add)
			if !ok {
				continue
			}
			if !add {
				if ch.key != "" {
					ch.key = ""
					emit('k', "*", true)
				}
				continue
			}
			if arg == "" || len(arg) > s.lim.KeyLen || strings.ContainsAny(arg, ", :") {
				c.numeric(errInvalidKey, ch.name, "Invalid channel key")
				continue
			}
			if ch.key != "" && ch.key != arg {
				c.numeric(errKeySet, ch.name, "Channel key already set")
				continue
			}
			if ch.key != arg {
				ch.key = arg
				emit('k', arg, true)
			}
		case 'j', 'l':
			if !add {
				if !isOp {
					deny()
				} else if l == 'j' && ch.joinLimit != 0 {
					ch.joinLimit = 0
					emit('j', "", false)
				} else if l == 'l' && ch.limit != 0 {
					ch.limit = 0
					emit('l', "", false)
				}
				continue
			}
			arg, ok := param(true)
			if !ok {
				continue
			}
			if l == 'j' {
				n, secs, ok := parseJoinThrottle(arg)
				if !ok {
					c.numeric(errInvalidModeParam, ch.name, "j", arg, "Invalid join throttle: use count:seconds, e.g. 5:10")
					continue
				}
				ch.joinLimit, ch.joinWindow, ch.joinCount = n, time.Duration(secs)*time.Second, 0
				emit('j', arg, true)
				continue
			}
			n, err := strconv.Atoi(arg)
			if err != nil || n <= 0 || n > 1<<20 {
				c.numeric(errInvalidModeParam, ch.name, "l", arg, "Invalid limit")
				continue
			}
			if ch.limit != n {
				ch.limit = n
				emit('l', strconv.Itoa(n), true)
			}
		default:
			f, ok := flagFor(l)
			if !ok {
				c.numeric(errUnknownMode, string(l), "is unknown mode char to me")
				continue
			}
			if !isOp {
				deny()
				continue
			}
			if (ch.flags&f != 0) == add {
				continue
			}
			if add {
				ch.flags |= f
			} else {
				ch.flags &^= f
			}
			emit(l, "", false)
		}
	}
	if applied.Len() == 0 {
		return
	}
	msg := newOutMsg(s.clock.Now(), line(c.prefix(), "MODE", append([]string{ch.name, applied.String()}, appliedArgs...)...))
	msg.account = c.account
	s.recordEvent(c, ch, record.KindMode, msg.at, append([]string{applied.String()}, appliedArgs...), "")
	s.commitThenBroadcast(c, ch, strings.Trim(applied.String(), "+-ov") != "", msg)
}

// commitThenBroadcast sends a channel change to the members, after making
// it durable first when the channel is registered and the change is kept.
func (s *Server) commitThenBroadcast(c *Client, ch *Channel, kept bool, msg *outMsg) {
	if !kept || !ch.registered || !s.has(FeatureChannels) {
		ch.broadcast(msg, nil, 0)
		return
	}
	s.persist(c, ch, func(err error) {
		if err != nil {
			s.serviceNotice(c, chanServ, "Warning: the change to "+ch.name+" could not be saved and will be lost on restart: "+userError(err))
		}
		ch.broadcast(msg, nil, 0)
	})
}

func parseJoinThrottle(s string) (n, secs int, ok bool) {
	a, b, found := strings.Cut(s, ":")
	if !found {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(a)
	secs, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || n < 1 || n > 1000 || secs < 1 || secs > 86400 {
		return 0, 0, false
	}
	return n, secs, true
}

func flagFor(l byte) (chanFlags, bool) {
	for _, f := range chanFlagLetters {
		if f.l == l {
			return f.f, true
		}
	}
	return 0, false
}

func (ch *Channel) listFor(l byte) *[]listEntry {
	switch l {
	case 'e':
		return &ch.excepts
	case 'I':
		return &ch.invex
	}
	return &ch.bans
}

func indexEntry(l []listEntry, mask string) int {
	for i, e := range l {
		if e.mask == mask {
			return i
		}
	}
	return -1
}

func (s *Server) sendList(c *Client, ch *Channel, l byte) {
	item, end, text := rplBanList, rplEndOfBanList, "End of channel ban list"
	switch l {
	case 'e':
		item, end, text = rplExceptList, rplEndOfExceptList, "End of channel exception list"
	case 'I':
		item, end, text = rplInviteList, rplEndOfInviteList, "End of channel invite list"
	}
	if ch.flags&chanSecret != 0 && !isMember(ch, c) && !c.oper {
		c.numeric(errNotOnChannel, ch.name, "You're not on that channel")
		return
	}
	for _, e := range *ch.listFor(l) {
		c.send(line(s.name, item, c.nick, ch.name, e.mask, e.setBy, strconv.FormatInt(e.setAt.Unix(), 10)))
	}
	c.numeric(end, ch.name, text)
}
