package sasl_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/thorchat/thorchat/identity"
	"github.com/thorchat/thorchat/sasl"
)

// The published test vector (docs/sasl.md).
const (
	vecPriv    = "9e0699c91ca1e3b7e3c9ba71eb71c89890872be97576010fe593fbf3fd57e66d"
	vecPub     = "02d2e670a19c6d753d1a6d8b20bd045df8a08fb162cf508956c31268c6d81ffdab"
	vecAccount = "thor1akns7jvfltaxx2dmkrgakxnktqnvkc9wqlg5a0"
	vecHost    = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"
	vecPort    = 6667
	vecHash    = "df58f967a0011d79315c5834065f28f2e2aac3e18b3224e51d356a00e0000d61"
	vecSig     = "An9g9JCkSsL/QxD48mR5+bRMP7m3DXx3WBlDMuz1E3F2Nvw3j5NOLIMODgVZOnFyoe1cLkOADKZtnul7nP33wA=="
)

var vecEP = sasl.Endpoint{Host: vecHost, Port: vecPort}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func vecKey(t testing.TB) *secp256k1.PrivateKey {
	return secp256k1.PrivKeyFromBytes(mustHex(t, vecPriv))
}

// constReader yields one byte value forever: a deterministic nonce source.
type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

func TestVector(t *testing.T) {
	priv := vecKey(t)
	pub := priv.PubKey().SerializeCompressed()
	if got := hex.EncodeToString(pub); got != vecPub {
		t.Fatalf("public key = %s, want %s", got, vecPub)
	}
	acct, err := identity.AccountAddress("thor", pub)
	if err != nil || acct != vecAccount {
		t.Fatalf("account = %q, %v; want %s", acct, err, vecAccount)
	}
	cnonce := bytes.Repeat([]byte{0x11}, 32)
	snonce := bytes.Repeat([]byte{0x22}, 32)
	m, err := sasl.Message(vecEP, pub, cnonce, snonce)
	if err != nil {
		t.Fatal(err)
	}
	// M byte by byte.
	want := []byte("THORCHAT-SECP256K1/1\x00")
	want = append(want, byte(len(vecHost)))
	want = append(want, vecHost...)
	want = append(want, 0x1a, 0x0b) // 6667
	want = append(want, pub...)
	want = append(want, cnonce...)
	want = append(want, snonce...)
	if !bytes.Equal(m, want) {
		t.Fatalf("M = %x\nwant %x", m, want)
	}
	if h := sha256.Sum256(m); hex.EncodeToString(h[:]) != vecHash {
		t.Fatalf("SHA-256(M) = %x, want %s", h, vecHash)
	}
	sig := sasl.Sign(priv, m)
	if got := base64.StdEncoding.EncodeToString(sig[:]); got != vecSig {
		t.Fatalf("signature = %s, want %s", got, vecSig)
	}
	if err := sasl.Verify(pub, m, sig[:]); err != nil {
		t.Fatalf("Verify(vector) = %v", err)
	}
	// Upper-case host in the Endpoint builds the same M.
	m2, err := sasl.Message(sasl.Endpoint{Host: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcdefghijklmnopqrstuvwx.ONION", Port: vecPort}, pub, cnonce, snonce)
	if err != nil || !bytes.Equal(m2, m) {
		t.Fatalf("upper-case host: M differs (%v)", err)
	}

	// The same exchange through both state machines with fixed nonces.
	cli := sasl.NewSecp256k1Client(vecEP, sasl.NewKeySigner(priv), constReader(0x11))
	srv := sasl.NewSecp256k1Server(vecEP, constReader(0x22))
	first, err := cli.Next(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, append(append([]byte{0x01}, pub...), cnonce...)) {
		t.Fatalf("client-first = %x", first)
	}
	ch, done, err := srv.Next(first)
	if err != nil || done {
		t.Fatalf("server first: done=%v err=%v", done, err)
	}
	if !bytes.Equal(ch, append([]byte{0x01}, snonce...)) {
		t.Fatalf("challenge = %x", ch)
	}
	resp, err := cli.Next(ch)
	if err != nil {
		t.Fatal(err)
	}
	if got := sasl.EncodeAuthenticate(resp); len(got) != 1 || got[0] != vecSig {
		t.Fatalf("AUTHENTICATE params = %q, want [%s]", got, vecSig)
	}
	if _, done, err := srv.Next(resp); err != nil || !done {
		t.Fatalf("server verify: done=%v err=%v", done, err)
	}
	if !bytes.Equal(srv.PublicKey(), pub) {
		t.Fatalf("PublicKey() = %x", srv.PublicKey())
	}
}
