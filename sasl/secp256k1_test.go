package sasl_test

import (
	"bytes"
	"errors"
	"io"
	"math/big"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/thorchat/thorchat/sasl"
)

var curveN = secp256k1.Params().N

// scalar32 renders v as 32 big-endian bytes.
func scalar32(v *big.Int) []byte {
	out := make([]byte, 32)
	v.FillBytes(out)
	return out
}

// withRS returns r ‖ s.
func withRS(r, s []byte) []byte { return append(append([]byte{}, r...), s...) }

// highS turns a valid low-S signature into its still-valid high-S twin.
func highS(sig []byte) []byte {
	s := new(big.Int).SetBytes(sig[32:])
	return withRS(sig[:32], scalar32(new(big.Int).Sub(curveN, s)))
}

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

// exchange is a server attempt taken to the signature step.
type exchange struct {
	srv    *sasl.Secp256k1Server
	priv   *secp256k1.PrivateKey
	pub    []byte
	cnonce []byte
	snonce []byte
	msg    []byte // M as the server built it
}

func startExchange(t testing.TB, ep sasl.Endpoint) *exchange {
	t.Helper()
	priv := vecKey(t)
	x := &exchange{
		srv:    sasl.NewSecp256k1Server(ep, nil),
		priv:   priv,
		pub:    priv.PubKey().SerializeCompressed(),
		cnonce: bytes.Repeat([]byte{0x5a}, 32),
	}
	ch, done, err := x.srv.Next(append(append([]byte{0x01}, x.pub...), x.cnonce...))
	if err != nil || done || len(ch) != 33 || ch[0] != 0x01 {
		t.Fatalf("client-first: %x, %v, %v", ch, done, err)
	}
	x.snonce = ch[1:]
	m, err := sasl.Message(ep, x.pub, x.cnonce, x.snonce)
	if err != nil {
		t.Fatal(err)
	}
	x.msg = m
	return x
}

func TestServerRoundTrip(t *testing.T) {
	eps := []sasl.Endpoint{
		vecEP,
		{Host: "127.0.0.1", Port: 6667},
		{Host: "irc.example", Port: 0}, // unix listener: server name, port 0
		{Host: string(bytes.Repeat([]byte{'h'}, 255)), Port: 65535},
	}
	for _, ep := range eps {
		priv, err := secp256k1.GeneratePrivateKey()
		if err != nil {
			t.Fatal(err)
		}
		cli := sasl.NewSecp256k1Client(ep, sasl.NewKeySigner(priv), nil)
		srv := sasl.NewSecp256k1Server(ep, nil)
		first, err := cli.Next(nil)
		if err != nil {
			t.Fatal(err)
		}
		ch, _, err := srv.Next(first)
		if err != nil {
			t.Fatal(err)
		}
		if srv.PublicKey() != nil || srv.Key() != nil || srv.Done() {
			t.Fatal("PublicKey or Key before done")
		}
		sig, err := cli.Next(ch)
		if err != nil {
			t.Fatal(err)
		}
		if _, done, err := srv.Next(sig); err != nil || !done {
			t.Fatalf("%q: done=%v err=%v", ep.Host, done, err)
		}
		if !bytes.Equal(srv.PublicKey(), priv.PubKey().SerializeCompressed()) {
			t.Fatal("PublicKey mismatch")
		}
		if k := srv.Key(); k == nil || !k.IsEqual(priv.PubKey()) {
			t.Fatal("Key mismatch")
		}
		// The state machines are finished.
		if _, _, err := srv.Next(sig); !errors.Is(err, sasl.ErrState) {
			t.Fatalf("server Next after done: %v", err)
		}
		if _, err := cli.Next(ch); !errors.Is(err, sasl.ErrState) {
			t.Fatalf("client Next after done: %v", err)
		}
	}
}

func TestServerFreshNonces(t *testing.T) {
	a, b := startExchange(t, vecEP), startExchange(t, vecEP)
	if bytes.Equal(a.snonce, b.snonce) || bytes.Equal(a.snonce, make([]byte, 32)) {
		t.Fatal("server nonces repeat")
	}
}

