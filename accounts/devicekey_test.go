package accounts

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

// TestParseDeviceKey: the forms a user may paste into DEVICE ADD,
// including what weechat 3.8 prints when X has its top bit set (GnuTLS
// exports X with a leading zero byte: 34 bytes).
func TestParseDeviceKey(t *testing.T) {
	var k *ecdsa.PrivateKey
	for {
		var err error
		if k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			t.Fatal(err)
		}
		if raw, _ := k.PublicKey.Bytes(); raw[1]&0x80 != 0 {
			break // a key weechat prints with the extra zero
		}
	}
	unc, _ := k.PublicKey.Bytes()
	comp := append([]byte{2 | unc[64]&1}, unc[1:33]...)
	weechat := append([]byte{comp[0], 0}, comp[1:]...)
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"base64 compressed", base64.StdEncoding.EncodeToString(comp), true},
		{"hex compressed", hex.EncodeToString(comp), true},
		{"hex uncompressed", hex.EncodeToString(unc), true},
		{"weechat 3.8 with a leading zero", base64.StdEncoding.EncodeToString(weechat), true},
		{"leading zero, bad prefix", base64.StdEncoding.EncodeToString(append([]byte{4, 0}, comp[1:]...)), false},
		{"truncated", base64.StdEncoding.EncodeToString(comp[:32]), false},
		{"not on the curve", base64.StdEncoding.EncodeToString(append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...)), false},
		{"garbage", "not a key!", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		got, err := ParseDeviceKey(tc.in)
		if !tc.ok {
			if err == nil {
				t.Errorf("%s: accepted", tc.name)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, comp) {
			t.Errorf("%s: %x, %v; want %x", tc.name, got, err, comp)
		}
	}
}
