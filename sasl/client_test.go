package sasl_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"

	"github.com/thorchat/thorchat/sasl"
)

func ecdsaNewSignature(r, s *secp256k1.ModNScalar) []byte {
	return ecdsa.NewSignature(r, s).Serialize()
}

// funcSigner is a Signer whose output the test controls, standing in for an
// external signer that misbehaves.
type funcSigner struct {
	pub  []byte
	sign func(msg []byte) ([64]byte, error)
}

func (f funcSigner) PublicKey() []byte                      { return f.pub }
func (f funcSigner) SignMessage(m []byte) ([64]byte, error) { return f.sign(m) }

func TestClientRefusals(t *testing.T) {
	priv := vecKey(t)
	pub := priv.PubKey().SerializeCompressed()
	good := func(m []byte) ([64]byte, error) { return sasl.Sign(priv, m), nil }
	challenge := append([]byte{0x01}, bytes.Repeat([]byte{0x22}, 32)...)
	tests := []struct {
		name      string
		ep        sasl.Endpoint
		signer    sasl.Signer
		initial   []byte
		challenge []byte
		wantFirst error
		want      error
	}{
		{"non-empty initial challenge", vecEP, funcSigner{pub, good}, []byte{1}, challenge, sasl.ErrMalformed, nil},
		{"bad endpoint", sasl.Endpoint{}, funcSigner{pub, good}, nil, challenge, sasl.ErrMalformed, nil},
		{"signer key uncompressed", vecEP, funcSigner{priv.PubKey().SerializeUncompressed(), good}, nil, challenge, sasl.ErrMalformed, nil},
		{"signer key off curve", vecEP, funcSigner{offCurveKey(t), good}, nil, challenge, sasl.ErrBadKey, nil},
		{"short challenge", vecEP, funcSigner{pub, good}, nil, challenge[:32], nil, sasl.ErrMalformed},
		{"challenge version", vecEP, funcSigner{pub, good}, nil, append([]byte{0x02}, challenge[1:]...), nil, sasl.ErrMalformed},
		{"signer error", vecEP, funcSigner{pub, func([]byte) ([64]byte, error) { return [64]byte{}, errors.New("hsm unplugged") }}, nil, challenge, nil, sasl.ErrSigner},
		{"signer high S", vecEP, funcSigner{pub, func(m []byte) ([64]byte, error) {
			s := sasl.Sign(priv, m)
			return [64]byte(highS(s[:])), nil
		}}, nil, challenge, nil, sasl.ErrHighS},
		{"signer wrong key", vecEP, funcSigner{pub, func(m []byte) ([64]byte, error) {
			k, _ := secp256k1.GeneratePrivateKey()
			return sasl.Sign(k, m), nil
		}}, nil, challenge, nil, sasl.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sasl.NewSecp256k1Client(tt.ep, tt.signer, nil)
			first, err := c.Next(tt.initial)
			if tt.wantFirst != nil {
				if !errors.Is(err, tt.wantFirst) || first != nil {
					t.Fatalf("first = %x, %v; want %v", first, err, tt.wantFirst)
				}
				if _, err := c.Next(tt.challenge); !errors.Is(err, sasl.ErrState) {
					t.Fatalf("Next after failure: %v", err)
				}
				return
			}
			if err != nil || len(first) != sasl.ClientFirstLen {
				t.Fatalf("first = %x, %v", first, err)
			}
			resp, err := c.Next(tt.challenge)
			if !errors.Is(err, tt.want) || resp != nil {
				t.Fatalf("second = %x, %v; want %v", resp, err, tt.want)
			}
		})
	}
}

func TestClientAcceptsEmptyInitial(t *testing.T) {
	c := sasl.NewSecp256k1Client(vecEP, sasl.NewKeySigner(vecKey(t)), nil)
	first, err := c.Next([]byte{})
	if err != nil || len(first) != sasl.ClientFirstLen || first[0] != 0x01 {
		t.Fatalf("first = %x, %v", first, err)
	}
	if bytes.Equal(first[34:], make([]byte, 32)) {
		t.Fatal("client nonce is zero")
	}
}
