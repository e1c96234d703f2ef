package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Accept lists (caller ID): per account, a bounded set of accepted accounts
// or folded nicks. Entries are opaque strings to the store.

// AcceptAdd adds entry to account's accept list. Adding an entry already
// present is a no-op. ErrListFull if the list already holds max entries,
// ErrNotFound if the account does not exist.
func (db *DB) AcceptAdd(account, entry string, max int) error {
	if err := checkKey("account name", account); err != nil {
		return err
	}
	if err := checkKey("accept entry", entry); err != nil {
		return err
	}
	err := db.update(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAccept)
		if err != nil {
			return err
		}
		k := pairKey(account, entry)
		if b.Get(k) != nil {
			return nil
		}
		if err := accountExists(tx, account); err != nil {
			return err
		}
		if max <= 0 || countPairs(b, account, max) >= max {
			return fmt.Errorf("%w (limit %d)", ErrListFull, max)
		}
		return b.Put(k, nil)
	})
	if err != nil {
		return fmt.Errorf("store: accept add for %q: %w", account, err)
	}
	return nil
}

// AcceptDel removes entry from account's accept list, or returns ErrNotFound.
func (db *DB) AcceptDel(account, entry string) error {
	if err := checkKey("account name", account); err != nil {
		return err
	}
	if err := checkKey("accept entry", entry); err != nil {
		return err
	}
	err := db.update(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAccept)
		if err != nil {
			return err
		}
		k := pairKey(account, entry)
		if b.Get(k) == nil {
			return ErrNotFound
		}
		return b.Delete(k)
	})
	if err != nil {
		return fmt.Errorf("store: accept del for %q: %w", account, err)
	}
	return nil
}

// AcceptClear empties account's accept list.
func (db *DB) AcceptClear(account string) error {
	if err := checkKey("account name", account); err != nil {
		return err
	}
	err := db.update(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAccept)
		if err != nil {
			return err
		}
		for _, e := range listPairs(b, account) {
			if err := b.Delete(pairKey(account, e)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: accept clear for %q: %w", account, err)
	}
	return nil
}

// AcceptList returns account's accept list, sorted bytewise.
func (db *DB) AcceptList(account string) ([]string, error) {
	if err := checkKey("account name", account); err != nil {
		return nil, err
	}
	var out []string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAccept)
		if err != nil {
			return err
		}
		out = listPairs(b, account)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: accept list for %q: %w", account, err)
	}
	return out, nil
}
