package loadtest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/thorchat/thorchat/sasl"
)

// TestPresignVerifies checks presigned signatures with the server's own
// verification, and that a signature does not verify for another message
// or key (so the check above can fail).
func TestPresignVerifies(t *testing.T) {
	ps, err := newPresigs(64)
	if err != nil {
		t.Fatal(err)
	}
	ep := sasl.Endpoint{Host: "bench.local"}
	for i := range ps {
		priv, err := secp256k1.GeneratePrivateKey()
		if err != nil {
			t.Fatal(err)
		}
		pub := priv.PubKey().SerializeCompressed()
		cn, sn := bytes.Repeat([]byte{byte(i)}, 32), bytes.Repeat([]byte{byte(i + 1)}, 32)
		m, err := sasl.Message(ep, pub, cn, sn)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := presign(priv, &ps[i], m)
		if err != nil {
			t.Fatal(err)
		}
		if err := sasl.Verify(pub, m, sig[:]); err != nil {
			t.Fatalf("presig %d: %v", i, err)
		}
		other := append([]byte(nil), m...)
		other[len(other)-1] ^= 1
		if err := sasl.Verify(pub, other, sig[:]); !errors.Is(err, sasl.ErrBadSignature) {
			t.Fatalf("presig %d verified for another message: %v", i, err)
		}
		stranger, _ := secp256k1.GeneratePrivateKey()
		if err := sasl.Verify(stranger.PubKey().SerializeCompressed(), m, sig[:]); !errors.Is(err, sasl.ErrBadSignature) {
			t.Fatalf("presig %d verified for another key: %v", i, err)
		}
	}
}

func BenchmarkPresign(b *testing.B) {
	priv, _ := secp256k1.GeneratePrivateKey()
	ps, err := newPresigs(1)
	if err != nil {
		b.Fatal(err)
	}
	m := bytes.Repeat([]byte{7}, 180)
	for b.Loop() {
		if _, err := presign(priv, &ps[0], m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	priv, _ := secp256k1.GeneratePrivateKey()
	m := bytes.Repeat([]byte{7}, 180)
	for b.Loop() {
		sasl.Sign(priv, m)
	}
}
