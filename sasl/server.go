package sasl

import (
	"crypto/rand"
	"fmt"
	"io"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

type serverState uint8

const (
	srvWantClientFirst serverState = iota
	srvWantSignature
	srvDone
	srvFailed
)

// Secp256k1Server is the server half of one THORCHAT-SECP256K1 attempt. It
// is a state machine over decoded client responses and is not safe for
// concurrent use. Any error ends the attempt: later calls return ErrState.
type Secp256k1Server struct {
	ep    Endpoint
	rnd   io.Reader
	parse KeyParser
	state serverState
	pub   []byte
	pk    *secp256k1.PublicKey
	msg   []byte
}

// NewSecp256k1Server starts an attempt for a listener reached as ep. rnd
// supplies the server nonce; nil means crypto/rand.
func NewSecp256k1Server(ep Endpoint, rnd io.Reader) *Secp256k1Server {
	if rnd == nil {
		rnd = rand.Reader
	}
	return &Secp256k1Server{ep: ep, rnd: rnd}
}

// KeyParser turns a client's 33-byte compressed key into a point, as
// [ParsePubKey] does (and with its errors). A server can use one that
// remembers the keys of recent logins, so that a returning key is not
// decompressed again.
type KeyParser func(pub33 []byte) (*secp256k1.PublicKey, error)

// SetKeyParser replaces [ParsePubKey] for the client-first message; call it
// before the first Next. nil restores ParsePubKey.
func (s *Secp256k1Server) SetKeyParser(p KeyParser) { s.parse = p }

// Next consumes the next decoded client response (the first call gets the
// client-first message) and returns the next challenge to send. done is true
// once a valid signature was received; challenge is then nil.
func (s *Secp256k1Server) Next(resp []byte) (challenge []byte, done bool, err error) {
	switch s.state {
	case srvWantClientFirst:
		challenge, err = s.clientFirst(resp)
		if err != nil {
			s.fail()
			return nil, false, err
		}
		s.state = srvWantSignature
		return challenge, false, nil
	case srvWantSignature:
		if err := verifyParsed(s.pk, s.msg, resp); err != nil {
			s.fail()
			return nil, false, fmt.Errorf("%s: %w", MechSecp256k1, err)
		}
		s.state = srvDone
		s.msg = nil
		return nil, true, nil
	default:
		return nil, false, fmt.Errorf("%s: Next after the attempt ended: %w", MechSecp256k1, ErrState)
	}
}

func (s *Secp256k1Server) clientFirst(resp []byte) ([]byte, error) {
	if len(resp) != ClientFirstLen {
		return nil, fmt.Errorf("%s: client-first is %d bytes, want %d: %w", MechSecp256k1, len(resp), ClientFirstLen, ErrMalformed)
	}
	if resp[0] != Version {
		return nil, fmt.Errorf("%s: client-first version 0x%02x, want 0x%02x: %w", MechSecp256k1, resp[0], Version, ErrMalformed)
	}
	pub := resp[1 : 1+PubKeyLen]
	cnonce := resp[1+PubKeyLen:]
	parse := s.parse
	if parse == nil {
		parse = ParsePubKey
	}
	pk, err := parse(pub)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", MechSecp256k1, err)
	}
	var snonce [NonceLen]byte
	if _, err := io.ReadFull(s.rnd, snonce[:]); err != nil {
		// Not the client's fault; the attempt still cannot go on.
		return nil, fmt.Errorf("%s: server nonce: %w", MechSecp256k1, err)
	}
	msg, err := Message(s.ep, pub, cnonce, snonce[:])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", MechSecp256k1, err)
	}
	s.pub = append([]byte(nil), pub...)
	s.pk = pk
	s.msg = msg
	ch := make([]byte, 0, ChallengeLen)
	ch = append(ch, Version)
	ch = append(ch, snonce[:]...)
	return ch, nil
}

func (s *Secp256k1Server) fail() {
	s.state = srvFailed
	s.pub, s.pk, s.msg = nil, nil, nil
}

// WantsSignature reports whether the next response is the signature: the
// expensive step, which a server may want to budget.
func (s *Secp256k1Server) WantsSignature() bool { return s.state == srvWantSignature }

// Done reports whether the attempt ended with a verified signature.
func (s *Secp256k1Server) Done() bool { return s.state == srvDone }

// Key returns the verified key, parsed, once Next has returned done, and
// nil before that or after a failure. The caller must not modify it.
func (s *Secp256k1Server) Key() *secp256k1.PublicKey {
	if s.state != srvDone {
		return nil
	}
	return s.pk
}

// PublicKey returns a copy of the verified compressed key once Next has
// returned done, and nil before that or after a failure.
func (s *Secp256k1Server) PublicKey() []byte {
	if s.state != srvDone {
		return nil
	}
	return append([]byte(nil), s.pub...)
}
