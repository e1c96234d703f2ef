// Package channame holds the rules for the characters of channel names,
// shared by the IRC server (JOIN, ChanServ REGISTER) and the configuration
// ([[channel]] names): valid UTF-8 without control, format, bidi or other
// invisible characters, and look-alike detection by the confusable
// skeleton of Unicode TR39 (UTS #39, section 4).
package channame

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
)

// ErrInvalid is wrapped by every error Check returns.
var ErrInvalid = errors.New("invalid channel name")

// Check reports whether the characters of name (the whole name, '#'
// included) are acceptable: valid UTF-8, none of the IRC separators
// (space, comma, colon, BEL, NUL, CR, LF), and only letters, marks,
// numbers, punctuation and symbols — no controls (Cc), format characters
// (Cf: zero-width characters, bidi controls such as U+202E), private-use,
// unassigned or noncharacter code points, spaces or line separators of
// any kind, variation selectors or other default-ignorable (invisible)
// characters. Length and the leading '#' are the caller's to check.
func Check(name string) error {
	for i, r := range name {
		if r < utf8.RuneSelf { // ASCII: the printable ones but ',' and ':'
			if r <= ' ' || r == 0x7f {
				return fmt.Errorf("%w: contains the control character or space U+%04X", ErrInvalid, r)
			}
			if r == ',' || r == ':' {
				return fmt.Errorf("%w: contains %q", ErrInvalid, r)
			}
			continue
		}
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(name[i:]); size <= 1 {
				return fmt.Errorf("%w: not valid UTF-8", ErrInvalid)
			}
		}
		switch {
		case unicode.Is(unicode.Bidi_Control, r):
			return fmt.Errorf("%w: contains the bidi control U+%04X", ErrInvalid, r)
		case unicode.Is(unicode.Variation_Selector, r),
			unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r),
			unicode.Is(unicode.Noncharacter_Code_Point, r):
			return fmt.Errorf("%w: contains the invisible character U+%04X", ErrInvalid, r)
		case unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S):
		case unicode.Is(unicode.Cf, r):
			return fmt.Errorf("%w: contains the format (invisible) character U+%04X", ErrInvalid, r)
		case unicode.Is(unicode.Cc, r):
			return fmt.Errorf("%w: contains the control character U+%04X", ErrInvalid, r)
		case unicode.In(r, unicode.Z):
			return fmt.Errorf("%w: contains the space U+%04X", ErrInvalid, r)
		default:
			return fmt.Errorf("%w: contains the unassigned or private-use code point U+%04X", ErrInvalid, r)
		}
	}
	return nil
}

// skeletons returns the TR39 skeletons of name as written and of its
// lower-case form, each lower-cased: the server compares channel names
// without case, and a look-alike may hide in either spelling ("#paypaI"
// with a capital I looks like "#paypal"; "#n0de" like "#node").
func skeletons(name string) [2]string {
	return [2]string{
		strings.ToLower(confusables.Skeleton(name)),
		strings.ToLower(confusables.Skeleton(strings.ToLower(name))),
	}
}

// Confusable reports whether two channel names look alike: they share a
// TR39 confusable skeleton (with case ignored as above). This includes
// mixed-script confusables (a Cyrillic "о" for a Latin "o") and
// single-script ones ("rn" for "m", "0" for "o"). Names that are the same
// channel (equal but for case) are confusable too; callers compare
// different channels.
func Confusable(a, b string) bool {
	ka, kb := skeletons(a), skeletons(b)
	for _, x := range ka {
		for _, y := range kb {
			if x == y {
				return true
			}
		}
	}
	return false
}
