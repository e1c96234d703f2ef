package store

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Linked keys: an account that outlives its first key. An account starts
// with the one key its name is derived from; once a second key is linked,
// the account's keys are listed in bucketAcctKeys and every listed key is
// indexed in bucketKeyAccounts, so that a login with any of them resolves
// to the account. A key removed from such a list can no longer log in to
// the account, not even the key the account's name comes from.

var (
	bucketKeyAccounts = []byte("key_accounts") // hex(pub33) -> account name
	bucketAcctKeys    = []byte("acct_keys")    // account NUL hex(pub33) -> JSON KeyLink
)

// Key-link errors.
var (
	// ErrKeyInUse means the key to link is already a key of an account (this
	// one or another), or its own account holds state (nicks, credentials,
	// linked keys, a ban) that linking would orphan or bypass.
	ErrKeyInUse = errors.New("store: key is already in use by an account")
	// ErrKeyUnlinked means the key was unlinked from the account its name
	// belongs to and cannot log in to it any more.
	ErrKeyUnlinked = errors.New("store: key was unlinked from its account")
	// ErrLastKey means the key is the account's last one.
	ErrLastKey = errors.New("store: the last key of an account cannot be unlinked")
	// ErrNotLinked means a key is not one of the account's keys.
	ErrNotLinked = errors.New("store: key is not linked to this account")
)

// KeyLink is one key of an account.
type KeyLink struct {
	Account string    `json:"account"`
	PubKey  []byte    `json:"pubkey"` // 33-byte compressed secp256k1 key
	Added   time.Time `json:"added"`
}

func decodeKeyLink(k, v []byte) (KeyLink, error) {
	var l KeyLink
	if err := json.Unmarshal(v, &l); err != nil {
		return KeyLink{}, fmt.Errorf("%w: key link %q: %v", ErrCorrupt, k, err)
	}
	if len(l.PubKey) != PubKeyLen || !bytes.Equal(pairKey(l.Account, hex.EncodeToString(l.PubKey)), k) {
		return KeyLink{}, fmt.Errorf("%w: key link stored under key %q is inconsistent", ErrCorrupt, k)
	}
	return l, nil
}

func checkPub(pub33 []byte) error {
	if len(pub33) != PubKeyLen {
		return fmt.Errorf("%w: public key is %d bytes, want %d", ErrInvalid, len(pub33), PubKeyLen)
	}
	return nil
}

// keyLinkTx groups the buckets a key-link transaction reads.
type keyLinkTx struct {
	accounts, index, links *bolt.Bucket
}

func openKeyLinks(tx *bolt.Tx) (keyLinkTx, error) {
	var k keyLinkTx
	var err error
	if k.accounts, err = bucket(tx, bucketAccounts); err != nil {
		return k, err
	}
	if k.index, err = bucket(tx, bucketKeyAccounts); err != nil {
		return k, err
	}
	k.links, err = bucket(tx, bucketAcctKeys)
	return k, err
}

