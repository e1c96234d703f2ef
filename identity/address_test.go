package identity

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/decred/dcrd/bech32"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

const (
	vecPub     = "02d2e670a19c6d753d1a6d8b20bd045df8a08fb162cf508956c31268c6d81ffdab"
	vecAccount = "thor1akns7jvfltaxx2dmkrgakxnktqnvkc9wqlg5a0"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// offCurveKey returns a 33-byte 0x02-prefixed key whose x has no point.
func offCurveKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, 33)
	k[0] = 0x02
	for x := byte(1); x < 255; x++ {
		k[32] = x
		if _, err := secp256k1.ParsePubKey(k); err != nil {
			return k
		}
	}
	t.Fatal("no off-curve x found")
	return nil
}

func TestAccountAddressVector(t *testing.T) {
	got, err := AccountAddress(DefaultAccountHRP, mustHex(t, vecPub))
	if err != nil || got != vecAccount {
		t.Fatalf("AccountAddress = %q, %v; want %s", got, err, vecAccount)
	}
}

func TestAccountAddressOf(t *testing.T) {
	pk, err := secp256k1.ParsePubKey(mustHex(t, vecPub))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		hrp  string
		pk   *secp256k1.PublicKey
		want string
		err  error
	}{
		{"vector", DefaultAccountHRP, pk, vecAccount, nil},
		{"nil key", DefaultAccountHRP, nil, "", ErrBadKey},
		{"bad hrp", "THOR", pk, "", ErrBadEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AccountAddressOf(tt.hrp, tt.pk)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Fatalf("AccountAddressOf = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestAccountAddressRejects(t *testing.T) {
	pub := mustHex(t, vecPub)
	uncompressed := func() []byte {
		pk, err := secp256k1.ParsePubKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return pk.SerializeUncompressed()
	}()
	tests := []struct {
		name string
		hrp  string
		pub  []byte
		want error
	}{
		{"empty hrp", "", pub, ErrBadEncoding},
		{"upper-case hrp", "THOR", pub, ErrBadEncoding},
		{"hrp with space", "th or", pub, ErrBadEncoding},
		{"short key", "thor", pub[:32], ErrBadKey},
		{"uncompressed key", "thor", uncompressed, ErrBadKey},
		{"0x04 prefix", "thor", append([]byte{0x04}, pub[1:]...), ErrBadKey},
		{"off-curve key", "thor", offCurveKey(t), ErrBadKey},
		{"nil key", "thor", nil, ErrBadKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AccountAddress(tt.hrp, tt.pub)
			if !errors.Is(err, tt.want) || got != "" {
				t.Fatalf("AccountAddress = %q, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestPubKeyRoundTrip(t *testing.T) {
	pub := mustHex(t, vecPub)
	s := EncodePubKey(DefaultPubKeyHRP, pub)
	// Every real THORChain secp256k1 pubkey starts like this: the amino
	// prefix eb5ae98721 and a 0x02/0x03 key byte.
	if !strings.HasPrefix(s, "thorpub1addwnpepq") {
		t.Fatalf("EncodePubKey = %s, want prefix thorpub1addwnpepq", s)
	}
	hrp, got, err := DecodePubKey(s)
	if err != nil || hrp != DefaultPubKeyHRP || !bytes.Equal(got, pub) {
		t.Fatalf("DecodePubKey = %q, %x, %v", hrp, got, err)
	}
	// Upper-case bech32 is the same key.
	if _, got, err := DecodePubKey(strings.ToUpper(s)); err != nil || !bytes.Equal(got, pub) {
		t.Fatalf("DecodePubKey(upper) = %x, %v", got, err)
	}
	if EncodePubKey("thorpub", pub[:32]) != "" || EncodePubKey("", pub) != "" || EncodePubKey("thorpub", offCurveKey(t)) != "" {
		t.Fatal("EncodePubKey accepted invalid input")
	}
}

func TestDecodePubKeyRejects(t *testing.T) {
	pub := mustHex(t, vecPub)
	enc := func(hrp string, data []byte) string {
		s, err := bech32.EncodeFromBase256(hrp, data)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := EncodePubKey("thorpub", pub)
	flipped := []byte(good)
	if flipped[20] == 'q' {
		flipped[20] = 'p'
	} else {
		flipped[20] = 'q'
	}
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrBadEncoding},
		{"bad checksum", string(flipped), ErrBadEncoding},
		{"mixed case", strings.ToUpper(good[:10]) + good[10:], ErrBadEncoding},
		{"no amino prefix", enc("thorpub", pub), ErrBadEncoding},
		{"ed25519 amino prefix", enc("thorpub", append([]byte{0x16, 0x24, 0xde, 0x64, 0x20}, make([]byte, 32)...)), ErrBadEncoding},
		{"short key", enc("thorpub", append([]byte{0xeb, 0x5a, 0xe9, 0x87, 0x21}, pub[:32]...)), ErrBadEncoding},
		{"off-curve key", enc("thorpub", append([]byte{0xeb, 0x5a, 0xe9, 0x87, 0x21}, offCurveKey(t)...)), ErrBadKey},
		{"address not key", vecAccount, ErrBadEncoding},
		{"over 90 chars", good + strings.Repeat("q", 40), ErrBadEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := DecodePubKey(tt.in)
			if !errors.Is(err, tt.want) || got != nil {
				t.Fatalf("DecodePubKey(%q) = %x, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}
