package client

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/thorchat/thorchat/sasl"
)

// maxSignInput bounds what a signer reads: M in hex is at most 752
// characters and a key-link message at most 1256 (255-byte host and
// account) plus a newline.
const maxSignInput = 2048

// ErrSignRefused is returned by [ServeSign] for a request it must not
// sign: anything but a THORCHAT-SECP256K1 message for this key (and, when
// the signer is limited to some hosts, for one of them).
var ErrSignRefused = errors.New("sign request refused")

// SignPolicy limits what [ServeSign] signs.
type SignPolicy struct {
	// Hosts, when not empty, are the only hosts (onion names, as M carries
	// them: lower case) the signer signs logins for.
	Hosts []string
}

// ServeSign is the signer half of the -sign-cmd contract (package doc) for
// a key this process holds: op is the value of THORCHAT_SIGN. For
// "pubkey" it writes the compressed public key in hex; for "sign" it reads
// M in hex from in and writes r ‖ s in hex. It signs only well-formed
// THORCHAT-SECP256K1 messages that name its own key (so it is never an
// oracle for anything else the key signs), or THORCHAT-LINK/1 key-link
// messages that name its key as the old or the new one, and, with
// policy.Hosts, only for those hosts. A refusal wraps ErrSignRefused.
func ServeSign(op string, in io.Reader, out io.Writer, priv *secp256k1.PrivateKey, policy SignPolicy) error {
	pub := priv.PubKey().SerializeCompressed()
	switch op {
	case "pubkey":
		_, err := fmt.Fprintf(out, "%x\n", pub)
		return err
	case "sign":
	default:
		return fmt.Errorf("%s=%q: want pubkey or sign", EnvSign, op)
	}
	raw, err := io.ReadAll(io.LimitReader(in, maxSignInput+1))
	if err != nil {
		return fmt.Errorf("read the message: %w", err)
	}
	if len(raw) > maxSignInput {
		return fmt.Errorf("the message is longer than %d bytes: %w", maxSignInput, ErrSignRefused)
	}
	m, err := hex.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
	if err != nil {
		return fmt.Errorf("the message is not hex: %w", ErrSignRefused)
	}
	host, err := signable(m, pub)
	if err != nil {
		return err
	}
	if len(policy.Hosts) > 0 && !slices.Contains(policy.Hosts, host) {
		return fmt.Errorf("host %q is not one this signer signs for: %w", host, ErrSignRefused)
	}
	sig := sasl.Sign(priv, m)
	_, err = fmt.Fprintf(out, "%x\n", sig)
	return err
}

// signable returns the host m is bound to when m is a message this
// signer's key pub may sign: a THORCHAT-SECP256K1 login message naming
// pub, or a THORCHAT-LINK/1 message naming pub as one of its two keys.
func signable(m, pub []byte) (string, error) {
	if p, err := sasl.ParseMessage(m); err == nil {
		if !bytes.Equal(p.PubKey, pub) {
			return "", fmt.Errorf("the message names another key: %w", ErrSignRefused)
		}
		return p.Endpoint.Host, nil
	}
	lp, err := sasl.ParseLinkMessage(m)
	if err != nil {
		return "", fmt.Errorf("%w: neither a login nor a key-link message: %w", ErrSignRefused, err)
	}
	if !bytes.Equal(lp.OldKey, pub) && !bytes.Equal(lp.NewKey, pub) {
		return "", fmt.Errorf("the key-link message names other keys: %w", ErrSignRefused)
	}
	return lp.Endpoint.Host, nil
}
