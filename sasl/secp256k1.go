package sasl

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// MechSecp256k1 is the SASL mechanism name of the secp256k1 challenge.
const MechSecp256k1 = "THORCHAT-SECP256K1"

// Wire sizes and constants of THORCHAT-SECP256K1.
const (
	// Version is the first byte of the client-first and server-challenge
	// messages.
	Version byte = 0x01
	// PubKeyLen is the length of a compressed secp256k1 public key.
	PubKeyLen = 33
	// NonceLen is the length of the client and server nonces.
	NonceLen = 32
	// SigLen is the length of a signature: r ‖ s, 32 bytes each, big-endian.
	SigLen = 64
	// ClientFirstLen is the length of 0x01 ‖ pubkey33 ‖ cnonce32.
	ClientFirstLen = 1 + PubKeyLen + NonceLen
	// ChallengeLen is the length of 0x01 ‖ snonce32.
	ChallengeLen = 1 + NonceLen
	// MaxHostLen is the longest host name M can carry.
	MaxHostLen = 255
)

// domainTag opens every signed message; the 0x00 after it is part of M too.
const domainTag = "THORCHAT-SECP256K1/1"

// Endpoint is what the client dialed: the host name (onion name, or the
// host exactly as the listener is configured) and port. Both sides must
// agree on it byte for byte; the host is lower-cased (ASCII) before use.
type Endpoint struct {
	Host string
	Port uint16
}

