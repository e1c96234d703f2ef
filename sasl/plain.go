package sasl

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// MechPlain is the SASL PLAIN mechanism name (RFC 4616).
const MechPlain = "PLAIN"

// MaxPlainField is the longest authzid, authcid or passwd accepted, in bytes
// (RFC 4616 allows 255 octets each).
const MaxPlainField = 255

// ParsePlain splits a PLAIN message [authzid] NUL authcid NUL passwd. It
// requires exactly two NULs, a non-empty authcid and passwd, valid UTF-8 and
// fields of at most MaxPlainField bytes. Errors wrap ErrMalformed.
func ParsePlain(b []byte) (authzid, authcid, passwd string, err error) {
	if len(b) > 3*MaxPlainField+2 {
		return "", "", "", fmt.Errorf("PLAIN message of %d bytes: %w", len(b), ErrMalformed)
	}
	parts := bytes.Split(b, []byte{0})
	if len(parts) != 3 {
		return "", "", "", fmt.Errorf("PLAIN message has %d NUL separators, want 2: %w", len(parts)-1, ErrMalformed)
	}
	names := [3]string{"authzid", "authcid", "passwd"}
	for i, p := range parts {
		if len(p) > MaxPlainField {
			return "", "", "", fmt.Errorf("PLAIN %s of %d bytes over %d: %w", names[i], len(p), MaxPlainField, ErrMalformed)
		}
		if !utf8.Valid(p) {
			return "", "", "", fmt.Errorf("PLAIN %s is not UTF-8: %w", names[i], ErrMalformed)
		}
	}
	if len(parts[1]) == 0 {
		return "", "", "", fmt.Errorf("PLAIN authcid is empty: %w", ErrMalformed)
	}
	if len(parts[2]) == 0 {
		return "", "", "", fmt.Errorf("PLAIN passwd is empty: %w", ErrMalformed)
	}
	return string(parts[0]), string(parts[1]), string(parts[2]), nil
}

// EncodePlain builds authzid NUL authcid NUL passwd. It does not validate;
// ParsePlain on the result reports what a server would refuse.
func EncodePlain(authzid, authcid, passwd string) []byte {
	out := make([]byte, 0, len(authzid)+len(authcid)+len(passwd)+2)
	out = append(out, authzid...)
	out = append(out, 0)
	out = append(out, authcid...)
	out = append(out, 0)
	out = append(out, passwd...)
	return out
}
