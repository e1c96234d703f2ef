package client

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoSASL reports a server that does not offer the SASL mechanism the
// Config asks for.
var ErrNoSASL = errors.New("client: no SASL login")

// ErrLineTooLong reports a line to send that does not fit in 512 bytes.
var ErrLineTooLong = errors.New("client: line too long")

// ErrBadParam reports a parameter that cannot be sent: it contains CR, LF
// or NUL, or a middle parameter is empty, has a space or starts with ':'.
var ErrBadParam = errors.New("client: parameter cannot be sent")

// SASLError is a login the server refused: Code is its numeric (902
// ERR_NICKLOCKED, 904 ERR_SASLFAIL, 905 ERR_SASLTOOLONG, 906
// ERR_SASLABORTED, 907 ERR_SASLALREADY) and Text its reason.
type SASLError struct {
	Code string
	Text string
	// Mechs lists the mechanisms the server said it has (908), if it did.
	Mechs []string
}

func (e *SASLError) Error() string {
	s := fmt.Sprintf("SASL login refused: %s %s", e.Code, e.Text)
	if len(e.Mechs) > 0 {
		s += " (server offers " + strings.Join(e.Mechs, ",") + ")"
	}
	return s
}

// ServerError is anything else the server refused registration with: a
// numeric such as 432 ERR_ERRONEUSNICKNAME or 465, or "ERROR" when it
// closed the link.
type ServerError struct {
	Code string
	Text string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("server refused: %s %s", e.Code, e.Text)
}

// clip bounds a server-supplied string quoted in an error.
func clip(s string) string {
	const n = 300
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
