package ircd

import (
	"strings"

	"github.com/thorchat/thorchat/channame"
)

// The server uses the rfc1459 casemapping everywhere (nicks, channels,
// masks): A-Z fold to a-z and []\~ fold to {}|^. CASEMAPPING=rfc1459 in 005.
const caseMapping = "rfc1459"

func foldByte(b byte) byte {
	switch {
	case b >= 'A' && b <= 'Z':
		return b + 32
	case b == '[':
		return '{'
	case b == ']':
		return '}'
	case b == '\\':
		return '|'
	case b == '~':
		return '^'
	}
	return b
}

// Fold returns the rfc1459 case-folded form of s, used as map keys.
func Fold(s string) string {
	for i := 0; i < len(s); i++ {
		if foldByte(s[i]) != s[i] {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = foldByte(b[j])
			}
			return string(b)
		}
	}
	return s
}

func isNickSpecial(b byte) bool {
	return strings.IndexByte("[]\\`_^{|}", b) >= 0
}

// validNick reports whether s is an acceptable nickname of at most max bytes.
func validNick(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', isNickSpecial(b):
		case (b >= '0' && b <= '9') || b == '-':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// validChannel reports whether s is a channel name this server accepts:
// its shape, and its characters (channame.Check).
func validChannel(s string, max int) bool {
	return channelShape(s, max) && channame.Check(s) == nil
}

// channelShape reports whether s starts with '#', fits in max bytes and
// has none of the IRC separators.
func channelShape(s string, max int) bool {
	if len(s) < 2 || len(s) > max || s[0] != '#' {
		return false
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case ' ', ',', 7, 0, '\r', '\n', ':':
			return false
		}
	}
	return true
}

// sanitizeUser makes a client-supplied username safe for prefixes.
func sanitizeUser(s string, max int) string {
	b := make([]byte, 0, len(s)+1)
	b = append(b, '~')
	for i := 0; i < len(s) && len(b) < max; i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b = append(b, c)
		}
	}
	if len(b) == 1 {
		b = append(b, 'u')
	}
	return string(b)
}

// matchMask matches a folded glob mask (* and ?) against a folded string.
func matchMask(mask, s string) bool {
	// iterative glob with backtracking on the last star
	var mi, si, star, mark = 0, 0, -1, 0
	for si < len(s) {
		switch {
		case mi < len(mask) && (mask[mi] == '?' || mask[mi] == s[si]):
			mi++
			si++
		case mi < len(mask) && mask[mi] == '*':
			star = mi
			mark = si
			mi++
		case star >= 0:
			mi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for mi < len(mask) && mask[mi] == '*' {
		mi++
	}
	return mi == len(mask)
}

// normalizeMask turns "nick", "nick!user" or "user@host" forms into a full
// nick!user@host mask, as users expect from +b.
func normalizeMask(m string) string {
	if strings.HasPrefix(m, "$") { // extban-style account masks, $a:account
		return m
	}
	nick, rest, hasBang := strings.Cut(m, "!")
	if !hasBang {
		if strings.Contains(m, "@") {
			nick, rest = "*", m
		} else {
			rest = "*"
		}
	}
	user, host, hasAt := strings.Cut(rest, "@")
	if !hasAt {
		host = "*"
	}
	if nick == "" {
		nick = "*"
	}
	if user == "" {
		user = "*"
	}
	if host == "" {
		host = "*"
	}
	return nick + "!" + user + "@" + host
}
