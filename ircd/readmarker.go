package ircd

import (
	"strings"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/record"
)

// IRCv3 draft/read-marker: MARKREAD <target> [timestamp=…]. An account's
// read marker of a channel or of a private conversation is kept in the
// store (Backend.ReadMarker, SetReadMarker: only ever moving forward) and
// never shown to anyone else. A client sets it ("MARKREAD target
// timestamp=…", clamped to now) or asks for it ("MARKREAD target"); the
// answer is "MARKREAD target timestamp=…" (or "*" when none is set), and
// a marker that moved is sent to every session of the account that
// negotiated the cap. After a JOIN the joiner gets the channel's marker
// before the end of NAMES (history_join.go). Reads and writes go through
// the async pool. Guests have no markers: MARKREAD answers them with FAIL
// MARKREAD INTERNAL_ERROR and a JOIN with "*".

// markreadLine builds ":server MARKREAD target timestamp=…" ("*" for the
// zero time).
func (s *Server) markreadLine(target string, t time.Time) []byte {
	ts := "*"
	if !t.IsZero() {
		ts = "timestamp=" + t.UTC().Format(historyTimeFormat)
	}
	return line(s.name, "MARKREAD", target, ts)
}

// markerTarget resolves a MARKREAD target of c: the store target and the
// name to answer with. ok is false for a target that is neither a valid
// channel name nor the nick or account of an account.
func (s *Server) markerTarget(c *Client, target string) (key, name string, ok bool) {
	if strings.HasPrefix(target, "#") {
		if !validChannel(target, s.lim.ChannelLen) {
			return "", "", false
		}
		folded := Fold(target)
		if ch := s.st.channels[folded]; ch != nil {
			target = ch.name
		}
		return record.ChannelTarget(folded), target, true
	}
	peer, ok := s.peerAccount(target)
	if !ok {
		return "", "", false
	}
	return record.PrivateTarget(c.account, peer), target, true
}

// peerAccount resolves a nick (of a logged-in client, or owned by an
// account) or an account name to an account.
func (s *Server) peerAccount(target string) (string, bool) {
	if t := s.st.nicks[Fold(target)]; t != nil && t.registered {
		return t.account, t.account != ""
	}
	if a, isAcct := s.be.ParseAccount(target); isAcct {
		return a, true
	}
	if a, owned := s.be.NickOwner(Fold(target)); owned {
		return a, true
	}
	return "", false
}

func (s *Server) handleMarkread(c *Client, m *irc.Message) {
	if !s.historyOn() {
		c.numeric(errUnknownCommand, "MARKREAD", "Unknown command")
		return
	}
	fail := func(code string, ctx []string, text string) {
		c.send(s.failLine("MARKREAD", code, ctx, text))
	}
	if len(m.Params) == 0 || m.Params[0] == "" {
		fail("NEED_MORE_PARAMS", nil, "Missing parameters")
		return
	}
	target := m.Params[0]
	set := len(m.Params) > 1
	var at time.Time
	if set {
		v, ok := strings.CutPrefix(m.Params[1], "timestamp=")
		t, err := time.Parse(time.RFC3339Nano, v)
		if !ok || err != nil || t.Before(time.Unix(0, 0)) {
			fail("INVALID_PARAMS", []string{m.Params[1]}, "Invalid timestamp")
			return
		}
		// a marker is never ahead of the server's clock
		if now := s.clock.Now(); t.After(now) {
			t = now
		}
		at = t.UTC().Truncate(time.Millisecond)
	}
	if c.account == "" {
		fail("INTERNAL_ERROR", []string{target}, "Read markers are kept for accounts only: log in (SASL) to keep them")
		return
	}
	key, name, ok := s.markerTarget(c, target)
	if !ok {
		fail("INVALID_PARAMS", []string{target}, "Invalid target")
		return
	}
	acct := c.account
	s.async(c, func() func() {
		t, err := s.be.ReadMarker(acct, key)
		moved := false
		if set && err == nil {
			old := t
			t, err = s.be.SetReadMarker(acct, key, at)
			moved = t.After(old)
		}
		return func() {
			if c.gone {
				return
			}
			if err != nil {
				s.log.Warn("read marker failed", "set", set, "err", err)
				fail("INTERNAL_ERROR", []string{target}, "The read timestamp could not be set or returned")
				return
			}
			ln := s.markreadLine(name, t)
			c.send(ln)
			if !moved {
				return // unchanged: only the asker hears it
			}
			// every other session of the account that takes markers
			for o := range s.st.all {
				if o != c && o.account == acct && o.registered && !o.gone && o.caps.has(capReadMarker) {
					o.send(ln)
				}
			}
		}
	})
}
