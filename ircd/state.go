package ircd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/record"
)

// state is everything the processing goroutine owns.
type state struct {
	all       map[*Client]struct{}
	nicks     map[string]*Client // folded nick → registered or reserving client
	channels  map[string]*Channel
	opers     int
	invisible int // registered clients with +i
	unknown   int // connections not yet registered
	maxUsers  int
	pending   []func() // run after the current command (kills found mid-fan-out)
	// throttled clients wait (fake lag) until their throttledUntil
	throttled map[*Client]struct{}
	// origins counts connections per origin key (Listener.Origin; never
	// logged)
	origins map[string]int
	// forgotten holds the folded names of channels that were neither
	// registered nor declared and were forgotten when their last member
	// left (at most Limits.MaxChannels): created again, such a channel
	// starts a new history (Channel.epoch)
	forgotten map[string]struct{}
}

func (st *state) init() {
	st.all = map[*Client]struct{}{}
	st.nicks = map[string]*Client{}
	st.channels = map[string]*Channel{}
	st.throttled = map[*Client]struct{}{}
	st.origins = map[string]int{}
	st.forgotten = map[string]struct{}{}
}

func (s *Server) handleEvent(ev event) {
	c := ev.c
	switch ev.kind {
	case evClosed:
		if !c.gone {
			reason := "Connection closed"
			if ev.err != nil && !isEOF(ev.err) {
				reason = "Read error"
			}
			s.quit(c, reason, false)
		}
		s.nconns.Add(-1)
		if !c.authCounted {
			s.nUnauth.Add(-1)
			c.authCounted = true
		}
		s.forget(c)
	case evNew:
		s.st.all[c] = struct{}{}
		s.st.unknown++
		s.observer().ConnOpened(Transport(c.listener.Kind))
		s.countOrigin(c)
	case evLines:
		c.pending, c.pendingOff = &ev, 0
		s.processBatch(c)
	case evResume:
		ev.fn()
	}
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}

// processBatch handles the lines of c's pending batch until it ends or a
// handler suspends the client for async work; then the reader may go on.
func (s *Server) processBatch(c *Client) {
	if c.label != nil && c.busy == 0 {
		s.endLabel(c) // a labeled command that waited for an async step
	}
	ev := c.pending
	b := (*ev.buf)[:ev.n]
	for c.pendingOff < len(b) && !c.gone {
		off := c.pendingOff
		rest := b[off:]
		i := bytes.IndexAny(rest, "\r\n")
		var ln []byte
		if i < 0 {
			ln, c.pendingOff = rest, len(b)
		} else {
			ln, c.pendingOff = rest[:i], c.pendingOff+i+1
		}
		if c.discarding {
			// the end of an over-long line: drop it and say so
			c.discarding = false
			c.numeric(errInputTooLong, "Input line was too long")
			continue
		}
		if len(ln) == 0 {
			continue
		}
		if s.histBarrierBefore(c, ln) {
			c.pendingOff = off // the line waits for c's messages in the history lane
			return
		}
		s.handleLine(c, ln)
		s.runPending()
		if c.held() {
			return // resumeInput goes on
		}
	}
	c.pending = nil
	if ev.buf != nil && cap(*ev.buf) == s.bufs.size {
		s.bufs.put(ev.buf)
	}
	c.ack <- struct{}{}
}

func (s *Server) runPending() {
	for len(s.st.pending) > 0 {
		p := s.st.pending
		s.st.pending = nil
		for _, f := range p {
			f()
		}
	}
}

// handleLine checks the bounds of one line, parses it and dispatches it.
func (s *Server) handleLine(c *Client, ln []byte) {
	now := s.clock.Now()
	c.lastRecv = now
	c.pingSent = false
	if bytes.IndexByte(ln, 0) >= 0 {
		return // NUL is never valid in IRC
	}
	msgPart := ln
	if ln[0] == '@' {
		sp := bytes.IndexByte(ln, ' ')
		// the client's tag data is at most 4094 bytes (message-tags)
		if sp < 0 || sp+1 > s.lim.TagBytes || sp-1 > maxClientTagData {
			c.numeric(errInputTooLong, "Input line was too long")
			return
		}
		msgPart = bytes.TrimLeft(ln[sp+1:], " ")
		if len(msgPart) == 0 {
			return
		}
	}
	if len(msgPart)+2 > s.lim.LineBytes {
		c.numeric(errInputTooLong, "Input line was too long")
		return
	}
	if !c.registered {
		c.preRegLines++
		if c.preRegLines > s.lim.PreRegLines {
			s.kill(c, "Too many lines before registration")
			return
		}
	}
	m, err := parse(string(ln))
	if err != nil || m.Command == "" {
		return
	}
	first := ""
	if len(m.Params) > 0 {
		first = m.Params[0]
	}
	if !s.throttle(c, commandCost(m.Command, len(m.Params), first)) {
		return
	}
	if ln[0] == '@' && c.caps&labelCaps == labelCaps {
		s.beginLabel(c, m)
	}
	if s.validUTF8(c, ln, m) && !((c.ml != nil || c.caps.has(capMultiline)) && s.multilineIntercept(c, m)) {
		s.dispatch(c, m)
	}
	if c.label != nil {
		s.endLabel(c)
	}
}

