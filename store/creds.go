package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Device credentials an account enrols so that stock clients can log in
// without the node key: P-256 device keys (SASL ecdsa-nist256p-challenge)
// and tokens (SASL PLAIN; only a slow hash is stored).

// Credential kinds.
const (
	CredDeviceKey = "device" // PubKey: 33-byte compressed P-256 point
	CredToken     = "token"  // TokenID and Hash (bcrypt) of the secret
)

// ErrExists means a credential with that label already exists.
var ErrExists = errors.New("store: a credential with that label exists")

var bucketCreds = []byte("creds") // account NUL label -> JSON Credential

// Credential is one enrolled device key or token.
type Credential struct {
	Account string    `json:"account"`
	Label   string    `json:"label"`
	Kind    string    `json:"kind"`
	PubKey  []byte    `json:"pubkey,omitempty"`
	TokenID string    `json:"token_id,omitempty"`
	Hash    []byte    `json:"hash,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"` // zero: never
}

// Expired reports whether c has expired at now.
func (c Credential) Expired(now time.Time) bool {
	return !c.Expires.IsZero() && !now.Before(c.Expires)
}

func decodeCred(k, v []byte) (Credential, error) {
	var c Credential
	if err := json.Unmarshal(v, &c); err != nil {
		return Credential{}, fmt.Errorf("%w: credential %q: %v", ErrCorrupt, k, err)
	}
	if !bytes.Equal(pairKey(c.Account, c.Label), k) {
		return Credential{}, fmt.Errorf("%w: credential stored under key %q is inconsistent", ErrCorrupt, k)
	}
	return c, nil
}

// AddCredential stores c under its account and label. ErrExists if the
// label is taken, ErrListFull past max credentials, ErrNotFound without
// the account.
func (db *DB) AddCredential(c Credential, max int) error {
	if err := checkKey("account name", c.Account); err != nil {
		return err
	}
	if err := checkKey("credential label", c.Label); err != nil {
		return err
	}
	if c.Kind != CredDeviceKey && c.Kind != CredToken {
		return fmt.Errorf("%w: credential kind %q", ErrInvalid, c.Kind)
	}
	c.Created, c.Expires = storeTime(c.Created), storeTime(c.Expires)
	if c.Expires.Equal(time.Unix(0, 0).UTC()) {
		c.Expires = time.Time{}
	}
	v, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode credential: %w", err)
	}
	err = db.update(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketCreds)
		if err != nil {
			return err
		}
		k := pairKey(c.Account, c.Label)
		if b.Get(k) != nil {
			return ErrExists
		}
		if err := accountExists(tx, c.Account); err != nil {
			return err
		}
		if max <= 0 || countPairs(b, c.Account, max) >= max {
			return fmt.Errorf("%w (limit %d)", ErrListFull, max)
		}
		return b.Put(k, v)
	})
	if err != nil {
		return fmt.Errorf("store: add credential for %q: %w", c.Account, err)
	}
	return nil
}

// Credentials lists an account's credentials in label order.
func (db *DB) Credentials(account string) ([]Credential, error) {
	if err := checkKey("account name", account); err != nil {
		return nil, err
	}
	var out []Credential
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketCreds)
		if err != nil {
			return err
		}
		prefix := pairKey(account, "")
		cur := b.Cursor()
		for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			c, err := decodeCred(k, v)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: credentials of %q: %w", account, err)
	}
	return out, nil
}

// RevokeCredential deletes one credential, or returns ErrNotFound.
func (db *DB) RevokeCredential(account, label string) error {
	if err := checkKey("account name", account); err != nil {
		return err
	}
	if err := checkKey("credential label", label); err != nil {
		return err
	}
	err := db.update(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketCreds)
		if err != nil {
			return err
		}
		k := pairKey(account, label)
		if b.Get(k) == nil {
			return ErrNotFound
		}
		return b.Delete(k)
	})
	if err != nil {
		return fmt.Errorf("store: revoke credential %q of %q: %w", label, account, err)
	}
	return nil
}

// RevokeAllCredentials deletes every credential of an account (when its
// key is banned) and returns how many there were.
func (db *DB) RevokeAllCredentials(account string) (int, error) {
	if err := checkKey("account name", account); err != nil {
		return 0, err
	}
	n := 0
	err := db.update(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketCreds)
		if err != nil {
			return err
		}
		for _, label := range listPairs(b, account) {
			if err := b.Delete(pairKey(account, label)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: revoke credentials of %q: %w", account, err)
	}
	return n, nil
}