// canonicalHost returns the lower-cased host or an ErrMalformed error. A host
// is 1..255 bytes of printable ASCII without spaces.
func (ep Endpoint) canonicalHost() (string, error) {
	h := ep.Host
	if len(h) == 0 || len(h) > MaxHostLen {
		return "", fmt.Errorf("endpoint host length %d not in 1..%d: %w", len(h), MaxHostLen, ErrMalformed)
	}
	b := []byte(h)
	for i, c := range b {
		switch {
		case c < 0x21 || c > 0x7e:
			return "", fmt.Errorf("endpoint host byte %d is not printable ASCII: %w", i, ErrMalformed)
		case c >= 'A' && c <= 'Z':
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b), nil
}

// Validate reports whether the endpoint can be bound into M.
func (ep Endpoint) Validate() error {
	_, err := ep.canonicalHost()
	return err
}

// Message builds M = "THORCHAT-SECP256K1/1" ‖ 0x00 ‖ u8 len(host) ‖ host ‖
// u16be port ‖ pubkey33 ‖ cnonce32 ‖ snonce32. It checks lengths only; the
// key itself is validated by [Verify].
func Message(ep Endpoint, pub33, cnonce, snonce []byte) ([]byte, error) {
	host, err := ep.canonicalHost()
	if err != nil {
		return nil, fmt.Errorf("build message: %w", err)
	}
	if len(pub33) != PubKeyLen {
		return nil, fmt.Errorf("build message: public key is %d bytes, want %d: %w", len(pub33), PubKeyLen, ErrMalformed)
	}
	if len(cnonce) != NonceLen || len(snonce) != NonceLen {
		return nil, fmt.Errorf("build message: nonces are %d and %d bytes, want %d: %w", len(cnonce), len(snonce), NonceLen, ErrMalformed)
	}
	m := make([]byte, 0, len(domainTag)+1+1+len(host)+2+PubKeyLen+2*NonceLen)
	m = append(m, domainTag...)
	m = append(m, 0x00, byte(len(host)))
	m = append(m, host...)
	m = binary.BigEndian.AppendUint16(m, ep.Port)
	m = append(m, pub33...)
	m = append(m, cnonce...)
	m = append(m, snonce...)
	return m, nil
}

// Parts are the fields of a message M, as [ParseMessage] splits it.
type Parts struct {
	Endpoint Endpoint
	PubKey   []byte // 33 bytes
	CNonce   []byte // 32 bytes
	SNonce   []byte // 32 bytes
}

// ParseMessage splits M into its fields, the inverse of [Message]: it
// checks the domain tag, that the host is in the canonical (lower-case,
// printable ASCII) form and that the lengths are exact. A signer uses it
// to sign nothing but THORCHAT-SECP256K1 messages. Errors wrap
// ErrMalformed; the slices in Parts alias m.
func ParseMessage(m []byte) (Parts, error) {
	var p Parts
	rest, ok := bytes.CutPrefix(m, []byte(domainTag+"\x00"))
	if !ok {
		return p, fmt.Errorf("parse message: not a %s message: %w", domainTag, ErrMalformed)
	}
	if len(rest) < 1 {
		return p, fmt.Errorf("parse message: truncated: %w", ErrMalformed)
	}
	hl := int(rest[0])
	if len(rest) != 1+hl+2+PubKeyLen+2*NonceLen {
		return p, fmt.Errorf("parse message: %d bytes after the tag, want %d for a %d-byte host: %w",
			len(rest), 1+hl+2+PubKeyLen+2*NonceLen, hl, ErrMalformed)
	}
	host := string(rest[1 : 1+hl])
	ep := Endpoint{Host: host, Port: binary.BigEndian.Uint16(rest[1+hl:])}
	if canon, err := ep.canonicalHost(); err != nil || canon != host {
		return p, fmt.Errorf("parse message: host is not in canonical form: %w", ErrMalformed)
	}
	rest = rest[1+hl+2:]
	p.Endpoint = ep
	p.PubKey = rest[:PubKeyLen]
	p.CNonce = rest[PubKeyLen : PubKeyLen+NonceLen]
	p.SNonce = rest[PubKeyLen+NonceLen:]
	return p, nil
}

// Sign signs SHA-256(msg) with priv (RFC 6979, low-S) and returns r ‖ s.
func Sign(priv *secp256k1.PrivateKey, msg []byte) [SigLen]byte {
	h := sha256.Sum256(msg)
	sig := ecdsa.Sign(priv, h[:])
	var out [SigLen]byte
	r, s := sig.R(), sig.S()
	r.PutBytesUnchecked(out[:32])
	s.PutBytesUnchecked(out[32:])
	return out
}

// ParsePubKey parses a 33-byte compressed secp256k1 key (0x02/0x03 prefix,
// point on the curve). Errors wrap ErrMalformed (length) or ErrBadKey.
func ParsePubKey(pub33 []byte) (*secp256k1.PublicKey, error) {
	if len(pub33) != PubKeyLen {
		return nil, fmt.Errorf("public key is %d bytes, want %d: %w", len(pub33), PubKeyLen, ErrMalformed)
	}
	if pub33[0] != secp256k1.PubKeyFormatCompressedEven && pub33[0] != secp256k1.PubKeyFormatCompressedOdd {
		return nil, fmt.Errorf("public key prefix 0x%02x is not compressed: %w", pub33[0], ErrBadKey)
	}
	pk, err := secp256k1.ParsePubKey(pub33)
	if err != nil {
		return nil, fmt.Errorf("public key: %w: %w", ErrBadKey, err)
	}
	return pk, nil
}

// parseSig splits r ‖ s and enforces 1 ≤ r, s ≤ n-1 and s ≤ n/2.
func parseSig(sig []byte) (*ecdsa.Signature, error) {
	if len(sig) != SigLen {
		return nil, fmt.Errorf("signature is %d bytes, want %d: %w", len(sig), SigLen, ErrMalformed)
	}
	var rb, sb [32]byte
	copy(rb[:], sig[:32])
	copy(sb[:], sig[32:])
	var r, s secp256k1.ModNScalar
	if r.SetBytes(&rb) != 0 || r.IsZero() {
		return nil, fmt.Errorf("signature r out of range: %w", ErrBadSignature)
	}
	if s.SetBytes(&sb) != 0 || s.IsZero() {
		return nil, fmt.Errorf("signature s out of range: %w", ErrBadSignature)
	}
	if s.IsOverHalfOrder() {
		return nil, fmt.Errorf("signature s above n/2: %w", ErrHighS)
	}
	return ecdsa.NewSignature(&r, &s), nil
}

// Verify checks a 64-byte r ‖ s signature over SHA-256(msg) by the
// compressed key pub33. Errors wrap ErrMalformed, ErrBadKey, ErrHighS or
// ErrBadSignature.
func Verify(pub33, msg, sig []byte) error {
	pk, err := ParsePubKey(pub33)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return verifyParsed(pk, msg, sig)
}

func verifyParsed(pk *secp256k1.PublicKey, msg, sig []byte) error {
	s, err := parseSig(sig)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	h := sha256.Sum256(msg)
	if !s.Verify(h[:], pk) {
		return fmt.Errorf("verify: signature does not match: %w", ErrBadSignature)
	}
	return nil
}