func TestServerClientFirstRefusals(t *testing.T) {
	pub := vecKey(t).PubKey().SerializeCompressed()
	uncompressed := vecKey(t).PubKey().SerializeUncompressed()
	cn := bytes.Repeat([]byte{0x11}, 32)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		resp []byte
		want error
	}{
		{"empty", nil, sasl.ErrMalformed},
		{"version 0x00", cat([]byte{0x00}, pub, cn), sasl.ErrMalformed},
		{"version 0x02", cat([]byte{0x02}, pub, cn), sasl.ErrMalformed},
		{"short nonce", cat([]byte{0x01}, pub, cn[:31]), sasl.ErrMalformed},
		{"long nonce", cat([]byte{0x01}, pub, cn, []byte{0}), sasl.ErrMalformed},
		{"uncompressed key", cat([]byte{0x01}, uncompressed, cn), sasl.ErrMalformed},
		{"0x04 prefix in 33 bytes", cat([]byte{0x01, 0x04}, pub[1:], cn), sasl.ErrBadKey},
		{"0x00 prefix", cat([]byte{0x01, 0x00}, pub[1:], cn), sasl.ErrBadKey},
		{"off-curve key", cat([]byte{0x01}, offCurveKey(t), cn), sasl.ErrBadKey},
		{"x over field prime", cat([]byte{0x01, 0x02}, bytes.Repeat([]byte{0xff}, 32), cn), sasl.ErrBadKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sasl.NewSecp256k1Server(vecEP, nil)
			ch, done, err := srv.Next(tt.resp)
			if !errors.Is(err, tt.want) || ch != nil || done {
				t.Fatalf("Next = %x, %v, %v; want %v", ch, done, err, tt.want)
			}
			// Any failure ends the attempt.
			if _, _, err := srv.Next(cat([]byte{0x01}, pub, cn)); !errors.Is(err, sasl.ErrState) {
				t.Fatalf("Next after failure: %v", err)
			}
			if srv.PublicKey() != nil {
				t.Fatal("PublicKey after failure")
			}
		})
	}
}

func TestServerBadEndpointAndRandom(t *testing.T) {
	pub := vecKey(t).PubKey().SerializeCompressed()
	first := append(append([]byte{0x01}, pub...), bytes.Repeat([]byte{0x11}, 32)...)
	for _, host := range []string{"", string(bytes.Repeat([]byte{'a'}, 256)), "a b", "ho\x00st", "h\xc3\xa9"} {
		srv := sasl.NewSecp256k1Server(sasl.Endpoint{Host: host, Port: 1}, constReader(0x22))
		if _, _, err := srv.Next(first); !errors.Is(err, sasl.ErrMalformed) {
			t.Errorf("host %q: %v", host, err)
		}
	}
	srv := sasl.NewSecp256k1Server(vecEP, io.LimitReader(constReader(1), 10))
	if _, _, err := srv.Next(first); err == nil || errors.Is(err, sasl.ErrMalformed) {
		t.Fatalf("short random source: %v", err)
	}
}