// keysOf lists the keys of an account with links (nil for an account that
// still has only the key its name comes from).
func (k keyLinkTx) keysOf(account string) ([]KeyLink, error) {
	var out []KeyLink
	prefix := pairKey(account, "")
	c := k.links.Cursor()
	for key, v := c.Seek(prefix); key != nil && bytes.HasPrefix(key, prefix); key, v = c.Next() {
		l, err := decodeKeyLink(key, v)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func (k keyLinkTx) put(l KeyLink) error {
	v, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("encode key link: %w", err)
	}
	h := hex.EncodeToString(l.PubKey)
	if err := k.links.Put(pairKey(l.Account, h), v); err != nil {
		return err
	}
	return k.index.Put([]byte(h), []byte(l.Account))
}

// resolve returns the account pub33 logs in to: the account it is linked
// to, or ownName (the account derived from the key) when the key is not
// linked anywhere and ownName has no linked keys. ErrKeyUnlinked when
// ownName has linked keys and pub33 is not one of them.
func (k keyLinkTx) resolve(pub33 []byte, ownName string) (string, bool, error) {
	if acct := k.index.Get([]byte(hex.EncodeToString(pub33))); acct != nil {
		return string(acct), true, nil
	}
	if countPairs(k.links, ownName, 1) > 0 {
		return "", false, ErrKeyUnlinked
	}
	return ownName, false, nil
}

// LoginKey is LoginAccount for a key that may be linked to an account: a
// linked key logs in to the account it is linked to (the account's LastSeen
// is kept as LoginAccount keeps it), any other key to ownName, the account
// derived from it. ErrKeyUnlinked when the key was unlinked from ownName.
func (db *DB) LoginKey(pub33 []byte, ownName string, now time.Time, mayCreate func() error) (Account, bool, error) {
	if err := checkPub(pub33); err != nil {
		return Account{}, false, err
	}
	if err := checkKey("account name", ownName); err != nil {
		return Account{}, false, err
	}
	var (
		acct          Account
		name          string
		linked, found bool
	)
	// one read transaction resolves the key and reads the account it logs
	// in to, linked or its own
	err := db.bolt.View(func(tx *bolt.Tx) error {
		k, err := openKeyLinks(tx)
		if err != nil {
			return err
		}
		if name, linked, err = k.resolve(pub33, ownName); err != nil {
			return err
		}
		var ok bool
		acct, ok, err = getAccount(k.accounts, name)
		if err == nil && !ok && linked {
			err = fmt.Errorf("%w: key index names unknown account %q", ErrCorrupt, name)
		}
		found = ok
		return err
	})
	if err != nil {
		return Account{}, false, fmt.Errorf("store: login with key: %w", err)
	}
	if !linked {
		return db.loginAccountRead(pub33, ownName, storeTime(now), mayCreate, acct, found)
	}
	now = storeTime(now)
	if now.Sub(acct.LastSeen) < db.opts.LastSeenResolution {
		return acct, false, nil
	}
	err = db.batch(func(tx *bolt.Tx) error {
		k, err := openKeyLinks(tx)
		if err != nil {
			return err
		}
		if got := k.index.Get([]byte(hex.EncodeToString(pub33))); string(got) != name {
			return ErrKeyUnlinked // unlinked meanwhile
		}
		a, ok, err := getAccount(k.accounts, name)
		if err != nil || !ok {
			return fmt.Errorf("%w: account %q vanished", ErrCorrupt, name)
		}
		if now.After(a.LastSeen) {
			a.LastSeen = now
			if err := putAccount(k.accounts, a); err != nil {
				return err
			}
		}
		acct = a
		return nil
	})
	if err != nil {
		return Account{}, false, fmt.Errorf("store: login with key to %q: %w", name, err)
	}
	return acct, false, nil
}

// AllKeyLinks lists the keys of every account with linked keys, by
// account (accounts that still have only the key their name comes from
// are not listed).
func (db *DB) AllKeyLinks() ([]KeyLink, error) {
	var out []KeyLink
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAcctKeys)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			l, err := decodeKeyLink(k, v)
			if err == nil {
				out = append(out, l)
			}
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: all key links: %w", err)
	}
	return out, nil
}

