package ircd

import (
	"errors"
	"strings"

	"gopkg.in/irc.v4"
)

// Service pseudo-clients. Users talk to them with /msg NickServ … (or the
// NICKSERV / NS commands that clients map /ns to).
const (
	nickServ = "NickServ"
)

// ErrNickTaken is returned by Backend.ClaimNick when another
// account owns the nick.
var ErrNickTaken = errors.New("nick is claimed by another account")

func isServiceNick(folded string) bool {
	return folded == Fold(nickServ) || folded == "chanserv"
}

// serviceNotice sends a NickServ or ChanServ NOTICE; like every NOTICE it
// carries a msgid for message-tags clients.
func (s *Server) serviceNotice(c *Client, from, text string) {
	c.sendMsg(s.relayMsg(s.clock.Now(), buildLine(from+"!services@"+s.name, "NOTICE", []string{c.nick, text}, true)))
}

func (s *Server) handleNickServCommand(c *Client, m *irc.Message) {
	s.nickServ(c, strings.Join(m.Params, " "))
}

// nickServ handles "CLAIM", "RELEASE [nick]", "INFO [nick]", "GHOST
// <nick>", "RECOVER <nick>", the credential and key commands and "HELP".
func (s *Server) nickServ(c *Client, text string) {
	f := strings.Fields(text)
	say := func(t string) { s.serviceNotice(c, nickServ, t) }
	if len(f) == 0 {
		f = []string{"HELP"}
	}
	if c.busy > 0 {
		say("Your previous request is still running; try again in a moment.")
		return
	}
	if !s.has(FeatureAccounts) {
		say("Accounts are not enabled on this server.")
		return
	}
	switch strings.ToUpper(f[0]) {
	case "CLAIM":
		if c.account == "" {
			say("You must be logged in (SASL) to claim a nick.")
			return
		}
		nick, folded, acct := c.nick, c.folded, c.account
		if owner, ok := s.nickOwner(folded); ok {
			if owner == acct {
				say("The nick " + nick + " is already claimed by your account.")
			} else {
				say("The nick " + nick + " is claimed by another account.")
			}
			return
		}
		s.async(c, func() func() {
			err := s.be.ClaimNick(folded, acct)
			return func() {
				switch {
				case err == nil:
					say("The nick " + nick + " is now claimed by " + acct + "; nobody else may use it.")
				case errors.Is(err, ErrNickTaken):
					say("The nick " + nick + " is claimed by another account.")
				default:
					s.log.Error("claim nick", "err", err)
					say("Could not claim the nick: " + userError(err))
				}
			}
		})
	case "RELEASE":
		if c.account == "" {
			say("You must be logged in (SASL) to release a nick.")
			return
		}
		nick := c.nick
		if len(f) > 1 {
			nick = f[1]
		}
		folded, acct := Fold(nick), c.account
		if owner, ok := s.nickOwner(folded); !ok || owner != acct {
			say("The nick " + nick + " is not claimed by your account.")
			return
		}
		s.async(c, func() func() {
			err := s.be.ReleaseNick(folded, acct)
			return func() {
				if err != nil {
					s.log.Error("release nick", "err", err)
					say("Could not release the nick: " + userError(err))
					return
				}
				say("The nick " + nick + " is released.")
			}
		})
	case "GHOST", "RECOVER":
		s.nickServGhost(c, f, say)
	case "DEVICE", "TOKEN", "LIST", "REVOKE":
		s.nickServCredentials(c, f, say)
	case "KEY":
		s.nickServKey(c, f, say)
	case "BAN", "UNBAN":
		s.operBan(c, f[1:], strings.ToUpper(f[0]) == "BAN", say)
	case "INFO":
		nick := c.nick
		if len(f) > 1 {
			nick = f[1]
		}
		if owner, ok := s.nickOwner(Fold(nick)); ok {
			say("The nick " + nick + " is claimed by " + owner + ".")
		} else {
			say("The nick " + nick + " is not claimed.")
		}
		// how a session logged in: to its own user and to IRC operators
		if t := s.st.nicks[Fold(nick)]; t != nil && t.account != "" && (t == c || c.oper) {
			say(t.nick + " is logged in as " + t.account + " with " + t.loginKind.describe() + ".")
		}
	default:
		say("NickServ commands: CLAIM (claim your current nick for your account), RELEASE [nick], INFO [nick]; GHOST <nick> (disconnect your account's session using it, or whoever uses your claimed nick), RECOVER <nick> (rename whoever uses it to a guest nick and take it); device credentials: DEVICE ADD <label> <p256-pubkey> [ttl], TOKEN NEW <label> [ttl], LIST, REVOKE <label>; keys: KEY LINK <new-key>, KEY LIST, KEY UNLINK <key> [REVOKE]; opers: BAN/UNBAN <account>.")
	}
}

// userError gives a client a short reason without internal details.
func userError(err error) string {
	var ue interface{ UserMessage() string }
	if errors.As(err, &ue) {
		return ue.UserMessage()
	}
	return "internal error, try again later"
}
