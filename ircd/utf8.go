package ircd

import (
	"unicode/utf8"

	"gopkg.in/irc.v4"
)

// UTF8ONLY (advertised in 005) holds: a line that is not valid UTF-8 —
// anywhere, tags included — is refused as a whole and never relayed. The
// refusal is the INVALID_UTF8 standard reply, which the UTF8ONLY
// specification defines, so every client gets it (it does not depend on
// the standard-replies capability). The reply names the command, or "*"
// when the command itself is not a valid name; it never echoes the
// line's bytes.

const invalidUTF8Text = "Message rejected, your IRC software MUST use UTF-8 encoding on this network"

// validUTF8 reports whether ln may be handled; if not, c has been told.
func (s *Server) validUTF8(c *Client, ln []byte, m *irc.Message) bool {
	if utf8.Valid(ln) {
		return true
	}
	cmd := m.Command
	if !validCommandName(cmd) {
		cmd = "*"
	}
	c.send(lineTrail(s.name, "FAIL", cmd, "INVALID_UTF8", invalidUTF8Text))
	return false
}

// validCommandName reports whether cmd is a command word (letters) or a
// three-digit numeric.
func validCommandName(cmd string) bool {
	if cmd == "" || len(cmd) > 32 {
		return false
	}
	digits := 0
	for i := 0; i < len(cmd); i++ {
		switch b := cmd[i]; {
		case b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z':
		case b >= '0' && b <= '9':
			digits++
		default:
			return false
		}
	}
	return digits == 0 || digits == 3 && len(cmd) == 3
}