func TestServerSignatureRefusals(t *testing.T) {
	n := scalar32(curveN)
	nMinus1 := scalar32(new(big.Int).Sub(curveN, big.NewInt(1)))
	one := scalar32(big.NewInt(1))
	zero := make([]byte, 32)
	ff := bytes.Repeat([]byte{0xff}, 32)

	signOther := func(x *exchange, ep sasl.Endpoint, cnonce, snonce []byte) []byte {
		m, err := sasl.Message(ep, x.pub, cnonce, snonce)
		if err != nil {
			t.Fatal(err)
		}
		sig := sasl.Sign(x.priv, m)
		return sig[:]
	}
	otherNonce := bytes.Repeat([]byte{0x33}, 32)

	tests := []struct {
		name string
		sig  func(x *exchange) []byte
		want error
	}{
		{"empty", func(*exchange) []byte { return nil }, sasl.ErrMalformed},
		{"63 bytes", func(x *exchange) []byte { s := sasl.Sign(x.priv, x.msg); return s[:63] }, sasl.ErrMalformed},
		{"65 bytes", func(x *exchange) []byte { s := sasl.Sign(x.priv, x.msg); return append(s[:], 0) }, sasl.ErrMalformed},
		{"DER signature", func(x *exchange) []byte { return ecdsaDER(x) }, sasl.ErrMalformed},
		{"r = 0", func(x *exchange) []byte { s := sasl.Sign(x.priv, x.msg); return withRS(zero, s[32:]) }, sasl.ErrBadSignature},
		{"s = 0", func(x *exchange) []byte { s := sasl.Sign(x.priv, x.msg); return withRS(s[:32], zero) }, sasl.ErrBadSignature},
		{"r = n", func(x *exchange) []byte { s := sasl.Sign(x.priv, x.msg); return withRS(n, s[32:]) }, sasl.ErrBadSignature},
		{"r = 2^256-1", func(x *exchange) []byte { s := sasl.Sign(x.priv, x.msg); return withRS(ff, s[32:]) }, sasl.ErrBadSignature},
		{"s = n", func(x *exchange) []byte { s := sasl.Sign(x.priv, x.msg); return withRS(s[:32], n) }, sasl.ErrBadSignature},
		{"s = n-1 (high)", func(x *exchange) []byte { s := sasl.Sign(x.priv, x.msg); return withRS(s[:32], nMinus1) }, sasl.ErrHighS},
		{"r = s = 1", func(*exchange) []byte { return withRS(one, one) }, sasl.ErrBadSignature},
		{"high-S twin of a valid signature", func(x *exchange) []byte { s := sasl.Sign(x.priv, x.msg); return highS(s[:]) }, sasl.ErrHighS},
		{"other host", func(x *exchange) []byte {
			return signOther(x, sasl.Endpoint{Host: "other" + vecHost[5:], Port: vecPort}, x.cnonce, x.snonce)
		}, sasl.ErrBadSignature},
		{"other port", func(x *exchange) []byte {
			return signOther(x, sasl.Endpoint{Host: vecHost, Port: vecPort + 1}, x.cnonce, x.snonce)
		}, sasl.ErrBadSignature},
		{"other cnonce", func(x *exchange) []byte { return signOther(x, vecEP, otherNonce, x.snonce) }, sasl.ErrBadSignature},
		{"other snonce", func(x *exchange) []byte { return signOther(x, vecEP, x.cnonce, otherNonce) }, sasl.ErrBadSignature},
		{"other key", func(x *exchange) []byte {
			k, _ := secp256k1.GeneratePrivateKey()
			s := sasl.Sign(k, x.msg)
			return s[:]
		}, sasl.ErrBadSignature},
		{"unprefixed message", func(x *exchange) []byte { s := sasl.Sign(x.priv, x.msg[21:]); return s[:] }, sasl.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := startExchange(t, vecEP)
			_, done, err := x.srv.Next(tt.sig(x))
			if !errors.Is(err, tt.want) || done {
				t.Fatalf("Next = %v, %v; want %v", done, err, tt.want)
			}
			// A good signature after a bad one is too late.
			good := sasl.Sign(x.priv, x.msg)
			if _, _, err := x.srv.Next(good[:]); !errors.Is(err, sasl.ErrState) {
				t.Fatalf("Next after failure: %v", err)
			}
			if x.srv.PublicKey() != nil {
				t.Fatal("PublicKey after failure")
			}
		})
	}
}

// ecdsaDER returns a valid signature in DER form (70-72 bytes), which the
// mechanism does not accept.
func ecdsaDER(x *exchange) []byte {
	s := sasl.Sign(x.priv, x.msg)
	var r, ss secp256k1.ModNScalar
	r.SetByteSlice(s[:32])
	ss.SetByteSlice(s[32:])
	return ecdsaNewSignature(&r, &ss)
}

func TestReplayAgainstNewServer(t *testing.T) {
	first := startExchange(t, vecEP)
	sig := sasl.Sign(first.priv, first.msg)
	if _, done, err := first.srv.Next(sig[:]); err != nil || !done {
		t.Fatalf("first login: %v", err)
	}
	// The same client-first and signature against a new attempt: the new
	// server nonce makes the old signature worthless.
	replay := startExchange(t, vecEP)
	if bytes.Equal(replay.snonce, first.snonce) {
		t.Fatal("server nonce repeated")
	}
	if _, done, err := replay.srv.Next(sig[:]); !errors.Is(err, sasl.ErrBadSignature) || done {
		t.Fatalf("replayed signature: done=%v err=%v", done, err)
	}
}

