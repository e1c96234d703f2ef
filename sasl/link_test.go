package sasl_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/thorchat/thorchat/sasl"
)

// The published key-link test vector (docs/sasl.md): the login vector's key
// links a second key to its account.
const (
	linkNewPriv = "a331a13801209a38a255cd55b7c8d9339ccc4ed894a1f9c6a8fa2c45b4dc0329" // SHA-256("THORCHAT-LINK/1 test vector new key")
	linkNewPub  = "03bc361797bfbec6e431c221c9a1a005b1486ae9ea68fd31e33c1e5627187d9748"
	linkHash    = "330b83b4af19a83cd25078cadd1730a4d46b16c319605b08211802a6de40c892"
	linkSigOld  = "rrq0ZBFWk4wUoziIp8C29obC9LrZHylioNfygzj+jqkmlq4F2ftIWg7Udv4+9p3ZQpMrNyxODpLRjEdPAx/SPQ=="
	linkSigNew  = "OgqFaG2qBZwUl6Ge45VksIXulPF13kEt5orYghZfxQ9+BpAcB9M5hS0gcYxV5JojsqdYgPRvwOHI2o+TiEz7tw=="
	linkMsgHex  = "54484f52434841542d4c494e4b2f3100" + // "THORCHAT-LINK/1" 0x00
		"3e" + "6162636465666768696a6b6c6d6e6f707172737475767778797a3233343536376162636465666768696a6b6c6d6e6f7071727374757677782e6f6e696f6e" +
		"1a0b" + // port 6667
		"2b" + "74686f7231616b6e73376a76666c7461787832646d6b7267616b786e6b74716e766b633977716c67356130" + // account
		vecPub + linkNewPub +
		"3333333333333333333333333333333333333333333333333333333333333333"
)

func TestLinkVector(t *testing.T) {
	old := vecKey(t)
	nw := secp256k1.PrivKeyFromBytes(mustHex(t, linkNewPriv))
	if h := sha256.Sum256([]byte("THORCHAT-LINK/1 test vector new key")); hex.EncodeToString(h[:]) != linkNewPriv {
		t.Fatalf("new private key is not SHA-256 of its seed text")
	}
	oldPub, newPub := old.PubKey().SerializeCompressed(), nw.PubKey().SerializeCompressed()
	if hex.EncodeToString(newPub) != linkNewPub {
		t.Fatalf("new public key = %x, want %s", newPub, linkNewPub)
	}
	nonce := bytes.Repeat([]byte{0x33}, 32)
	m, err := sasl.LinkMessage(vecEP, vecAccount, oldPub, newPub, nonce)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(m); got != linkMsgHex {
		t.Fatalf("L = %s\nwant %s", got, linkMsgHex)
	}
	if len(m) != 223 {
		t.Fatalf("len(L) = %d, want 223", len(m))
	}
	if h := sha256.Sum256(m); hex.EncodeToString(h[:]) != linkHash {
		t.Fatalf("SHA-256(L) = %x, want %s", h, linkHash)
	}
	so, sn := sasl.Sign(old, m), sasl.Sign(nw, m)
	if got := base64.StdEncoding.EncodeToString(so[:]); got != linkSigOld {
		t.Fatalf("old key's signature = %s, want %s", got, linkSigOld)
	}
	if got := base64.StdEncoding.EncodeToString(sn[:]); got != linkSigNew {
		t.Fatalf("new key's signature = %s, want %s", got, linkSigNew)
	}
	if err := sasl.VerifyLink(m, so[:], sn[:]); err != nil {
		t.Fatalf("VerifyLink(vector) = %v", err)
	}
	p, err := sasl.ParseLinkMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	if p.Endpoint != vecEP || p.Account != vecAccount || !bytes.Equal(p.OldKey, oldPub) || !bytes.Equal(p.NewKey, newPub) || !bytes.Equal(p.Nonce, nonce) {
		t.Fatalf("ParseLinkMessage = %+v", p)
	}
}

func TestLinkRefusals(t *testing.T) {
	old := vecKey(t)
	nw := secp256k1.PrivKeyFromBytes(mustHex(t, linkNewPriv))
	other, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	oldPub, newPub := old.PubKey().SerializeCompressed(), nw.PubKey().SerializeCompressed()
	nonce := bytes.Repeat([]byte{0x33}, 32)
	m, err := sasl.LinkMessage(vecEP, vecAccount, oldPub, newPub, nonce)
	if err != nil {
		t.Fatal(err)
	}
	so, sn := sasl.Sign(old, m), sasl.Sign(nw, m)
	forged := sasl.Sign(other, m)
	otherHost, _ := sasl.LinkMessage(sasl.Endpoint{Host: "evil.onion", Port: 6667}, vecAccount, oldPub, newPub, nonce)
	otherNonce, _ := sasl.LinkMessage(vecEP, vecAccount, oldPub, newPub, bytes.Repeat([]byte{0x44}, 32))
	login, _ := sasl.Message(vecEP, oldPub, nonce, nonce)
	loginSig := sasl.Sign(old, login)
	tests := []struct {
		name           string
		msg            []byte
		sigOld, sigNew []byte
		want           error
	}{
		{"new key forged", m, so[:], forged[:], sasl.ErrBadSignature},
		{"old key forged", m, forged[:], sn[:], sasl.ErrBadSignature},
		{"signatures swapped", m, sn[:], so[:], sasl.ErrBadSignature},
		{"same signature twice", m, so[:], so[:], sasl.ErrBadSignature},
		{"signed for another host", otherHost, so[:], sn[:], sasl.ErrBadSignature},
		{"signed for another nonce", otherNonce, so[:], sn[:], sasl.ErrBadSignature},
		{"login message is no link", login, loginSig[:], loginSig[:], sasl.ErrMalformed},
		{"truncated", m[:len(m)-1], so[:], sn[:], sasl.ErrMalformed},
		{"short signature", m, so[:63], sn[:], sasl.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := sasl.VerifyLink(tt.msg, tt.sigOld, tt.sigNew); !errors.Is(err, tt.want) {
				t.Fatalf("VerifyLink = %v, want %v", err, tt.want)
			}
		})
	}
	same, _ := sasl.LinkMessage(vecEP, vecAccount, oldPub, oldPub, nonce)
	s1 := sasl.Sign(old, same)
	if err := sasl.VerifyLink(same, s1[:], s1[:]); !errors.Is(err, sasl.ErrMalformed) {
		t.Fatalf("VerifyLink(old == new) = %v, want ErrMalformed", err)
	}
	if _, err := sasl.ParseMessage(m); !errors.Is(err, sasl.ErrMalformed) {
		t.Fatalf("ParseMessage(link message) = %v, want ErrMalformed", err)
	}
}
