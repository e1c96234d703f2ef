package sasl_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/thorchat/thorchat/sasl"
)

// FuzzSecp256k1Server feeds arbitrary client-first and signature messages to
// a server. It must never panic, never report done for a signature that
// does not verify, and always fail with one of the sentinel errors.
func FuzzSecp256k1Server(f *testing.F) {
	priv := vecKey(f)
	pub := priv.PubKey().SerializeCompressed()
	first := append(append([]byte{0x01}, pub...), bytes.Repeat([]byte{0x11}, 32)...)
	m, err := sasl.Message(vecEP, pub, bytes.Repeat([]byte{0x11}, 32), bytes.Repeat([]byte{0x22}, 32))
	if err != nil {
		f.Fatal(err)
	}
	sig := sasl.Sign(priv, m)
	f.Add(first, sig[:])
	f.Add(first, highS(sig[:]))
	f.Add(first[:65], sig[:63])
	f.Add([]byte{}, []byte{})
	f.Add(append([]byte{0x01, 0x04}, first[2:]...), sig[:])
	f.Fuzz(func(t *testing.T, clientFirst, signature []byte) {
		srv := sasl.NewSecp256k1Server(vecEP, constReader(0x22))
		ch, done, err := srv.Next(clientFirst)
		if err != nil {
			if !isSentinel(err) || ch != nil || done {
				t.Fatalf("client-first: %x %v %v", ch, done, err)
			}
			return
		}
		if done || len(ch) != sasl.ChallengeLen {
			t.Fatalf("challenge %x done=%v", ch, done)
		}
		_, done, err = srv.Next(signature)
		if err != nil {
			if !isSentinel(err) || done || srv.PublicKey() != nil {
				t.Fatalf("signature: %v %v", done, err)
			}
			return
		}
		msg, merr := sasl.Message(vecEP, clientFirst[1:34], clientFirst[34:], ch[1:])
		if !done || merr != nil || sasl.Verify(clientFirst[1:34], msg, signature) != nil {
			t.Fatalf("accepted an unverifiable signature (done=%v)", done)
		}
		if !bytes.Equal(srv.PublicKey(), clientFirst[1:34]) {
			t.Fatal("PublicKey differs from the client-first key")
		}
	})
}

func isSentinel(err error) bool {
	for _, s := range []error{sasl.ErrMalformed, sasl.ErrBadKey, sasl.ErrHighS, sasl.ErrBadSignature, sasl.ErrState} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzAssembler feeds newline-separated parameters. It must never panic,
// never return more than Max bytes, and always decode what
// EncodeAuthenticate produced.
func FuzzAssembler(f *testing.F) {
	f.Add("QUJD", []byte("ABC"))
	f.Add(strings.Repeat("A", 400)+"\n+", []byte{})
	f.Add("*\n+\nQUI=", bytes.Repeat([]byte{7}, 300))
	f.Add(strings.Repeat("A", 401), []byte{0})
	f.Fuzz(func(t *testing.T, params string, payload []byte) {
		a := sasl.Assembler{Max: 512}
		for _, p := range strings.Split(params, "\n") {
			out, complete, err := a.Feed(p)
			if err != nil && (complete || out != nil) {
				t.Fatal("error with a payload")
			}
			if len(out) > 512 {
				t.Fatalf("payload of %d bytes over Max", len(out))
			}
		}
		a.Reset()
		var got []byte
		var complete bool
		var err error
		for _, p := range sasl.EncodeAuthenticate(payload) {
			if len(p) > sasl.ChunkLen {
				t.Fatalf("chunk of %d bytes", len(p))
			}
			got, complete, err = a.Feed(p)
			if err != nil {
				break
			}
		}
		if len(payload) > 512 {
			if !errors.Is(err, sasl.ErrPayloadTooLong) {
				t.Fatalf("%d bytes: %v", len(payload), err)
			}
			return
		}
		if err != nil || !complete || !bytes.Equal(got, payload) {
			t.Fatalf("round trip of %d bytes: complete=%v err=%v", len(payload), complete, err)
		}
	})
}

// FuzzParsePlain must never panic and must round-trip what it accepts.
func FuzzParsePlain(f *testing.F) {
	f.Add([]byte("\x00alice\x00secret"))
	f.Add([]byte("admin\x00alice\x00secret"))
	f.Add([]byte("\x00\x00"))
	f.Add([]byte("a\x00b\x00c\x00d"))
	f.Fuzz(func(t *testing.T, b []byte) {
		z, c, p, err := sasl.ParsePlain(b)
		if err != nil {
			if !errors.Is(err, sasl.ErrMalformed) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		if c == "" || p == "" || len(z) > 255 || len(c) > 255 || len(p) > 255 {
			t.Fatalf("accepted %q %q %q", z, c, p)
		}
		if !bytes.Equal(sasl.EncodePlain(z, c, p), b) {
			t.Fatal("no round trip")
		}
	})
}

// FuzzParseMessage: ParseMessage never panics, accepts exactly what
// Message builds, and what it accepts rebuilds to the same bytes.
func FuzzParseMessage(f *testing.F) {
	pub := vecKey(f).PubKey().SerializeCompressed()
	m, err := sasl.Message(vecEP, pub, bytes.Repeat([]byte{0x11}, 32), bytes.Repeat([]byte{0x22}, 32))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(m)
	f.Add(m[:len(m)-1])
	f.Add([]byte("THORCHAT-SECP256K1/1\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, m []byte) {
		p, err := sasl.ParseMessage(m)
		if err != nil {
			if !errors.Is(err, sasl.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		again, err := sasl.Message(p.Endpoint, p.PubKey, p.CNonce, p.SNonce)
		if err != nil || !bytes.Equal(again, m) {
			t.Fatalf("accepted %x, which rebuilds to %x (%v)", m, again, err)
		}
	})
}
