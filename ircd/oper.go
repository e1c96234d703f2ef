package ircd

import (
	"errors"

	"gopkg.in/irc.v4"
)

// ErrOperNotAllowed refuses OPER to a session that may not use it (491).
var ErrOperNotAllowed = errors.New("no O-lines for your host")

// ErrTryAgain refuses a command because a server-wide budget is spent
// (263 RPL_TRYAGAIN).
var ErrTryAgain = errors.New("please wait a while and try again")

// operAuth returns the backend when it checks OPER passwords and bans
// accounts (FeatureOpers), else nil.
func (s *Server) operAuth() Backend {
	if !s.has(FeatureOpers) {
		return nil
	}
	return s.be
}

func (s *Server) handleOper(c *Client, m *irc.Message) {
	oa := s.operAuth()
	if oa == nil {
		c.numeric(errNoOperHost, "No O-lines for your host")
		return
	}
	if c.oper {
		c.numeric(rplYoureOper, "You are already an IRC operator")
		return
	}
	name, pass := m.Params[0], m.Params[1]
	if len(name) > 64 || len(pass) > 128 {
		c.numeric(errPasswdMismatch, "Password incorrect")
		return
	}
	who := Login{Account: c.account, Class: c.class, Kind: c.loginKind}
	s.async(c, func() func() {
		err := oa.CheckOperPassword(who, name, pass)
		return func() {
			if c.gone {
				return
			}
			switch {
			case err == nil:
				s.makeOper(c)
			case errors.Is(err, ErrOperNotAllowed):
				c.numeric(errNoOperHost, operReason(err, "No O-lines for your host"))
			case errors.Is(err, ErrTryAgain):
				c.numeric(rplTryAgain, "OPER", operReason(err, "Please wait a while and try again."))
			default:
				c.numeric(errPasswdMismatch, "Password incorrect")
				s.countSASLFailure(c)
			}
		}
	})
}

// operReason is the user-facing text of an OPER refusal, or def.
func operReason(err error, def string) string {
	var ue interface{ UserMessage() string }
	if errors.As(err, &ue) {
		return ue.UserMessage()
	}
	return def
}

func (s *Server) makeOper(c *Client) {
	if c.oper {
		return
	}
	c.oper = true
	s.st.opers++
	c.send(line(c.prefix(), "MODE", c.nick, "+o"))
	c.numeric(rplYoureOper, "You are now an IRC operator")
}

func (s *Server) requireOper(c *Client) bool {
	if !c.oper {
		c.numeric(errNoPrivileges, "Permission Denied- You're not an IRC operator")
		return false
	}
	return true
}

func (s *Server) handleKill(c *Client, m *irc.Message) {
	if !s.requireOper(c) {
		return
	}
	t := s.findUser(c, m.Params[0])
	if t == nil {
		return
	}
	reason := "Killed"
	if len(m.Params) > 1 && m.Params[1] != "" {
		reason = truncate(m.Params[1], s.lim.KickLen)
	}
	s.log.Info("oper KILL", "oper", c.account)
	s.kill(t, "Killed ("+c.nick+" ("+reason+"))")
}

func (s *Server) handleWallops(c *Client, m *irc.Message) {
	if !s.requireOper(c) {
		return
	}
	msg := newOutMsg(s.clock.Now(), buildLine(c.prefix(), "WALLOPS", []string{m.Params[0]}, true))
	for t := range s.st.all {
		if t.registered && (t.wallops || t.oper) {
			t.sendMsg(msg)
		}
	}
}

func (s *Server) handleRehash(c *Client, m *irc.Message) {
	if !s.requireOper(c) {
		return
	}
	if !s.has(FeatureRehash) {
		c.numeric(rplRehashing, "config", "Nothing to reload")
		return
	}
	c.numeric(rplRehashing, "config", "Rehashing")
	s.async(c, func() func() {
		err := s.be.Rehash()
		return func() {
			if err != nil {
				s.serviceNotice(c, nickServ, "REHASH failed: "+userError(err))
				return
			}
			s.Reclassify()
		}
	})
}

// operBan handles NickServ BAN/UNBAN <account> for IRC operators: the key
// can no longer log in, and its connections are closed.
func (s *Server) operBan(c *Client, args []string, ban bool, say func(string)) {
	if !c.oper {
		say("Only IRC operators may ban accounts.")
		return
	}
	oa := s.operAuth()
	if oa == nil || len(args) < 1 {
		say("Usage: BAN <account> | UNBAN <account>")
		return
	}
	acct, guest := s.resolveAccount(args[0])
	if guest != "" {
		say(guest + " is not logged in; bans apply to accounts.")
		return
	}
	s.async(c, func() func() {
		err := oa.SetBanned(acct, ban)
		return func() {
			if err != nil {
				say("Could not change the ban: " + userError(err))
				return
			}
			if !ban {
				say(acct + " may log in again.")
				return
			}
			say(acct + " is banned; its connections are closed.")
			for t := range s.st.all {
				if t.account == acct && !t.gone {
					s.kill(t, "Account banned")
				}
			}
		}
	})
}
