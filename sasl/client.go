package sasl

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Signer holds a secp256k1 key somewhere (in memory, a -sign-cmd
// subprocess, an HSM). PublicKey returns the 33-byte compressed key;
// SignMessage signs SHA-256(msg) and returns r ‖ s with s ≤ n/2.
type Signer interface {
	PublicKey() []byte
	SignMessage(msg []byte) ([SigLen]byte, error)
}

type keySigner struct {
	priv *secp256k1.PrivateKey
	pub  []byte
}

// NewKeySigner returns a Signer over an in-memory private key.
func NewKeySigner(priv *secp256k1.PrivateKey) Signer {
	return &keySigner{priv: priv, pub: priv.PubKey().SerializeCompressed()}
}

func (k *keySigner) PublicKey() []byte { return append([]byte(nil), k.pub...) }

func (k *keySigner) SignMessage(msg []byte) ([SigLen]byte, error) {
	return Sign(k.priv, msg), nil
}

type clientState uint8

const (
	cliStart clientState = iota
	cliWantChallenge
	cliDone
	cliFailed
)

// Secp256k1Client is the client half of one THORCHAT-SECP256K1 attempt: a
// pure state machine over decoded server challenges. Not safe for
// concurrent use; any error ends the attempt.
type Secp256k1Client struct {
	ep     Endpoint
	signer Signer
	rnd    io.Reader
	state  clientState
	pub    []byte
	cnonce [NonceLen]byte
}

// NewSecp256k1Client starts an attempt against the endpoint the client
// dialed. rnd supplies the client nonce; nil means crypto/rand.
func NewSecp256k1Client(ep Endpoint, s Signer, rnd io.Reader) *Secp256k1Client {
	if rnd == nil {
		rnd = rand.Reader
	}
	return &Secp256k1Client{ep: ep, signer: s, rnd: rnd}
}

// Next returns the next response to send. The first call takes nil (or the
// empty payload of the server's "AUTHENTICATE +") and returns the
// client-first message; the second takes the server challenge and returns
// the signature. The signer's output is checked before it is sent.
func (c *Secp256k1Client) Next(challenge []byte) (resp []byte, err error) {
	switch c.state {
	case cliStart:
		resp, err = c.first(challenge)
	case cliWantChallenge:
		resp, err = c.second(challenge)
	default:
		return nil, fmt.Errorf("%s client: Next after the attempt ended: %w", MechSecp256k1, ErrState)
	}
	if err != nil {
		c.state = cliFailed
		return nil, err
	}
	c.state++
	return resp, nil
}

func (c *Secp256k1Client) first(challenge []byte) ([]byte, error) {
	if len(challenge) != 0 {
		return nil, fmt.Errorf("%s client: unexpected %d-byte initial challenge: %w", MechSecp256k1, len(challenge), ErrMalformed)
	}
	if err := c.ep.Validate(); err != nil {
		return nil, fmt.Errorf("%s client: %w", MechSecp256k1, err)
	}
	pub := c.signer.PublicKey()
	if _, err := ParsePubKey(pub); err != nil {
		return nil, fmt.Errorf("%s client: signer key: %w", MechSecp256k1, err)
	}
	if _, err := io.ReadFull(c.rnd, c.cnonce[:]); err != nil {
		return nil, fmt.Errorf("%s client: client nonce: %w", MechSecp256k1, err)
	}
	c.pub = append([]byte(nil), pub...)
	out := make([]byte, 0, ClientFirstLen)
	out = append(out, Version)
	out = append(out, c.pub...)
	out = append(out, c.cnonce[:]...)
	return out, nil
}

func (c *Secp256k1Client) second(challenge []byte) ([]byte, error) {
	if len(challenge) != ChallengeLen || challenge[0] != Version {
		return nil, fmt.Errorf("%s client: server challenge is not 0x01 ‖ snonce32: %w", MechSecp256k1, ErrMalformed)
	}
	msg, err := Message(c.ep, c.pub, c.cnonce[:], challenge[1:])
	if err != nil {
		return nil, fmt.Errorf("%s client: %w", MechSecp256k1, err)
	}
	sig, err := c.signer.SignMessage(msg)
	if err != nil {
		return nil, fmt.Errorf("%s client: %w: %w", MechSecp256k1, ErrSigner, err)
	}
	if err := Verify(c.pub, msg, sig[:]); err != nil {
		return nil, fmt.Errorf("%s client: signer output rejected: %w: %w", MechSecp256k1, ErrSigner, err)
	}
	return sig[:], nil
}

// Hash returns SHA-256(msg), the digest a Signer signs. It helps external
// signers (a -sign-cmd) that take a digest rather than M.
func Hash(msg []byte) [32]byte { return sha256.Sum256(msg) }
