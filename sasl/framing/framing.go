// Package framing is the AUTHENTICATE framing of IRCv3 SASL, shared by the
// server (ircd) and the clients: payloads travel as standard base64 in
// 400-byte chunks, a chunk of exactly 400 bytes is followed by more (or by
// "+"), and an empty payload is "+". It has no cryptography, so the IRC
// state machine can use it without depending on the mechanisms.
package framing

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Errors of Assembler.Feed; package sasl re-exports them under the same
// names.
var (
	// ErrChunkTooLong reports an AUTHENTICATE parameter over 400 bytes
	// (ERR_SASLTOOLONG, 905).
	ErrChunkTooLong = errors.New("sasl: AUTHENTICATE chunk over 400 bytes")
	// ErrBadBase64 reports an AUTHENTICATE payload that is not valid base64.
	ErrBadBase64 = errors.New("sasl: malformed base64")
	// ErrPayloadTooLong reports an assembled payload over the Assembler's Max.
	ErrPayloadTooLong = errors.New("sasl: payload too long")
	// ErrAborted reports the client's "*" abort (ERR_SASLABORTED, 906).
	ErrAborted = errors.New("sasl: aborted by client")
)

// ChunkLen is the longest AUTHENTICATE parameter (IRCv3 SASL 3.1).
const ChunkLen = 400

// DefaultAssemblerMax is the payload bound an Assembler with Max == 0 uses.
const DefaultAssemblerMax = 4096

var b64 = base64.StdEncoding.Strict()

// EncodeAuthenticate splits payload into AUTHENTICATE parameters: standard
// base64 in 400-byte chunks, followed by "+" when the last chunk is exactly
// 400 bytes; an empty payload is the single parameter "+".
func EncodeAuthenticate(payload []byte) []string {
	if len(payload) == 0 {
		return []string{"+"}
	}
	enc := b64.EncodeToString(payload)
	out := make([]string, 0, len(enc)/ChunkLen+2)
	for len(enc) > ChunkLen {
		out = append(out, enc[:ChunkLen])
		enc = enc[ChunkLen:]
	}
	out = append(out, enc)
	if len(enc) == ChunkLen {
		out = append(out, "+")
	}
	return out
}

// Assembler reassembles AUTHENTICATE parameters into one payload. The zero
// value is ready to use; Max bounds the decoded payload in bytes (0 means
// DefaultAssemblerMax). After a complete payload or any error the
// Assembler is empty again and can take the next payload.
type Assembler struct {
	// Max is the largest decoded payload accepted, in bytes.
	Max int
	buf strings.Builder
}

func (a *Assembler) max() int {
	if a.Max <= 0 {
		return DefaultAssemblerMax
	}
	return a.Max
}

// Reset drops any partial payload.
func (a *Assembler) Reset() { a.buf = strings.Builder{} }

// Pending reports whether a partial payload is buffered.
func (a *Assembler) Pending() bool { return a.buf.Len() > 0 }

// Feed takes one AUTHENTICATE parameter. It returns complete=true with the
// decoded payload (possibly empty) when the parameter ends a payload.
// Errors wrap ErrChunkTooLong (parameter over 400 bytes), ErrBadBase64,
// ErrPayloadTooLong (over Max) or ErrAborted ("*").
func (a *Assembler) Feed(param string) (payload []byte, complete bool, err error) {
	switch {
	case len(param) > ChunkLen:
		a.Reset()
		return nil, false, fmt.Errorf("AUTHENTICATE parameter of %d bytes: %w", len(param), ErrChunkTooLong)
	case param == "*":
		a.Reset()
		return nil, false, fmt.Errorf("AUTHENTICATE *: %w", ErrAborted)
	case param == "+":
		return a.finish()
	case param == "":
		a.Reset()
		return nil, false, fmt.Errorf("empty AUTHENTICATE parameter: %w", ErrBadBase64)
	}
	if a.buf.Len()+len(param) > b64.EncodedLen(a.max()) {
		a.Reset()
		return nil, false, fmt.Errorf("AUTHENTICATE payload over %d bytes: %w", a.max(), ErrPayloadTooLong)
	}
	a.buf.WriteString(param)
	if len(param) == ChunkLen {
		return nil, false, nil
	}
	return a.finish()
}

func (a *Assembler) finish() ([]byte, bool, error) {
	enc := a.buf.String()
	a.Reset()
	if enc == "" {
		return []byte{}, true, nil
	}
	out, err := b64.DecodeString(enc)
	if err != nil || strings.ContainsAny(enc, "\r\n") {
		return nil, false, fmt.Errorf("AUTHENTICATE payload: %w", ErrBadBase64)
	}
	if len(out) > a.max() {
		return nil, false, fmt.Errorf("AUTHENTICATE payload of %d bytes over %d: %w", len(out), a.max(), ErrPayloadTooLong)
	}
	return out, true, nil
}
