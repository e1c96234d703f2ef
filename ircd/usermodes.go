package ircd

import (
	"fmt"
	"strings"

	"github.com/thorchat/thorchat/record"
)

// keptModeLetters are the user modes an account keeps (Backend.SetUserModes
// stores them, Login.Modes brings them back), in the order keptModes lists
// them.
const keptModeLetters = record.KeptUserModes

// keptModes returns the kept user modes c has set, as letters in
// keptModeLetters order ("" for none).
func (c *Client) keptModes() string {
	var b [len(keptModeLetters)]byte
	n := 0
	for i := 0; i < len(keptModeLetters); i++ {
		l := keptModeLetters[i]
		on := c.invisible
		if l != 'i' {
			on = *c.umodeFlag(l)
		}
		if on {
			b[n] = l
			n++
		}
	}
	return string(b[:n])
}

// applyKeptModes sets, at an account's login, the user modes it keeps.
// Letters that are not kept modes are ignored. A registered client is
// told with a MODE line; one that is still registering learns its modes
// at the end of registration (sendKeptModes).
func (s *Server) applyKeptModes(c *Client, modes string) {
	applied := ""
	for i := 0; i < len(modes); i++ {
		l := modes[i]
		if strings.IndexByte(keptModeLetters, l) >= 0 && s.setUserMode(c, l, true) {
			applied += string(l)
		}
	}
	if applied != "" && c.registered {
		c.send(line(c.prefix(), "MODE", c.nick, "+"+applied))
	}
}

// sendKeptModes tells a client that has just registered which kept user
// modes its login set.
func (s *Server) sendKeptModes(c *Client) {
	if m := c.keptModes(); m != "" {
		c.send(line(c.prefix(), "MODE", c.nick, "+"+m))
	}
}

// saveKeptModes stores a logged-in client's kept user modes in the
// background (in order with the other account preference writes).
func (s *Server) saveKeptModes(c *Client, modes string) {
	if c.account == "" {
		return
	}
	acct := c.account
	s.keepPreference(func() error {
		if err := s.be.SetUserModes(acct, modes); err != nil {
			return fmt.Errorf("store user modes: %w", err)
		}
		return nil
	})
}
