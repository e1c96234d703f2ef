package ircd

import (
	"errors"
	"strings"
	"time"

	"gopkg.in/irc.v4"
)

// AcceptStore keeps accept lists (caller ID, +g) of logged-in users so
// they survive reconnects. Entries are accounts or folded nicks.
type AcceptStore interface {
	AcceptList(account string) ([]string, error)
	AcceptAdd(account, entry string, max int) error
	AcceptDel(account, entry string) error
	AcceptClear(account string) error
}

// ErrAcceptFull is returned by AcceptStore.AcceptAdd at the bound.
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

// loadAccept reads a logged-in client's stored accept list (a fast read).
func (s *Server) loadAccept(c *Client) {
	if s.cfg.Accepts == nil || c.account == "" {
		return
	}
	list, err := s.cfg.Accepts.AcceptList(c.account)
	if err != nil {
		s.log.Error("load accept list", "err", err)
		return
	}
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
	if s.cfg.Accepts != nil && c.account != "" {
		acct, max := c.account, s.maxAccept()
		s.background(func() {
			if err := s.cfg.Accepts.AcceptAdd(acct, key, max); err != nil && !errors.Is(err, ErrAcceptFull) {
				s.log.Error("store accept entry", "err", err)
			}
		})
	}
	return true
}

// background queues a store write of an account preference (accept list,
// kept user modes) for the accept writer; nothing waits for it. Writes are
// committed one at a time in the order they were made (an ACCEPT and the
// ACCEPT -x after it must not swap). When the writer is far behind the
// write is dropped, not queued without bound: the state in memory still
// changes, the stored one does not.
func (s *Server) background(f func()) {
	select {
	case s.acceptQ <- f:
	default:
		s.log.Error("account preference store is behind; a change was not saved")
	}
}

// acceptWriter runs queued preference writes until the server stops, then
// finishes what is queued, so Run returns only after they are committed.
func (s *Server) acceptWriter() {
	for {
		select {
		case f := <-s.acceptQ:
			f()
		case <-s.done:
			for {
				select {
				case f := <-s.acceptQ:
					f()
				default:
					return
				}
			}
		}
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
			if s.cfg.Accepts != nil && c.account != "" {
				acct := c.account
				s.background(func() {
					if err := s.cfg.Accepts.AcceptDel(acct, key); err != nil {
						s.log.Error("delete accept entry", "err", err)
					}
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
