package sasl

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// linkTag opens every key-link message; the 0x00 after it is part of the
// message too. It differs from the login tag at its tenth byte, so no
// login message is a link message and no link message is a login message.
const linkTag = "THORCHAT-LINK/1"

// MaxAccountLen is the longest account name a link message can carry.
const MaxAccountLen = 255

// LinkMessage builds the message both keys sign to link a new key to an
// account (docs/sasl.md, "Linking a second key"):
//
//	L = "THORCHAT-LINK/1" ‖ 0x00 ‖ u8 len(host) ‖ host ‖ u16be port
//	    ‖ u8 len(account) ‖ account ‖ oldpub33 ‖ newpub33 ‖ nonce32
//
// ep is the endpoint the client dialed (as in M), account the account the
// keys are linked in, oldPub a key already linked to it, newPub the key
// being added and nonce the server's fresh nonce. It checks lengths only.
func LinkMessage(ep Endpoint, account string, oldPub, newPub, nonce []byte) ([]byte, error) {
	host, err := ep.canonicalHost()
	if err != nil {
		return nil, fmt.Errorf("build link message: %w", err)
	}
	if len(account) == 0 || len(account) > MaxAccountLen {
		return nil, fmt.Errorf("build link message: account length %d not in 1..%d: %w", len(account), MaxAccountLen, ErrMalformed)
	}
	if len(oldPub) != PubKeyLen || len(newPub) != PubKeyLen {
		return nil, fmt.Errorf("build link message: keys are %d and %d bytes, want %d: %w", len(oldPub), len(newPub), PubKeyLen, ErrMalformed)
	}
	if len(nonce) != NonceLen {
		return nil, fmt.Errorf("build link message: nonce is %d bytes, want %d: %w", len(nonce), NonceLen, ErrMalformed)
	}
	m := make([]byte, 0, len(linkTag)+2+len(host)+2+1+len(account)+2*PubKeyLen+NonceLen)
	m = append(m, linkTag...)
	m = append(m, 0x00, byte(len(host)))
	m = append(m, host...)
	m = binary.BigEndian.AppendUint16(m, ep.Port)
	m = append(m, byte(len(account)))
	m = append(m, account...)
	m = append(m, oldPub...)
	m = append(m, newPub...)
	m = append(m, nonce...)
	return m, nil
}

// LinkParts are the fields of a link message, as [ParseLinkMessage] splits
// it.
type LinkParts struct {
	Endpoint Endpoint
	Account  string
	OldKey   []byte // 33 bytes
	NewKey   []byte // 33 bytes
	Nonce    []byte // 32 bytes
}

// ParseLinkMessage splits a link message into its fields, the inverse of
// [LinkMessage]; a signer uses it to recognise what it is asked to sign.
// Errors wrap ErrMalformed; the slices in LinkParts alias m.
func ParseLinkMessage(m []byte) (LinkParts, error) {
	var p LinkParts
	rest, ok := bytes.CutPrefix(m, []byte(linkTag+"\x00"))
	if !ok {
		return p, fmt.Errorf("parse link message: not a %s message: %w", linkTag, ErrMalformed)
	}
	if len(rest) < 1 {
		return p, fmt.Errorf("parse link message: truncated: %w", ErrMalformed)
	}
	hl := int(rest[0])
	if len(rest) < 1+hl+2+1 {
		return p, fmt.Errorf("parse link message: truncated: %w", ErrMalformed)
	}
	host := string(rest[1 : 1+hl])
	ep := Endpoint{Host: host, Port: binary.BigEndian.Uint16(rest[1+hl:])}
	if canon, err := ep.canonicalHost(); err != nil || canon != host {
		return p, fmt.Errorf("parse link message: host is not in canonical form: %w", ErrMalformed)
	}
	rest = rest[1+hl+2:]
	al := int(rest[0])
	if al == 0 || len(rest) != 1+al+2*PubKeyLen+NonceLen {
		return p, fmt.Errorf("parse link message: %d bytes after the endpoint, want %d for a %d-byte account: %w",
			len(rest), 1+al+2*PubKeyLen+NonceLen, al, ErrMalformed)
	}
	p.Endpoint = ep
	p.Account = string(rest[1 : 1+al])
	rest = rest[1+al:]
	p.OldKey = rest[:PubKeyLen]
	p.NewKey = rest[PubKeyLen : 2*PubKeyLen]
	p.Nonce = rest[2*PubKeyLen:]
	return p, nil
}

// VerifyLink checks the two signatures of a key link: sigOld by the key
// already linked and sigNew by the new key, both over SHA-256(L) of
// [LinkMessage]. Errors name which signature failed and wrap ErrMalformed,
// ErrBadKey, ErrHighS or ErrBadSignature.
func VerifyLink(msg, sigOld, sigNew []byte) error {
	p, err := ParseLinkMessage(msg)
	if err != nil {
		return err
	}
	if bytes.Equal(p.OldKey, p.NewKey) {
		return fmt.Errorf("verify link: the new key is the old key: %w", ErrMalformed)
	}
	if err := Verify(p.OldKey, msg, sigOld); err != nil {
		return fmt.Errorf("old key's signature: %w", err)
	}
	if err := Verify(p.NewKey, msg, sigNew); err != nil {
		return fmt.Errorf("new key's signature: %w", err)
	}
	return nil
}
