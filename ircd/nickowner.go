package ircd

import (
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/thorchat/thorchat/record"
)

// Claimed nicks belong to their account: a connection that is not logged
// in to the owning account may hold one only until the owner asks for it.
// The owner takes it with NICK (once logged in), by logging in after a
// NICK for it was refused before registration, or with NickServ RECOVER;
// whoever held it is renamed to a guest nick. NickServ GHOST disconnects
// a session of the caller's own account (or a squatter of its nick).

// guestNickTries bounds the attempts to find a free guest nick.
const guestNickTries = 20

// guestNick returns a free, unclaimed nick of the form Guest<digits> that
// fits NickLen, or "" when none was found.
func (s *Server) guestNick() string {
	digits := min(s.lim.NickLen-len("Guest"), 6)
	limit := 1
	for range digits {
		limit *= 10
	}
	for range guestNickTries {
		nick := "Guest" + strconv.Itoa(rand.IntN(limit))
		folded := Fold(nick)
		if _, taken := s.st.nicks[folded]; taken {
			continue
		}
		if _, claimed := s.nickOwner(folded); claimed {
			continue
		}
		return nick
	}
	return ""
}

// setNick gives c the nick, freeing its old one; a registered client and
// its peers see the NICK change, and MONITOR watchers of both nicks are told.
func (s *Server) setNick(c *Client, nick, folded string) {
	if c.folded != "" && s.st.nicks[c.folded] == c {
		delete(s.st.nicks, c.folded)
	}
	s.st.nicks[folded] = c
	if c.registered {
		msg := newOutMsg(s.clock.Now(), line(c.prefix(), "NICK", nick))
		c.sendMsg(msg)
		s.toCommonPeers(c, msg, 0, false)
		s.recordEventAll(c, record.KindNick, []string{nick}, "")
	}
	oldNick, oldFolded := c.nick, c.folded
	c.nick, c.folded = nick, folded
	if c.registered {
		s.monitorNickChange(c, oldNick, oldFolded)
	}
}

// renameToGuest takes c's nick away for the account owning it: c gets a
// guest nick (registered: a NICK change, seen by its peers; before
// registration: 433 for the nick it lost) and a NickServ notice saying
// why. When no guest nick is free, c is disconnected instead.
func (s *Server) renameToGuest(c *Client, why string) {
	old := c.nick
	guest := s.guestNick()
	if guest == "" {
		s.kill(c, "Nickname "+old+" was taken back by its owner")
		return
	}
	s.setNick(c, guest, Fold(guest))
	if !c.registered {
		c.numeric(errNicknameInUse, old, "Nickname is registered to another account and its owner has taken it; you are now "+guest)
	}
	s.serviceNotice(c, nickServ, why+"; you are now "+guest+".")
}

// ownerTakes reports whether c, logged in to the account that claims
// folded, may take it from holder: holder is not logged in to that
// account (a session of the same account is left to GHOST and RECOVER).
func (s *Server) ownerTakes(c, holder *Client, folded string) bool {
	if c.account == "" || holder == c {
		return false
	}
	owner, ok := s.nickOwner(folded)
	return ok && owner == c.account && holder.account != owner
}

// takeWantedNick runs when c logs in before registration: if a NICK of c
// was refused because another connection held a nick claimed by the
// account c just logged in to, c takes that nick now and the holder is
// renamed to a guest nick.
func (s *Server) takeWantedNick(c *Client) {
	nick := c.wantNick
	c.wantNick = ""
	if nick == "" || c.registered {
		return
	}
	folded := Fold(nick)
	if owner, ok := s.nickOwner(folded); !ok || owner != c.account || c.folded == folded {
		return
	}
	if holder := s.st.nicks[folded]; holder != nil {
		if !s.ownerTakes(c, holder, folded) {
			return
		}
		s.renameToGuest(holder, "Your nick "+holder.nick+" is claimed by "+c.account+", who has logged in and taken it")
		if s.st.nicks[folded] != nil {
			return
		}
	}
	s.setNick(c, nick, folded)
}

// nickServGhost handles GHOST <nick> and RECOVER <nick>. Both need a
// login (any kind: they change no account data, only whose session holds
// a nick of the account) and a target that is the caller's: a session
// logged in to the caller's account, or a nick its account claims. GHOST
// disconnects the session holding the nick; RECOVER renames whoever holds
// it to a guest nick and gives the nick to the caller.
func (s *Server) nickServGhost(c *Client, f []string, say func(string)) {
	cmd := strings.ToUpper(f[0])
	if c.account == "" {
		say("You must be logged in (SASL) to use " + cmd + ".")
		return
	}
	if len(f) < 2 {
		say("Syntax: " + cmd + " <nick>")
		return
	}
	nick := f[1]
	folded := Fold(nick)
	holder := s.st.nicks[folded]
	owner, claimed := s.nickOwner(folded)
	mine := claimed && owner == c.account
	if holder == c {
		say("You are " + c.nick + " already.")
		return
	}
	if claimed && !mine || !claimed && (holder == nil || holder.account != c.account) {
		say("The nick " + nick + " is not yours: it is not claimed by your account and its user is not logged in to it.")
		return
	}
	if cmd == "GHOST" {
		if holder == nil {
			say(nick + " is not online.")
			return
		}
		held := holder.nick
		s.kill(holder, "Ghosted: disconnected by "+c.nick+" (NickServ GHOST)")
		say(held + " has been disconnected.")
		return
	}
	// RECOVER
	if !validNick(nick, s.lim.NickLen) || s.nickIsAccountName(nick) || isServiceNick(folded) {
		say("The nick " + nick + " cannot be used.")
		return
	}
	if holder != nil {
		s.renameToGuest(holder, "Your nick "+holder.nick+" was recovered by "+c.account)
		if s.st.nicks[folded] != nil {
			say("Could not recover " + nick + "; try again.")
			return
		}
	}
	s.setNick(c, nick, folded)
	say("You are now " + nick + ".")
}
