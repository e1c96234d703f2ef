package accounts

import (
	"sync"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/thorchat/thorchat/sasl"
)

// DefaultKeyCache is how many verified public keys a Service keeps parsed
// unless its Config says otherwise.
const DefaultKeyCache = 10000

// keyCache remembers the parsed public keys of recent successful logins,
// so that a returning key is not decompressed (a square root in the
// field, about 11 µs) at every login. It holds at most max keys; when full,
// an arbitrary one makes room. Only keys whose signature verified are
// added, so failed attempts cannot churn it. The cached points are only
// read (verification copies them), so goroutines share them.
type keyCache struct {
	mu  sync.Mutex
	max int
	m   map[[sasl.PubKeyLen]byte]*secp256k1.PublicKey
}

// newKeyCache returns a cache of at most max keys; max ≤ 0 turns it off.
func newKeyCache(max int) *keyCache {
	if max <= 0 {
		return nil
	}
	return &keyCache{max: max, m: make(map[[sasl.PubKeyLen]byte]*secp256k1.PublicKey, min(max, 1024))}
}

// parse is a sasl.KeyParser: the cached point for pub33, or
// sasl.ParsePubKey's result (not cached: the login has not succeeded yet).
func (k *keyCache) parse(pub33 []byte) (*secp256k1.PublicKey, error) {
	if k != nil && len(pub33) == sasl.PubKeyLen {
		k.mu.Lock()
		pk := k.m[[sasl.PubKeyLen]byte(pub33)]
		k.mu.Unlock()
		if pk != nil {
			return pk, nil
		}
	}
	return sasl.ParsePubKey(pub33)
}

// add remembers pk, the verified key whose compressed form is pub33.
func (k *keyCache) add(pub33 []byte, pk *secp256k1.PublicKey) {
	if k == nil || pk == nil || len(pub33) != sasl.PubKeyLen {
		return
	}
	key := [sasl.PubKeyLen]byte(pub33)
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.m[key]; !ok && len(k.m) >= k.max {
		for old := range k.m { // map order: an arbitrary entry
			delete(k.m, old)
			break
		}
	}
	k.m[key] = pk
}

// len returns how many keys are cached.
func (k *keyCache) len() int {
	if k == nil {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}
