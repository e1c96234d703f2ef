package loadtest

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/thorchat/thorchat/sasl"
)

// presig is the half of an ECDSA signature that does not depend on the
// message: r = (k·G).x mod n and k⁻¹ for a fresh random nonce k. With it,
// signing is a few scalar multiplications, so the load tool's own CPU per
// login shrinks while the server still verifies a genuine signature. This
// is the classic offline/online split of ECDSA with random nonces (not
// RFC 6979's derived ones); each presig must be used once.
type presig struct {
	r, kinv secp256k1.ModNScalar
}

// newPresig draws k from crypto/rand (through GeneratePrivateKey, which
// rejects 0 and values ≥ n) and computes r and k⁻¹.
func newPresig() (presig, error) {
	for range 8 {
		k, err := secp256k1.GeneratePrivateKey()
		if err != nil {
			return presig{}, fmt.Errorf("nonce: %w", err)
		}
		var p presig
		var R secp256k1.JacobianPoint
		secp256k1.ScalarBaseMultNonConst(&k.Key, &R)
		R.ToAffine()
		p.r.SetByteSlice(R.X.Bytes()[:])
		if p.r.IsZero() {
			continue
		}
		p.kinv.InverseValNonConst(&k.Key)
		k.Zero()
		return p, nil
	}
	return presig{}, errors.New("nonce: r = 0 eight times in a row")
}

// newPresigs makes n presigs.
func newPresigs(n int) ([]presig, error) {
	out := make([]presig, n)
	for i := range out {
		p, err := newPresig()
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// presign signs SHA-256(msg) with priv and p: s = k⁻¹(e + r·d) mod n,
// negated when above n/2, as sasl.Sign's signatures are. The result is
// r ‖ s, which sasl.Verify accepts.
func presign(priv *secp256k1.PrivateKey, p *presig, msg []byte) ([sasl.SigLen]byte, error) {
	h := sha256.Sum256(msg)
	var e, s secp256k1.ModNScalar
	e.SetByteSlice(h[:])
	s.Mul2(&p.r, &priv.Key).Add(&e).Mul(&p.kinv)
	if s.IsZero() {
		return [sasl.SigLen]byte{}, errors.New("sign: s = 0")
	}
	if s.IsOverHalfOrder() {
		s.Negate()
	}
	var out [sasl.SigLen]byte
	p.r.PutBytesUnchecked(out[:32])
	s.PutBytesUnchecked(out[32:])
	return out, nil
}
