package ircd

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gopkg.in/irc.v4"
)

// ErrAcceptFull is returned by Backend.AcceptAdd at the bound.
var ErrAcceptFull = errors.New("accept list is full")

func (s *Server) maxAccept() int {
	if s.cfg.MaxAccept > 0 {
		return s.cfg.MaxAccept
	}
	return 50
}

// acceptKey is what goes on a list for t: its account when logged in,
// else its folded nick.
func acceptKey(t *Client) string {
	if t.account != "" {
		return t.account
	}
	return t.folded
}

// accepts reports whether c's accept list lets from message it.
func (c *Client) accepts(from *Client) bool {
	if len(c.accept) == 0 {
		return false
	}
	if from.account != "" {
		if _, ok := c.accept[from.account]; ok {
			return true
		}
	}
	_, ok := c.accept[from.folded]
	return ok
}

// loadAccept installs a logged-in client's kept accept list (read off the
// loop with its login, Login.Accept).
func (s *Server) loadAccept(c *Client, list []string) {
	for _, e := range list {
		if len(c.accept) >= s.maxAccept() {
			break
		}
		if c.accept == nil {
			c.accept = make(map[string]struct{}, len(list))
		}
		c.accept[e] = struct{}{}
	}
}

// addAccept puts key on c's list, persisting it for accounts in the
// background. It reports false when the list is full.
func (s *Server) addAccept(c *Client, key string) bool {
	if _, ok := c.accept[key]; ok {
		return true
	}
	if len(c.accept) >= s.maxAccept() {
		return false
	}
	if c.accept == nil {
		c.accept = map[string]struct{}{}
	}
	c.accept[key] = struct{}{}
	if c.account != "" {
		acct, max := c.account, s.maxAccept()
		s.keepPreference(func() error {
			if err := s.be.AcceptAdd(acct, key, max); err != nil && !errors.Is(err, ErrAcceptFull) {
				return fmt.Errorf("store accept entry: %w", err)
			}
			return nil
		})
	}
	return true
}

// keepPreference queues a store write of an account preference (accept
// list, kept user modes) on the preferences lane; nothing waits for it, and
// writes are committed in the order they were made (an ACCEPT and the
// ACCEPT -x after it must not swap). When the lane is full the write is
// refused, not queued without bound: the state in memory still changes for
// this session, the stored one does not, and the server logs a warning
// (at most once a minute).
func (s *Server) keepPreference(f func() error) {
	if !s.prefs.submit(s, nil, f, nil) {
		s.prefs.refused(s)
	}
}

// handleAccept implements ACCEPT nick|account[,…], ACCEPT -nick and
// ACCEPT * (list).
func (s *Server) handleAccept(c *Client, m *irc.Message) {
	for _, arg := range splitList(m.Params[0]) {
		switch {
		case arg == "*":
			var names []string
			for k := range c.accept {
				names = append(names, k)
			}
			for len(names) > 0 {
				n := min(len(names), 15)
				c.numeric(rplAcceptList, strings.Join(names[:n], " "))
				names = names[n:]
			}
			c.numeric(rplEndOfAccept, "End of /ACCEPT list")
		case strings.HasPrefix(arg, "-"):
			key := s.acceptTarget(arg[1:])
			if _, ok := c.accept[key]; !ok {
				c.numeric(errAcceptNot, arg[1:], "is not on your accept list")
				continue
			}
			delete(c.accept, key)
			if c.account != "" {
				acct := c.account
				s.keepPreference(func() error {
					if err := s.be.AcceptDel(acct, key); err != nil {
						return fmt.Errorf("delete accept entry: %w", err)
					}
					return nil
				})
			}
		default:
			if !validNick(arg, max(s.lim.NickLen, 64)) {
				c.numeric(errNoSuchNick, arg, "No such nick/account")
				continue
			}
			key := s.acceptTarget(arg)
			if _, ok := c.accept[key]; ok {
				c.numeric(errAcceptExist, arg, "is already on your accept list")
				continue
			}
			if !s.addAccept(c, key) {
				c.numeric(errAcceptFull, "Accept list is full")
				return
			}
		}
	}
}

// acceptTarget resolves an ACCEPT argument: an online nick becomes its
// account (or folded nick); anything else is kept folded.
func (s *Server) acceptTarget(arg string) string {
	if acct, ok := s.accountArg(arg); ok {
		return acct // an account name always means the account
	}
	if t := s.st.nicks[Fold(arg)]; t != nil && t.registered {
		return acceptKey(t)
	}
	return Fold(arg)
}

// rateOK reports whether key may be notified at now (at most once a
// minute), recording it; the map is bounded (cleared at 64 keys).
func rateOK(m *map[string]time.Time, key string, now time.Time) bool {
	if last, ok := (*m)[key]; ok && now.Sub(last) < time.Minute {
		return false
	}
	if *m == nil || len(*m) >= 64 {
		*m = map[string]time.Time{}
	}
	(*m)[key] = now
	return true
}

func isCTCP(text string) bool { return len(text) > 0 && text[0] == 1 }

func isAction(text string) bool { return strings.HasPrefix(text, "\x01ACTION") }

// privateAllowed applies the recipient's contact rules (+R, +g, +T) to a
// private message from c. It tells the sender (unless it is a NOTICE) and
// returns false when the message must not be delivered.
func (s *Server) privateAllowed(c, t *Client, cmd, text string) bool {
	// only a PRIVMSG gets error replies; a TAGMSG (typing, reactions) is
	// dropped without any notice at all
	notice := cmd != "PRIVMSG"
	if c.oper || c == t {
		return true
	}
	if t.noCTCP && isCTCP(text) && !isAction(text) {
		if !notice {
			c.numeric(errNoCTCP, t.nick, "does not accept CTCPs (+T)")
		}
		return false
	}
	if t.regOnlyPM && c.account == "" {
		if !notice {
			c.numeric(errNoNonReg, t.nick, "only accepts private messages from logged-in users (+R); log in with SASL")
		}
		return false
	}
	if t.callerID && !t.accepts(c) {
		now := s.clock.Now()
		// the sender is told (716/717) once a minute per target, on PRIVMSG
		// only, so a NOTICE cannot use up the sender's answer
		if !notice && rateOK(&c.gTold, acceptKey(t), now) {
			c.numeric(errTargUModeG, t.nick, "is in +g mode (server-side ignore)")
			c.numeric(rplTargNotify, t.nick, "has been informed that you messaged them")
		}
		// the target hears (718) at most once a minute per sender
		if cmd != "TAGMSG" && rateOK(&t.gNotified, acceptKey(c), now) {
			t.numeric(rplUModeGMsg, c.nick, c.user+"@"+c.host, "is messaging you, and you have user mode +g set. Use /ACCEPT "+c.nick+" to allow them.")
		}
		return false
	}
	return true
}
