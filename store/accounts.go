package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/thorchat/thorchat/record"
)

// Account flags.
const (
	// FlagBanned marks an account that may not log in.
	FlagBanned uint32 = 1 << iota
)

// Account is a registered identity, keyed by its name (a thor1… address
// derived from PubKey by the caller).
type Account struct {
	Name     string    `json:"name"`
	PubKey   []byte    `json:"pubkey"` // 33-byte compressed secp256k1 key
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"last_seen"`
	Flags    uint32    `json:"flags"`
	// UModes are the user modes the account keeps across logins, letters
	// of UserModeLetters (SetUserModes).
	UModes string `json:"umodes,omitempty"`
}

// UserModeLetters are the user modes an account may keep across logins
// (record.KeptUserModes).
const UserModeLetters = record.KeptUserModes

func decodeAccount(name string, v []byte) (Account, error) {
	var a Account
	if err := json.Unmarshal(v, &a); err != nil {
		return Account{}, fmt.Errorf("%w: account %q: %v", ErrCorrupt, name, err)
	}
	return a, nil
}

func getAccount(b *bolt.Bucket, name string) (Account, bool, error) {
	v := b.Get([]byte(name))
	if v == nil {
		return Account{}, false, nil
	}
	a, err := decodeAccount(name, v)
	return a, err == nil, err
}

func putAccount(b *bolt.Bucket, a Account) error {
	v, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode account: %w", err)
	}
	return b.Put([]byte(a.Name), v)
}

// storeTime normalises a time for storage: UTC, no monotonic reading.
func storeTime(t time.Time) time.Time { return t.UTC().Round(0) }

// LoginAccount returns the account name, creating it (created == true) on
// first login, and records now as LastSeen. A returning login whose stored
// LastSeen is newer than Options.LastSeenResolution is read-only. Creations
// from concurrent callers share commits (bbolt Batch). The caller checks
// Flags (e.g. FlagBanned). ErrKeyMismatch if name exists with another key.
func (db *DB) LoginAccount(pub33 []byte, name string, now time.Time) (acct Account, created bool, err error) {
	return db.LoginAccountIf(pub33, name, now, nil)
}

// LoginAccountIf is LoginAccount that asks mayCreate (when not nil) before
// it creates an account: only when name does not exist yet, so returning
// logins never call it. An error from mayCreate is returned as it is, and
// nothing is written.
func (db *DB) LoginAccountIf(pub33 []byte, name string, now time.Time, mayCreate func() error) (acct Account, created bool, err error) {
	if err := checkKey("account name", name); err != nil {
		return Account{}, false, err
	}
	if len(pub33) != PubKeyLen {
		return Account{}, false, fmt.Errorf("%w: public key is %d bytes, want %d", ErrInvalid, len(pub33), PubKeyLen)
	}
	now = storeTime(now)
	var found bool
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAccounts)
		if err != nil {
			return err
		}
		acct, found, err = getAccount(b, name)
		return err
	})
	if err != nil {
		return Account{}, false, fmt.Errorf("store: login %q: %w", name, err)
	}
	return db.loginAccountRead(pub33, name, now, mayCreate, acct, found)
}

// loginAccountRead finishes LoginAccountIf once the account has been read
// (acct, found) in a read transaction; now is already in store time.
func (db *DB) loginAccountRead(pub33 []byte, name string, now time.Time, mayCreate func() error, acct Account, found bool) (_ Account, created bool, err error) {
	if found {
		if !bytes.Equal(acct.PubKey, pub33) {
			return Account{}, false, fmt.Errorf("store: login %q: %w", name, ErrKeyMismatch)
		}
		if now.Sub(acct.LastSeen) < db.opts.LastSeenResolution {
			return acct, false, nil
		}
	} else if mayCreate != nil {
		if err := mayCreate(); err != nil {
			return Account{}, false, err
		}
	}
	// Batch may run fn more than once: it must be idempotent and reset its
	// outputs on each run.
	err = db.batch(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAccounts)
		if err != nil {
			return err
		}
		a, ok, err := getAccount(b, name)
		if err != nil {
			return err
		}
		created = !ok
		if ok {
			if !bytes.Equal(a.PubKey, pub33) {
				return ErrKeyMismatch
			}
			if !now.After(a.LastSeen) {
				acct = a
				return nil
			}
		} else {
			a = Account{Name: name, PubKey: bytes.Clone(pub33), Created: now}
		}
		a.LastSeen = now
		acct = a
		return putAccount(b, a)
	})
	if err != nil {
		return Account{}, false, fmt.Errorf("store: login %q: %w", name, err)
	}
	return acct, created, nil
}

// GetAccount returns the named account or ErrNotFound.
func (db *DB) GetAccount(name string) (Account, error) {
	if err := checkKey("account name", name); err != nil {
		return Account{}, err
	}
	var a Account
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAccounts)
		if err != nil {
			return err
		}
		var ok bool
		a, ok, err = getAccount(b, name)
		if err == nil && !ok {
			err = ErrNotFound
		}
		return err
	})
	if err != nil {
		return Account{}, fmt.Errorf("store: get account %q: %w", name, err)
	}
	return a, nil
}

// SetAccountFlags sets then clears flag bits on the named account in one
// transaction and returns the updated account (ErrNotFound if absent).
func (db *DB) SetAccountFlags(name string, set, clear uint32) (Account, error) {
	return db.updateAccount(name, "set flags", func(a *Account) { a.Flags = (a.Flags | set) &^ clear })
}

// SetUserModes records the user modes the named account keeps across
// logins: letters of UserModeLetters, each at most once ("" for none).
// ErrInvalid for anything else, ErrNotFound if the account is absent.
func (db *DB) SetUserModes(name, modes string) error {
	for i := 0; i < len(modes); i++ {
		if !strings.ContainsRune(UserModeLetters, rune(modes[i])) || strings.IndexByte(modes[i+1:], modes[i]) >= 0 {
			return fmt.Errorf("store: set user modes of %q: %w: %q is not a set of %s", name, ErrInvalid, modes, UserModeLetters)
		}
	}
	_, err := db.updateAccount(name, "set user modes", func(a *Account) { a.UModes = modes })
	return err
}

// updateAccount applies fn to the named account in one transaction and
// returns the result (ErrNotFound if absent); what names the change in
// errors.
func (db *DB) updateAccount(name, what string, fn func(*Account)) (Account, error) {
	if err := checkKey("account name", name); err != nil {
		return Account{}, err
	}
	var a Account
	err := db.update(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAccounts)
		if err != nil {
			return err
		}
		var ok bool
		if a, ok, err = getAccount(b, name); err != nil {
			return err
		} else if !ok {
			return ErrNotFound
		}
		fn(&a)
		return putAccount(b, a)
	})
	if err != nil {
		return Account{}, fmt.Errorf("store: %s of %q: %w", what, name, err)
	}
	return a, nil
}

// CountAccounts returns the number of registered accounts.
func (db *DB) CountAccounts() (int, error) {
	var n int
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAccounts)
		if err != nil {
			return err
		}
		n = b.Stats().KeyN
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: count accounts: %w", err)
	}
	return n, nil
}

// accountExists reports whether name is a registered account.
func accountExists(tx *bolt.Tx, name string) error {
	b, err := bucket(tx, bucketAccounts)
	if err != nil {
		return err
	}
	if b.Get([]byte(name)) == nil {
		return fmt.Errorf("account %q: %w", name, ErrNotFound)
	}
	return nil
}