// AccountKeys lists the keys that log in to account, in key order: the
// linked keys, or the one key the account was created with.
// ErrNotFound without the account.
func (db *DB) AccountKeys(account string) ([]KeyLink, error) {
	if err := checkKey("account name", account); err != nil {
		return nil, err
	}
	var out []KeyLink
	err := db.bolt.View(func(tx *bolt.Tx) error {
		k, err := openKeyLinks(tx)
		if err != nil {
			return err
		}
		a, ok, err := getAccount(k.accounts, account)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		if out, err = k.keysOf(account); err == nil && len(out) == 0 {
			out = []KeyLink{{Account: account, PubKey: a.PubKey, Added: a.Created}}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: keys of %q: %w", account, err)
	}
	return out, nil
}

// LinkKey adds newPub to account's keys, on behalf of oldPub (a key of the
// account) that signed for it; newName is the account derived from newPub.
// It refuses with ErrKeyInUse when newPub already logs in to an account
// (this one included) or its own account newName holds nicks,
// credentials, linked keys or a ban; ErrNotLinked when oldPub is not a key
// of account; ErrListFull past max keys; ErrNotFound without the account.
func (db *DB) LinkKey(account string, oldPub, newPub []byte, newName string, max int, now time.Time) error {
	if err := checkKey("account name", account); err != nil {
		return err
	}
	if err := checkKey("account name", newName); err != nil {
		return err
	}
	if err := checkPub(oldPub); err != nil {
		return err
	}
	if err := checkPub(newPub); err != nil {
		return err
	}
	now = storeTime(now)
	err := db.update(func(tx *bolt.Tx) error {
		k, err := openKeyLinks(tx)
		if err != nil {
			return err
		}
		a, ok, err := getAccount(k.accounts, account)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		keys, err := k.keysOf(account)
		if err != nil {
			return err
		}
		if len(keys) == 0 { // the account's first link lists its own key first
			if k.index.Get([]byte(hex.EncodeToString(a.PubKey))) != nil {
				return ErrNotLinked // its key logs in to another account now
			}
			keys = []KeyLink{{Account: account, PubKey: a.PubKey, Added: a.Created}}
			if err := k.put(keys[0]); err != nil {
				return err
			}
		}
		hasOld := false
		for _, l := range keys {
			hasOld = hasOld || bytes.Equal(l.PubKey, oldPub)
		}
		if !hasOld {
			return ErrNotLinked
		}
		if k.index.Get([]byte(hex.EncodeToString(newPub))) != nil {
			return ErrKeyInUse
		}
		if newName != account {
			if err := ownAccountFree(tx, k, newName); err != nil {
				return err
			}
		}
		if max <= 0 || len(keys) >= max {
			return fmt.Errorf("%w (limit %d keys)", ErrListFull, max)
		}
		return k.put(KeyLink{Account: account, PubKey: bytes.Clone(newPub), Added: now})
	})
	if err != nil {
		return fmt.Errorf("store: link key to %q: %w", account, err)
	}
	return nil
}

// ownAccountFree refuses a key whose own account holds anything that
// linking the key elsewhere would orphan (nicks, credentials, linked keys)
// or bypass (a ban). A bare account record (the key logged in once) is no
// obstacle.
func ownAccountFree(tx *bolt.Tx, k keyLinkTx, name string) error {
	a, ok, err := getAccount(k.accounts, name)
	if err != nil || !ok {
		return err
	}
	if a.Flags&FlagBanned != 0 {
		return fmt.Errorf("%w: its own account is banned", ErrKeyInUse)
	}
	if countPairs(k.links, name, 1) > 0 {
		return fmt.Errorf("%w: its own account has linked keys", ErrKeyInUse)
	}
	for _, bn := range [][]byte{bucketAcctNicks, bucketCreds} {
		b, err := bucket(tx, bn)
		if err != nil {
			return err
		}
		if countPairs(b, name, 1) > 0 {
			return fmt.Errorf("%w: its own account holds nicks or credentials", ErrKeyInUse)
		}
	}
	return nil
}

// UnlinkKey removes pub33 from account's keys, on behalf of by, another key
// of the account. ErrNotLinked when either is not a key of the account,
// ErrLastKey when pub33 is its only key, ErrInvalid when by is pub33.
func (db *DB) UnlinkKey(account string, pub33, by []byte) error {
	if err := checkKey("account name", account); err != nil {
		return err
	}
	if err := checkPub(pub33); err != nil {
		return err
	}
	if err := checkPub(by); err != nil {
		return err
	}
	err := db.update(func(tx *bolt.Tx) error {
		k, err := openKeyLinks(tx)
		if err != nil {
			return err
		}
		keys, err := k.keysOf(account)
		if err != nil {
			return err
		}
		if len(keys) == 0 { // never linked: the account's own key only
			if a, ok, err := getAccount(k.accounts, account); err != nil {
				return err
			} else if ok && k.index.Get([]byte(hex.EncodeToString(a.PubKey))) == nil {
				keys = []KeyLink{{Account: account, PubKey: a.PubKey}}
			}
		}
		var hasKey, hasBy bool
		for _, l := range keys {
			hasKey = hasKey || bytes.Equal(l.PubKey, pub33)
			hasBy = hasBy || bytes.Equal(l.PubKey, by)
		}
		switch {
		case !hasKey || !hasBy:
			return ErrNotLinked
		case len(keys) < 2:
			return ErrLastKey
		case bytes.Equal(pub33, by):
			return fmt.Errorf("%w: a key cannot unlink itself", ErrInvalid)
		}
		h := hex.EncodeToString(pub33)
		if err := k.links.Delete(pairKey(account, h)); err != nil {
			return err
		}
		return k.index.Delete([]byte(h))
	})
	if err != nil {
		return fmt.Errorf("store: unlink key of %q: %w", account, err)
	}
	return nil
}

// checkKeyLinks checks that the key index and the accounts' key lists
// match each other and name existing accounts (part of checkContent).
func checkKeyLinks(tx *bolt.Tx) error {
	k, err := openKeyLinks(tx)
	if err != nil {
		return err
	}
	if err := k.links.ForEach(func(key, v []byte) error {
		l, err := decodeKeyLink(key, v)
		if err != nil {
			return err
		}
		if k.accounts.Get([]byte(l.Account)) == nil {
			return corruptf("key link %q belongs to an unknown account", key)
		}
		if got := k.index.Get([]byte(hex.EncodeToString(l.PubKey))); string(got) != l.Account {
			return corruptf("key link %q is missing from the key index", key)
		}
		return nil
	}); err != nil {
		return err
	}
	return k.index.ForEach(func(key, v []byte) error {
		if k.links.Get(pairKey(string(v), string(key))) == nil {
			return corruptf("key index entry %q has no key link", key)
		}
		return nil
	})
}
