package ircd

import (
	"strings"

	"gopkg.in/irc.v4"
)

// IRCv3 MONITOR: a client keeps a list of nicks (at most
// Limits.MaxMonitor, advertised as MONITOR= in 005) and hears when each
// comes online (730) or goes offline (731): at registration, on QUIT or
// disconnection, and when a user changes nick (offline under the old nick,
// online under the new one). With extended-monitor, a monitoring client
// that shares no channel with the monitored user also gets its AWAY,
// ACCOUNT, CHGHOST and SETNAME notifications, each where it negotiated the
// matching cap (toMonitors, called by toCommonPeers).
//
// Memory: each client holds its list (folded nick → nick as given) and
// the server keeps the reverse index (folded nick → watchers), so both are
// bounded by clients × MaxMonitor. A client's entries leave the index when
// it quits.

const (
	rplMonOnline    = "730"
	rplMonOffline   = "731"
	rplMonList      = "732"
	rplEndOfMonList = "733"
	errMonListFull  = "734"
)

// monitorIndex maps a folded nick to the clients monitoring it.
type monitorIndex map[string]map[*Client]struct{}

func (s *Server) handleMonitor(c *Client, m *irc.Message) {
	op := m.Params[0]
	switch op {
	case "+", "-":
		if len(m.Params) < 2 || m.Params[1] == "" {
			c.numeric(errNeedMoreParams, "MONITOR", "Not enough parameters")
			return
		}
		if op == "+" {
			s.monitorAdd(c, m.Params[1])
		} else {
			s.monitorRemove(c, m.Params[1])
		}
	case "C", "c":
		s.monitorClear(c)
	case "L", "l":
		list := make([]string, 0, len(c.monitor))
		for _, nick := range c.monitor {
			list = append(list, nick)
		}
		s.sendListNumeric(c, rplMonList, list)
		c.numeric(rplEndOfMonList, "End of MONITOR list")
	case "S", "s":
		var on, off []string
		for f, nick := range c.monitor {
			if t := s.online(f); t != nil {
				on = append(on, t.prefix())
			} else {
				off = append(off, nick)
			}
		}
		s.sendListNumeric(c, rplMonOnline, on)
		s.sendListNumeric(c, rplMonOffline, off)
	default:
		c.send(lineTrail(s.name, "FAIL", "MONITOR", "INVALID_PARAMS", "MONITOR takes +, -, C, L or S"))
	}
}

// online returns the registered client holding the folded nick, or nil.
func (s *Server) online(folded string) *Client {
	if t := s.st.nicks[folded]; t != nil && t.registered && !t.gone {
		return t
	}
	return nil
}

// monitorAdd adds the nicks of a "MONITOR +" list and tells their status.
// Invalid nicks are skipped; once the list is full, the nicks not added
// are named in 734.
func (s *Server) monitorAdd(c *Client, arg string) {
	targets := splitList(arg)
	var on, off []string
	for i, nick := range targets {
		if !validNick(nick, s.lim.NickLen) {
			continue
		}
		f := Fold(nick)
		if _, have := c.monitor[f]; !have {
			if len(c.monitor) >= s.lim.MaxMonitor {
				c.numeric(errMonListFull, itoa(s.lim.MaxMonitor), strings.Join(targets[i:], ","), "Monitor list is full.")
				break
			}
			if c.monitor == nil {
				c.monitor = map[string]string{}
			}
			c.monitor[f] = nick
			if s.monitors == nil {
				s.monitors = monitorIndex{}
			}
			w := s.monitors[f]
			if w == nil {
				w = map[*Client]struct{}{}
				s.monitors[f] = w
			}
			w[c] = struct{}{}
		}
		if t := s.online(f); t != nil {
			on = append(on, t.prefix())
		} else {
			off = append(off, nick)
		}
	}
	s.sendListNumeric(c, rplMonOnline, on)
	s.sendListNumeric(c, rplMonOffline, off)
}

func (s *Server) monitorRemove(c *Client, arg string) {
	for _, nick := range splitList(arg) {
		f := Fold(nick)
		if _, have := c.monitor[f]; have {
			delete(c.monitor, f)
			s.unwatch(c, f)
		}
	}
}

// monitorClear empties c's list (MONITOR C, and when c quits).
func (s *Server) monitorClear(c *Client) {
	for f := range c.monitor {
		s.unwatch(c, f)
	}
	c.monitor = nil
}

func (s *Server) unwatch(c *Client, folded string) {
	if w := s.monitors[folded]; w != nil {
		delete(w, c)
		if len(w) == 0 {
			delete(s.monitors, folded)
		}
	}
}

// monitorSignon tells c's watchers that it is online (at registration).
func (s *Server) monitorSignon(c *Client) {
	c.monitorOn = true
	s.notifyWatchers(c.folded, rplMonOnline, c.prefix())
}

// monitorSignoff tells c's watchers that it is offline (QUIT,
// disconnection, KILL).
func (s *Server) monitorSignoff(c *Client) {
	if c.monitorOn {
		c.monitorOn = false
		s.notifyWatchers(c.folded, rplMonOffline, c.nick)
	}
}

// monitorNickChange: offline under the old nick, online under the new. A
// change of case only is not a change of nick.
func (s *Server) monitorNickChange(c *Client, oldNick, oldFolded string) {
	if !c.monitorOn || oldFolded == c.folded {
		return
	}
	s.notifyWatchers(oldFolded, rplMonOffline, oldNick)
	s.notifyWatchers(c.folded, rplMonOnline, c.prefix())
}

func (s *Server) notifyWatchers(folded, code, item string) {
	for w := range s.monitors[folded] {
		if !w.gone {
			w.numeric(code, item)
		}
	}
}

// extMonitorCaps are the notifications extended-monitor carries.
const extMonitorCaps = capAwayNotify | capAccountNotify | capChghost | capSetname

// toMonitors sends c's AWAY, ACCOUNT, CHGHOST or SETNAME notification
// (need names its cap) to the clients monitoring c with extended-monitor
// and that cap, unless they share a channel with c and so got it already.
func (s *Server) toMonitors(c *Client, msg *outMsg, need capSet) {
	if !c.monitorOn {
		return
	}
	for w := range s.monitors[c.folded] {
		if w == c || w.gone || !w.registered || !w.caps.has(capExtendedMonitor) || !w.caps.has(need) || sharesChannel(w, c) {
			continue
		}
		w.sendMsg(msg)
	}
}

// sendListNumeric sends items comma-separated in as few "code nick :a,b,…"
// lines as fit the line limit; nothing when items is empty.
func (s *Server) sendListNumeric(c *Client, code string, items []string) {
	room := s.lim.LineBytes - (1 + len(s.name) + 1 + len(code) + 1 + len(c.nickOrStar()) + 2 + 2)
	var b strings.Builder
	for _, it := range items {
		if b.Len() > 0 && b.Len()+1+len(it) > room {
			c.numeric(code, b.String())
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(it)
	}
	if b.Len() > 0 {
		c.numeric(code, b.String())
	}
}
