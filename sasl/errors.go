package sasl

import (
	"errors"

	"github.com/thorchat/thorchat/sasl/framing"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// these, so callers can map them to IRC numerics with errors.Is.
var (
	// ErrMalformed reports input of the wrong shape: a wrong length, a wrong
	// version/prefix byte, an invalid endpoint, a bad PLAIN message.
	ErrMalformed = errors.New("sasl: malformed input")
	// ErrBadKey reports a public key that is not a compressed secp256k1 point.
	ErrBadKey = errors.New("sasl: bad public key")
	// ErrHighS reports a signature whose s is greater than n/2.
	ErrHighS = errors.New("sasl: non-canonical signature (high S)")
	// ErrBadSignature reports a signature that does not verify or whose r or s
	// is outside [1, n-1].
	ErrBadSignature = errors.New("sasl: bad signature")
	// ErrState reports a call on a state machine that has already finished,
	// successfully or not.
	ErrState = errors.New("sasl: wrong state")

	// ErrChunkTooLong reports an AUTHENTICATE parameter over 400 bytes
	// (ERR_SASLTOOLONG, 905).
	ErrChunkTooLong = framing.ErrChunkTooLong
	// ErrBadBase64 reports an AUTHENTICATE payload that is not valid base64.
	ErrBadBase64 = framing.ErrBadBase64
	// ErrPayloadTooLong reports an assembled payload over the Assembler's Max.
	ErrPayloadTooLong = framing.ErrPayloadTooLong
	// ErrAborted reports the client's "*" abort (ERR_SASLABORTED, 906).
	ErrAborted = framing.ErrAborted
	// ErrSigner reports a failure of the client's Signer (not the server's
	// fault, not the peer's either).
	ErrSigner = errors.New("sasl: signer failed")
)