func TestVerifyTable(t *testing.T) {
	priv := vecKey(t)
	pub := priv.PubKey().SerializeCompressed()
	msg := []byte("some message")
	sig := sasl.Sign(priv, msg)
	tests := []struct {
		name          string
		pub, msg, sig []byte
		want          error
	}{
		{"valid", pub, msg, sig[:], nil},
		{"other message", pub, []byte("some messagf"), sig[:], sasl.ErrBadSignature},
		{"short key", pub[:32], msg, sig[:], sasl.ErrMalformed},
		{"uncompressed key", priv.PubKey().SerializeUncompressed(), msg, sig[:], sasl.ErrMalformed},
		{"off-curve key", offCurveKey(t), msg, sig[:], sasl.ErrBadKey},
		{"high S", pub, msg, highS(sig[:]), sasl.ErrHighS},
		{"short sig", pub, msg, sig[:10], sasl.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sasl.Verify(tt.pub, tt.msg, tt.sig)
			if (tt.want == nil && err != nil) || !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	// Sign is deterministic and always low-S.
	for i := range 64 {
		m := []byte{byte(i)}
		a, b := sasl.Sign(priv, m), sasl.Sign(priv, m)
		if a != b {
			t.Fatal("Sign is not deterministic")
		}
		if new(big.Int).SetBytes(a[32:]).Cmp(new(big.Int).Rsh(curveN, 1)) > 0 {
			t.Fatal("Sign produced high S")
		}
	}
}

func TestMessageRefusals(t *testing.T) {
	pub := vecKey(t).PubKey().SerializeCompressed()
	n32 := make([]byte, 32)
	tests := []struct {
		name        string
		ep          sasl.Endpoint
		pub, cn, sn []byte
	}{
		{"empty host", sasl.Endpoint{Port: 1}, pub, n32, n32},
		{"host 256", sasl.Endpoint{Host: string(bytes.Repeat([]byte{'a'}, 256))}, pub, n32, n32},
		{"host with space", sasl.Endpoint{Host: "a b"}, pub, n32, n32},
		{"key 32", vecEP, pub[:32], n32, n32},
		{"cnonce 31", vecEP, pub, n32[:31], n32},
		{"snonce 33", vecEP, pub, n32, append(n32, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m, err := sasl.Message(tt.ep, tt.pub, tt.cn, tt.sn); !errors.Is(err, sasl.ErrMalformed) || m != nil {
				t.Fatalf("Message = %x, %v", m, err)
			}
		})
	}
}

func TestParseMessage(t *testing.T) {
	pub := vecKey(t).PubKey().SerializeCompressed()
	cn, sn := bytes.Repeat([]byte{0x11}, 32), bytes.Repeat([]byte{0x22}, 32)
	m, err := sasl.Message(vecEP, pub, cn, sn)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sasl.ParseMessage(m)
	if err != nil || p.Endpoint != vecEP || !bytes.Equal(p.PubKey, pub) || !bytes.Equal(p.CNonce, cn) || !bytes.Equal(p.SNonce, sn) {
		t.Fatalf("ParseMessage = %+v, %v", p, err)
	}
	upper := bytes.Replace(m, []byte(vecEP.Host), []byte(strings.ToUpper(vecEP.Host)), 1)
	tests := []struct {
		name string
		m    []byte
	}{
		{"empty", nil},
		{"other tag", append([]byte("THORCHAT-SECP256K1/2"), m[20:]...)},
		{"no separator", append([]byte("THORCHAT-SECP256K1/1"), m[21:]...)},
		{"truncated", m[:len(m)-1]},
		{"extra byte", append(append([]byte(nil), m...), 0)},
		{"tag only", []byte("THORCHAT-SECP256K1/1\x00")},
		{"upper-case host", upper},
		{"empty host", append([]byte("THORCHAT-SECP256K1/1\x00\x00"), make([]byte, 2+33+64)...)},
		{"host with a space", bytes.Replace(m, []byte("abc"), []byte("a c"), 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sasl.ParseMessage(tt.m); !errors.Is(err, sasl.ErrMalformed) {
				t.Fatalf("ParseMessage: %v; want ErrMalformed", err)
			}
		})
	}
}

// TestSetKeyParser: the server parses the client's key with the parser it
// is given (a cache, in the daemon), and fails as the parser fails.
func TestSetKeyParser(t *testing.T) {
	priv := vecKey(t)
	signer := sasl.NewKeySigner(priv)
	calls := 0
	tests := []struct {
		name   string
		parser sasl.KeyParser
		ok     bool
	}{
		{"default", nil, true},
		{"cached point", func(pub []byte) (*secp256k1.PublicKey, error) { calls++; return priv.PubKey(), nil }, true},
		{"refusing parser", func(pub []byte) (*secp256k1.PublicKey, error) { calls++; return nil, sasl.ErrBadKey }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := calls
			cli := sasl.NewSecp256k1Client(vecEP, signer, nil)
			srv := sasl.NewSecp256k1Server(vecEP, nil)
			srv.SetKeyParser(tt.parser)
			first, err := cli.Next(nil)
			if err != nil {
				t.Fatal(err)
			}
			ch, _, err := srv.Next(first)
			if tt.parser != nil && calls != before+1 {
				t.Fatalf("parser called %d times", calls-before)
			}
			if !tt.ok {
				if !errors.Is(err, sasl.ErrBadKey) {
					t.Fatalf("client-first: %v; want ErrBadKey", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sig, err := cli.Next(ch)
			if err != nil {
				t.Fatal(err)
			}
			if _, done, err := srv.Next(sig); err != nil || !done {
				t.Fatalf("done=%v err=%v", done, err)
			}
		})
	}
}
