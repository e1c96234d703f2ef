package ircd

import (
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"

	"gopkg.in/irc.v4"
)

func (s *Server) handleNick(c *Client, m *irc.Message) {
	if len(m.Params) < 1 || m.Params[0] == "" {
		c.numeric(errNoNicknameGiven, "No nickname given")
		return
	}
	nick := m.Params[0]
	if !validNick(nick, s.lim.NickLen) {
		c.numeric(errErroneusNickname, nick, "Erroneous nickname")
		return
	}
	if s.nickIsAccountName(nick) {
		c.numeric(errErroneusNickname, nick, "Nickname looks like an account name")
		return
	}
	folded := Fold(nick)
	if isServiceNick(folded) {
		c.numeric(errErroneusNickname, nick, "Nickname is reserved for services")
		return
	}
	if other, ok := s.st.nicks[folded]; ok && other != c {
		if !s.ownerTakes(c, other, folded) {
			if _, claimed := s.nickOwner(folded); claimed && !c.registered {
				// the owner logging in takes it (takeWantedNick)
				c.wantNick = nick
				c.numeric(errNicknameInUse, nick, "Nickname is already in use; if it is claimed by your account, log in (SASL) to take it")
				return
			}
			c.numeric(errNicknameInUse, nick, "Nickname is already in use")
			return
		}
		s.renameToGuest(other, "Your nick "+other.nick+" is claimed by "+c.account+", who has taken it")
		if _, still := s.st.nicks[folded]; still {
			c.numeric(errNicknameInUse, nick, "Nickname is already in use")
			return
		}
	}
	// before registration, ownership is checked once, when it completes
	if c.registered && s.nickClaimedByOther(c, folded) {
		c.numeric(errNicknameInUse, nick, "Nickname is registered to another account; log in to use it")
		return
	}
	if nick == c.nick {
		return
	}
	if Fold(c.wantNick) == folded {
		c.wantNick = ""
	}
	s.setNick(c, nick, folded)
	if !c.registered {
		s.tryRegister(c)
	}
}

func (s *Server) handleUser(c *Client, m *irc.Message) {
	if c.registered || c.gotUser {
		c.numeric(errAlreadyRegistered, "You may not reregister")
		return
	}
	if len(m.Params) < 4 || m.Params[0] == "" || m.Params[3] == "" {
		c.numeric(errNeedMoreParams, "USER", "Not enough parameters")
		return
	}
	c.user = sanitizeUser(m.Params[0], s.lim.UserLen)
	c.realname = truncate(m.Params[3], s.lim.RealnameLen)
	c.gotUser = true
	s.tryRegister(c)
}

// truncate cuts s to at most n bytes, at a UTF-8 character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// tryRegister completes registration once NICK, USER and any CAP
// negotiation are done.
func (s *Server) tryRegister(c *Client) {
	if c.registered || c.gone || c.nick == "" || !c.gotUser || c.capNegotiating {
		return
	}
	if c.busy > 0 {
		return // release tries again when the step is done
	}
	if c.sasl != nil {
		// registration ends an exchange that waits for the client
		// (IRCv3 SASL 3.1): abort it and go on without an account
		c.sasl = nil
		c.numeric(errSASLAborted, "SASL authentication aborted")
	}
	if s.nickClaimedByOther(c, c.folded) {
		c.numeric(errNicknameInUse, c.nick, "Nickname is registered to another account; log in to use it")
		delete(s.st.nicks, c.folded)
		c.nick, c.folded = "", ""
		return
	}
	if (s.cfg.RequireSASL || s.has(FeatureAccounts) && s.be.RequireLogin()) && c.account == "" {
		s.kill(c, "This server requires SASL login (see the README: THORCHAT-SECP256K1 or a device credential)")
		return
	}
	c.registered = true
	c.wantNick = ""
	s.st.unknown--
	if c.invisible { // set by a kept mode at login
		s.st.invisible++
	}
	if c.oper {
		s.st.opers++ // a SASL login before registration made it an oper
	}
	if n := len(s.st.all) - s.st.unknown; n > s.st.maxUsers {
		s.st.maxUsers = n
	}
	if c.account != "" {
		s.applyLoginHost(c)
	}
	s.monitorSignon(c)
	s.observer().Registered()
	c.numeric(rplWelcome, "Welcome to the "+s.cfg.Network+" IRC Network "+c.prefix())
	c.numeric(rplYourHost, "Your host is "+s.name+", running version "+s.cfg.Version)
	c.numeric(rplCreated, s.createdText)
	c.send(line(s.name, rplMyInfo, c.nick, s.name, s.cfg.Version, "RTgiow", "CIMRbeijklmnostv", "Ibejklov"))
	s.sendISupport(c)
	s.sendLusers(c)
	s.sendMotd(c)
	s.sendKeptModes(c)
	if c.account != "" {
		s.afterLogin(c)
	}
}