// parse wraps irc.ParseMessage, which must never see input that makes it
// index past the end.
func parse(ln string) (m *irc.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("unparseable line")
		}
	}()
	return irc.ParseMessage(ln)
}

// countOrigin counts a new connection against its origin's limit and
// disconnects it when the origin already has MaxPerCircuit.
func (s *Server) countOrigin(c *Client) {
	if c.origin == "" {
		return
	}
	if s.st.origins[c.origin] >= s.lim.MaxPerCircuit {
		s.observer().OriginRefused()
		c.origin = "" // never counted
		s.kill(c, "Too many connections over one "+c.listener.originKind())
		return
	}
	s.st.origins[c.origin]++
}

type handler struct {
	fn        func(s *Server, c *Client, m *irc.Message)
	minParams int
	preReg    bool // allowed before registration
}

func commandTable() map[string]handler {
	return map[string]handler{
		"CAP":          {fn: (*Server).handleCap, preReg: true},
		"NICK":         {fn: (*Server).handleNick, preReg: true},
		"USER":         {fn: (*Server).handleUser, preReg: true},
		"PASS":         {fn: func(*Server, *Client, *irc.Message) {}, preReg: true},
		"PING":         {fn: (*Server).handlePing, preReg: true},
		"PONG":         {fn: func(*Server, *Client, *irc.Message) {}, preReg: true},
		"QUIT":         {fn: (*Server).handleQuit, preReg: true},
		"AUTHENTICATE": {fn: (*Server).handleAuthenticate, preReg: true, minParams: 1},
		"JOIN":         {fn: (*Server).handleJoin, minParams: 1},
		"CHATHISTORY":  {fn: (*Server).handleChathistory},
		"MARKREAD":     {fn: (*Server).handleMarkread},
		"REDACT":       {fn: (*Server).handleRedact, minParams: 2},
		"PART":         {fn: (*Server).handlePart, minParams: 1},
		"TOPIC":        {fn: (*Server).handleTopic, minParams: 1},
		"NAMES":        {fn: (*Server).handleNames},
		"LIST":         {fn: (*Server).handleList},
		"KICK":         {fn: (*Server).handleKick, minParams: 2},
		"INVITE":       {fn: (*Server).handleInvite, minParams: 2},
		"MODE":         {fn: (*Server).handleMode, minParams: 1},
		"PRIVMSG":      {fn: (*Server).handlePrivmsg},
		"NOTICE":       {fn: (*Server).handleNotice},
		"TAGMSG":       {fn: (*Server).handleTagmsg},
		"WHO":          {fn: (*Server).handleWho},
		"WHOIS":        {fn: (*Server).handleWhois},
		"WHOWAS":       {fn: (*Server).handleWhowas, minParams: 0},
		"AWAY":         {fn: (*Server).handleAway},
		"SETNAME":      {fn: (*Server).handleSetname, minParams: 1},
		"VERSION":      {fn: (*Server).handleVersion},
		"TIME":         {fn: (*Server).handleTime},
		"INFO":         {fn: (*Server).handleInfo},
		"MOTD":         {fn: (*Server).handleMotd},
		"LUSERS":       {fn: (*Server).handleLusers},
		"ISON":         {fn: (*Server).handleIson, minParams: 1},
		"USERHOST":     {fn: (*Server).handleUserhost, minParams: 1},
		"ACCEPT":       {fn: (*Server).handleAccept, minParams: 1},
		"OPER":         {fn: (*Server).handleOper, minParams: 2},
		"KILL":         {fn: (*Server).handleKill, minParams: 1},
		"WALLOPS":      {fn: (*Server).handleWallops, minParams: 1},
		"REHASH":       {fn: (*Server).handleRehash},
		"NICKSERV":     {fn: (*Server).handleNickServCommand},
		"NS":           {fn: (*Server).handleNickServCommand},
		"CHANSERV":     {fn: (*Server).handleChanServCommand},
		"CS":           {fn: (*Server).handleChanServCommand},
		"BATCH":        {fn: (*Server).handleBatch, minParams: 1},
		"MONITOR":      {fn: (*Server).handleMonitor, minParams: 1},
	}
}

