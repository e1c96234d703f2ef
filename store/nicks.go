package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Nick keys are casefolded by the caller; the store compares bytes.

// ClaimNick registers folded to account. Claiming a nick the account already
// owns is a no-op. ErrNickTaken if another account owns it, ErrTooManyNicks
// at Options.MaxNicksPerAccount, ErrNotFound if the account does not exist.
func (db *DB) ClaimNick(folded, account string) error {
	if err := checkKey("nick", folded); err != nil {
		return err
	}
	if err := checkKey("account name", account); err != nil {
		return err
	}
	err := db.update(func(tx *bolt.Tx) error {
		nb, err := bucket(tx, bucketNicks)
		if err != nil {
			return err
		}
		an, err := bucket(tx, bucketAcctNicks)
		if err != nil {
			return err
		}
		if owner := nb.Get([]byte(folded)); owner != nil {
			if string(owner) == account {
				return nil
			}
			return ErrNickTaken
		}
		if err := accountExists(tx, account); err != nil {
			return err
		}
		if countPairs(an, account, db.opts.MaxNicksPerAccount) >= db.opts.MaxNicksPerAccount {
			return fmt.Errorf("%w (limit %d)", ErrTooManyNicks, db.opts.MaxNicksPerAccount)
		}
		if err := nb.Put([]byte(folded), []byte(account)); err != nil {
			return err
		}
		return an.Put(pairKey(account, folded), nil)
	})
	if err != nil {
		return fmt.Errorf("store: claim nick %q: %w", folded, err)
	}
	return nil
}

// NickOwner returns the account owning folded, if any.
func (db *DB) NickOwner(folded string) (account string, ok bool, err error) {
	if err := checkKey("nick", folded); err != nil {
		return "", false, err
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		nb, err := bucket(tx, bucketNicks)
		if err != nil {
			return err
		}
		if v := nb.Get([]byte(folded)); v != nil {
			account, ok = string(v), true
		}
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("store: nick owner %q: %w", folded, err)
	}
	return account, ok, nil
}

// ReleaseNick drops account's claim on folded. ErrNotFound if the nick is
// not registered, ErrNotOwner if another account owns it.
func (db *DB) ReleaseNick(folded, account string) error {
	if err := checkKey("nick", folded); err != nil {
		return err
	}
	if err := checkKey("account name", account); err != nil {
		return err
	}
	err := db.update(func(tx *bolt.Tx) error {
		nb, err := bucket(tx, bucketNicks)
		if err != nil {
			return err
		}
		an, err := bucket(tx, bucketAcctNicks)
		if err != nil {
			return err
		}
		switch owner := nb.Get([]byte(folded)); {
		case owner == nil:
			return ErrNotFound
		case string(owner) != account:
			return ErrNotOwner
		}
		if err := nb.Delete([]byte(folded)); err != nil {
			return err
		}
		return an.Delete(pairKey(account, folded))
	})
	if err != nil {
		return fmt.Errorf("store: release nick %q: %w", folded, err)
	}
	return nil
}

// NicksOf returns the folded nicks owned by account, sorted bytewise
// (empty if none).
func (db *DB) NicksOf(account string) ([]string, error) {
	if err := checkKey("account name", account); err != nil {
		return nil, err
	}
	var out []string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		an, err := bucket(tx, bucketAcctNicks)
		if err != nil {
			return err
		}
		out = listPairs(an, account)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: nicks of %q: %w", account, err)
	}
	return out, nil
}

// AllNicks returns every claimed nick (folded) with its owning account.
// The host reads it once at start and serves nick ownership from memory.
func (db *DB) AllNicks() (map[string]string, error) {
	out := map[string]string{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		nb, err := bucket(tx, bucketNicks)
		if err != nil {
			return err
		}
		return nb.ForEach(func(k, v []byte) error {
			out[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: all nicks: %w", err)
	}
	return out, nil
}