// isupport returns the 005 tokens.
func (s *Server) isupport() []string {
	l := s.lim
	t := []string{
		"ACCEPT=" + strconv.Itoa(s.maxAccept()),
		"AWAYLEN=" + strconv.Itoa(l.AwayLen),
		"CALLERID=g",
		"CASEMAPPING=" + caseMapping,
		"CHANLIMIT=#:" + strconv.Itoa(l.MaxChannelsPerClient),
		"CHANMODES=" + chanModesToken,
		"CHANNELLEN=" + strconv.Itoa(l.ChannelLen),
		"CHANTYPES=#",
		"ELIST=MNU",
		"EXCEPTS=e",
		"HOSTLEN=64",
		"INVEX=I",
		"KEYLEN=" + strconv.Itoa(l.KeyLen),
		"KICKLEN=" + strconv.Itoa(l.KickLen),
		"MAXLIST=beI:" + strconv.Itoa(l.MaxListEntries),
		"MAXTARGETS=" + strconv.Itoa(l.MaxTargets),
		"MODES=" + strconv.Itoa(l.ModesPerCommand),
		"MONITOR=" + strconv.Itoa(l.MaxMonitor),
		"MULTILINE=" + s.multilineLimits(),
		"NETWORK=" + s.cfg.Network,
		"NICKLEN=" + strconv.Itoa(l.NickLen),
		"PREFIX=(ov)@+",
		"SAFELIST",
		"STATUSMSG=@+",
		"TARGMAX=" + fmt.Sprintf("NAMES:1,LIST:1,KICK:%d,WHOIS:1,PRIVMSG:%d,NOTICE:%d,TAGMSG:%d,JOIN:,PART:", l.MaxTargets, l.MaxTargets, l.MaxTargets, l.MaxTargets),
		"TOPICLEN=" + strconv.Itoa(l.TopicLen),
		"USERLEN=" + strconv.Itoa(l.UserLen),
		"UTF8ONLY",
		"WHOX",
	}
	if s.historyOn() {
		t = append(t, "CHATHISTORY="+strconv.Itoa(s.cfg.History.MaxRequest), "MSGREFTYPES=msgid,timestamp")
		slices.Sort(t)
	}
	return t
}

// isupportLines groups the 005 tokens, 12 to a line, once at start.
func (s *Server) isupportLines() [][]string {
	var out [][]string
	toks := s.isupport()
	for len(toks) > 0 {
		n := min(len(toks), 12)
		out = append(out, append(append([]string{}, toks[:n]...), "are supported by this server"))
		toks = toks[n:]
	}
	return out
}

func (s *Server) sendISupport(c *Client) {
	for _, params := range s.isupport005 {
		c.numeric(rplISupport, params...)
	}
}

func (s *Server) sendLusers(c *Client) {
	users := len(s.st.all) - s.st.unknown
	invisible := s.st.invisible
	c.numeric(rplLuserClient, "There are "+strconv.Itoa(users-invisible)+" users and "+strconv.Itoa(invisible)+" invisible on 1 servers")
	c.numeric(rplLuserOp, strconv.Itoa(s.st.opers), "operator(s) online")
	c.numeric(rplLuserUnknown, strconv.Itoa(s.st.unknown), "unknown connection(s)")
	c.numeric(rplLuserChannels, strconv.Itoa(len(s.st.channels)), "channels formed")
	n, mx := strconv.Itoa(users), strconv.Itoa(s.st.maxUsers)
	c.numeric(rplLuserMe, "I have "+n+" clients and 0 servers")
	c.numeric(rplLocalUsers, n, mx, "Current local users "+n+", max "+mx)
	c.numeric(rplGlobalUsers, n, mx, "Current global users "+n+", max "+mx)
}

func (s *Server) sendMotd(c *Client) {
	if len(s.cfg.MOTD) == 0 {
		c.numeric(errNoMOTD, "MOTD File is missing")
		return
	}
	c.numeric(rplMOTDStart, "- "+s.name+" Message of the day - ")
	for _, l := range s.cfg.MOTD {
		c.numeric(rplMOTD, "- "+l)
	}
	c.numeric(rplEndOfMOTD, "End of /MOTD command.")
}

func (s *Server) handlePing(c *Client, m *irc.Message) {
	if len(m.Params) < 1 {
		c.numeric(errNoOrigin, "No origin specified")
		return
	}
	c.send(line(s.name, "PONG", s.name, m.Params[0]))
}

func (s *Server) handleQuit(c *Client, m *irc.Message) {
	reason := "Client quit"
	if len(m.Params) > 0 && m.Params[0] != "" {
		reason = truncate(m.Params[0], s.lim.KickLen)
	}
	if !c.registered {
		c.closeWith("ERROR :Closing Link: "+c.nickOrStar()+" (Client quit)", false)
		s.quit(c, "Client quit", false)
		return
	}
	c.closeWith("ERROR :Closing Link: "+c.nick+" (Quit: "+reason+")", false)
	s.quit(c, "Quit: "+reason, false)
}

func (c *Client) channelsClear() {
	for ch := range c.channels {
		ch.removeMember(c.s, c)
	}
	c.channels = nil
}