func (s *Server) dispatch(c *Client, m *irc.Message) {
	defer func() {
		if r := recover(); r != nil {
			// A bug must not take the server down: drop this client. The
			// log names the command, never its parameters.
			s.log.Error("BUG: panic while handling a command", "command", m.Command, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			s.kill(c, "Internal server error")
		}
	}()
	h, ok := s.commands[m.Command]
	if !ok {
		if !c.registered {
			c.numeric(errNotRegistered, "You have not registered")
			return
		}
		c.numeric(errUnknownCommand, m.Command, "Unknown command")
		return
	}
	if !c.registered && !h.preReg {
		c.numeric(errNotRegistered, "You have not registered")
		return
	}
	if len(m.Params) < h.minParams {
		c.numeric(errNeedMoreParams, m.Command, "Not enough parameters")
		return
	}
	h.fn(s, c, m)
}

// kill disconnects c with an ERROR line and a QUIT to its peers.
func (s *Server) kill(c *Client, reason string) {
	s.quit(c, reason, true)
}

// quit removes c from all state and tells its peers. When sendError is
// set, the client gets "ERROR :Closing Link: reason".
func (s *Server) quit(c *Client, reason string, sendError bool) {
	if c.gone {
		return
	}
	c.gone = true
	if c.origin != "" {
		if s.st.origins[c.origin]--; s.st.origins[c.origin] <= 0 {
			delete(s.st.origins, c.origin)
		}
	}
	if sendError {
		c.closeWith("ERROR :Closing Link: "+reason, false)
	} else {
		c.closeWith("", false)
	}
	if c.registered {
		s.whowas.add(c, s.clock.Now())
		msg := newOutMsg(s.clock.Now(), line(c.prefix(), "QUIT", reason))
		s.toCommonPeers(c, msg, 0, false)
		s.recordEventAll(c, record.KindQuit, nil, reason)
		c.channelsClear()
		for ch := range c.invitedTo { // the next holder of the nick is not invited
			removeInvite(ch, c)
		}
		if c.oper {
			s.st.opers--
		}
		if c.invisible {
			s.st.invisible--
		}
		s.monitorSignoff(c)
	} else if _, ok := s.st.all[c]; ok {
		s.st.unknown--
	}
	if c.folded != "" && s.st.nicks[c.folded] == c {
		delete(s.st.nicks, c.folded)
	}
	s.monitorClear(c)
	c.ml = nil
	delete(s.st.all, c)
}

// sendqExceeded disconnects a client whose queue is full, after the
// current command (it may be found in the middle of a fan-out).
func (s *Server) sendqExceeded(c *Client) {
	if c.gone {
		return
	}
	c.closeWith("ERROR :SendQ exceeded", true)
	s.observer().SendQKill()
	s.st.pending = append(s.st.pending, func() { s.quit(c, "SendQ exceeded", false) })
}

// sweep runs every tick: registration and ping timeouts, WHOWAS expiry.
func (s *Server) sweep() {
	now := s.clock.Now()
	s.whowas.expire(now)
	for c := range s.st.all {
		if c.gone {
			continue
		}
		// a stalled SASL stage fails before and after registration alike
		if c.sasl != nil && c.busy == 0 && now.Sub(c.sasl.started) >= s.saslOpts.Timeout {
			s.saslFail(c, "SASL authentication failed: timed out")
			if c.gone {
				continue
			}
		}
		if !c.registered {
			if now.Sub(c.signon) >= s.lim.RegistrationTimeout {
				s.kill(c, "Registration timed out")
			}
			continue
		}
		if c.ml != nil {
			s.multilineExpire(c, now)
		}
		idle := now.Sub(c.lastRecv)
		switch {
		case c.pingSent && idle >= s.lim.PingInterval+s.lim.PingTimeout:
			s.kill(c, fmt.Sprintf("Ping timeout: %d seconds", int(idle.Seconds())))
		case !c.pingSent && idle >= s.lim.PingInterval:
			c.pingSent = true
			c.send(line("", "PING", s.name))
		}
	}
	s.runPending()
}
