package accounts

import (
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/thorchat/thorchat/sasl"
)

func TestKeyCache(t *testing.T) {
	keys := make([][]byte, 5)
	for i := range keys {
		k, err := secp256k1.GeneratePrivateKey()
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k.PubKey().SerializeCompressed()
	}
	c := newKeyCache(3)
	// a parse alone caches nothing: the login has not succeeded yet
	pk, err := c.parse(keys[0])
	if err != nil || c.len() != 0 {
		t.Fatalf("parse: %v, %d cached", err, c.len())
	}
	c.add(keys[0], pk)
	again, err := c.parse(keys[0])
	if err != nil || again != pk {
		t.Fatalf("a verified key is not served from the cache: %v", err)
	}
	for _, k := range keys[1:] {
		p, err := sasl.ParsePubKey(k)
		if err != nil {
			t.Fatal(err)
		}
		c.add(k, p)
		if c.len() > 3 {
			t.Fatalf("%d keys cached, bound 3", c.len())
		}
	}
	// bad keys fail as sasl.ParsePubKey fails, cached or not
	bad := append([]byte{0x04}, keys[1][1:]...)
	if _, err := c.parse(bad); err == nil {
		t.Fatal("an uncompressed-prefix key parsed")
	}
	if _, err := c.parse(keys[1][:20]); err == nil {
		t.Fatal("a short key parsed")
	}
	// off
	var off *keyCache = newKeyCache(0)
	off.add(keys[0], pk)
	if p, err := off.parse(keys[0]); err != nil || p == nil || off.len() != 0 {
		t.Fatalf("disabled cache: %v", err)
	}
}
