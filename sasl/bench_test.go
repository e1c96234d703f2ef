package sasl_test

import (
	"bytes"
	"testing"

	"github.com/thorchat/thorchat/sasl"
)

func BenchmarkVerify(b *testing.B) {
	priv := vecKey(b)
	pub := priv.PubKey().SerializeCompressed()
	m, err := sasl.Message(vecEP, pub, bytes.Repeat([]byte{0x11}, 32), bytes.Repeat([]byte{0x22}, 32))
	if err != nil {
		b.Fatal(err)
	}
	sig := sasl.Sign(priv, m)
	b.ReportAllocs()
	for b.Loop() {
		if err := sasl.Verify(pub, m, sig[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServerLogin measures the server half of one login: client-first,
// server nonce from crypto/rand, and verification of a real signature. The
// client's signing happens outside the timer.
func BenchmarkServerLogin(b *testing.B) {
	signer := sasl.NewKeySigner(vecKey(b))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		cli := sasl.NewSecp256k1Client(vecEP, signer, nil)
		first, err := cli.Next(nil)
		if err != nil {
			b.Fatal(err)
		}
		srv := sasl.NewSecp256k1Server(vecEP, nil)
		b.StartTimer()
		ch, _, err := srv.Next(first)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		sig, err := cli.Next(ch)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, done, err := srv.Next(sig); err != nil || !done {
			b.Fatal(err)
		}
	}
}
