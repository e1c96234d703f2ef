package identity

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/decred/dcrd/bech32"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // RIPEMD-160 is what the address format uses.
)

// Default human-readable parts of THORChain mainnet.
const (
	DefaultAccountHRP = "thor"
	DefaultPubKeyHRP  = "thorpub"
)

// PubKeyLen is the length of a compressed secp256k1 public key.
const PubKeyLen = 33

// aminoSecp256k1Prefix is the amino registration prefix of a
// tendermint/PubKeySecp256k1, which bech32 pubkeys ("thorpub1…") carry
// before the 33-byte key.
var aminoSecp256k1Prefix = []byte{0xeb, 0x5a, 0xe9, 0x87, 0x21}

// Sentinel errors, wrapped by everything this package returns.
var (
	// ErrBadKey reports a public key that is not a compressed secp256k1 point.
	ErrBadKey = errors.New("identity: bad public key")
	// ErrBadEncoding reports a malformed bech32 string, hex key or HRP.
	ErrBadEncoding = errors.New("identity: bad encoding")
	// ErrWrongHRP reports a bech32 string with an unexpected prefix.
	ErrWrongHRP = errors.New("identity: wrong human-readable part")
)

// checkPub validates a compressed secp256k1 key.
func checkPub(pub33 []byte) error {
	if len(pub33) != PubKeyLen || (pub33[0] != 0x02 && pub33[0] != 0x03) {
		return fmt.Errorf("public key is not a 33-byte compressed key: %w", ErrBadKey)
	}
	if _, err := secp256k1.ParsePubKey(pub33); err != nil {
		return fmt.Errorf("public key: %w: %w", ErrBadKey, err)
	}
	return nil
}

// checkHRP validates a bech32 human-readable part: 1..83 lower-case
// printable ASCII characters.
func checkHRP(hrp string) error {
	if len(hrp) == 0 || len(hrp) > 83 {
		return fmt.Errorf("hrp length %d not in 1..83: %w", len(hrp), ErrBadEncoding)
	}
	for i := 0; i < len(hrp); i++ {
		if c := hrp[i]; c < 33 || c > 126 || (c >= 'A' && c <= 'Z') {
			return fmt.Errorf("hrp %q: byte %d not allowed: %w", hrp, i, ErrBadEncoding)
		}
	}
	return nil
}

// hash160 is RIPEMD160(SHA256(b)).
func hash160(b []byte) []byte {
	s := sha256.Sum256(b)
	r := ripemd160.New()
	r.Write(s[:])
	return r.Sum(nil)
}

// AccountAddress returns bech32(hrp, RIPEMD160(SHA256(pub33))), the account
// ("thor1…") of a compressed secp256k1 key.
func AccountAddress(hrp string, pub33 []byte) (string, error) {
	if err := checkHRP(hrp); err != nil {
		return "", fmt.Errorf("account address: %w", err)
	}
	if err := checkPub(pub33); err != nil {
		return "", fmt.Errorf("account address: %w", err)
	}
	s, err := bech32.EncodeFromBase256(hrp, hash160(pub33))
	if err != nil {
		return "", fmt.Errorf("account address: %w: %w", ErrBadEncoding, err)
	}
	return s, nil
}

// AccountAddressOf is AccountAddress for a key already parsed (and so
// known to be on the curve), such as the one a login just verified: it
// skips the second decompression that checking pub33 again would cost.
func AccountAddressOf(hrp string, pk *secp256k1.PublicKey) (string, error) {
	if pk == nil {
		return "", fmt.Errorf("account address: no key: %w", ErrBadKey)
	}
	if err := checkHRP(hrp); err != nil {
		return "", fmt.Errorf("account address: %w", err)
	}
	s, err := bech32.EncodeFromBase256(hrp, hash160(pk.SerializeCompressed()))
	if err != nil {
		return "", fmt.Errorf("account address: %w: %w", ErrBadEncoding, err)
	}
	return s, nil
}

// ParseAccount validates a bech32 account address with the given hrp and a
// 20-byte payload, and returns it in lower case.
func ParseAccount(hrp, addr string) (string, error) {
	got, data, err := bech32.DecodeToBase256(addr)
	if err != nil {
		return "", fmt.Errorf("account %q: %w: %w", clip(addr), ErrBadEncoding, err)
	}
	if got != hrp {
		return "", fmt.Errorf("account %q: hrp %q, want %q: %w", clip(addr), got, hrp, ErrWrongHRP)
	}
	if len(data) != 20 {
		return "", fmt.Errorf("account %q: payload is %d bytes, want 20: %w", clip(addr), len(data), ErrBadEncoding)
	}
	return strings.ToLower(addr), nil
}

// EncodePubKey returns the bech32 pubkey ("thorpub1…") of a compressed key:
// bech32(hrp, eb5ae98721 ‖ pub33). It returns "" if hrp or the key is invalid.
func EncodePubKey(hrp string, pub33 []byte) string {
	if checkHRP(hrp) != nil || checkPub(pub33) != nil {
		return ""
	}
	data := make([]byte, 0, len(aminoSecp256k1Prefix)+PubKeyLen)
	data = append(data, aminoSecp256k1Prefix...)
	data = append(data, pub33...)
	s, err := bech32.EncodeFromBase256(hrp, data)
	if err != nil {
		return ""
	}
	return s
}

// DecodePubKey parses a bech32 secp256k1 pubkey ("thorpub1…") and returns
// its hrp and the 33-byte compressed key.
func DecodePubKey(s string) (hrp string, pub33 []byte, err error) {
	hrp, data, err := bech32.DecodeToBase256(s)
	if err != nil {
		return "", nil, fmt.Errorf("pubkey %q: %w: %w", clip(s), ErrBadEncoding, err)
	}
	if len(data) != len(aminoSecp256k1Prefix)+PubKeyLen || !bytes.HasPrefix(data, aminoSecp256k1Prefix) {
		return "", nil, fmt.Errorf("pubkey %q: not an amino secp256k1 key: %w", clip(s), ErrBadEncoding)
	}
	pub33 = data[len(aminoSecp256k1Prefix):]
	if err := checkPub(pub33); err != nil {
		return "", nil, fmt.Errorf("pubkey %q: %w", clip(s), err)
	}
	return hrp, pub33, nil
}

// clip bounds hostile strings quoted in error messages.
func clip(s string) string {
	const n = 100
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
