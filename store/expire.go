package store

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ExpireAccounts deletes unused accounts (and their read markers, which
// do not keep an account) among at most max accounts, in
// key order after the account named after ("" to start at the first):
// accounts not seen since before that hold nothing (no flags, no kept
// user modes, no claimed nick, accept list, credential, linked key,
// channel registration or channel access) and that keep (when not nil) does not
// hold back. It returns how many it deleted and the name to continue
// after ("" once the end was reached). Candidates are found in a read
// transaction and checked again in the write that deletes them, so a
// concurrent claim, credential or channel keeps its account.
func (db *DB) ExpireAccounts(before time.Time, after string, max int, keep func(name string) bool) (removed int, next string, err error) {
	var cands []string
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAccounts)
		if err != nil {
			return err
		}
		c := b.Cursor()
		k, v := c.First()
		if after != "" {
			k, v = c.Seek([]byte(after))
			if k != nil && string(k) == after {
				k, v = c.Next()
			}
		}
		for n := 0; k != nil && n < max; k, v = c.Next() {
			n++
			next = string(k)
			if ok, err := unusedAccount(tx, k, v, before, keep); err != nil {
				return err
			} else if ok {
				cands = append(cands, string(k))
			}
		}
		if k == nil {
			next = ""
		}
		if len(cands) == 0 {
			return nil
		}
		refs, err := channelAccounts(tx)
		if err != nil {
			return err
		}
		kept := cands[:0]
		for _, name := range cands {
			if !refs[name] {
				kept = append(kept, name)
			}
		}
		cands = kept
		return nil
	})
	if err != nil || len(cands) == 0 {
		return 0, next, wrapExpire(err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		removed = 0
		b, err := bucket(tx, bucketAccounts)
		if err != nil {
			return err
		}
		refs, err := channelAccounts(tx)
		if err != nil {
			return err
		}
		for _, name := range cands {
			v := b.Get([]byte(name))
			if v == nil || refs[name] {
				continue
			}
			if ok, err := unusedAccount(tx, []byte(name), v, before, keep); err != nil || !ok {
				if err != nil {
					return err
				}
				continue
			}
			if err := b.Delete([]byte(name)); err != nil {
				return err
			}
			if err := deleteReadMarkers(tx, name); err != nil {
				return err
			}
			removed++
		}
		return nil
	})
	if err != nil {
		return 0, next, wrapExpire(err)
	}
	return removed, next, nil
}

func wrapExpire(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: expire accounts: %w", err)
}

// unusedAccount reports whether the account stored as k, v was last seen
// before before and holds nothing outside the channels bucket.
func unusedAccount(tx *bolt.Tx, k, v []byte, before time.Time, keep func(string) bool) (bool, error) {
	a, err := decodeAccount(string(k), v)
	if err != nil {
		return false, err
	}
	if !a.LastSeen.Before(before) || a.Flags != 0 || a.UModes != "" || keep != nil && keep(a.Name) {
		return false, nil
	}
	prefix := pairKey(a.Name, "")
	for _, name := range [][]byte{bucketAcctNicks, bucketAccept, bucketCreds, bucketAcctKeys} {
		b, err := bucket(tx, name)
		if err != nil {
			return false, err
		}
		if k, _ := b.Cursor().Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
			return false, nil
		}
	}
	return true, nil
}

// channelAccounts returns the accounts that found or have access to a
// registered channel.
func channelAccounts(tx *bolt.Tx) (map[string]bool, error) {
	b, err := bucket(tx, bucketChannels)
	if err != nil {
		return nil, err
	}
	refs := map[string]bool{}
	err = b.ForEach(func(k, v []byte) error {
		rec, err := decodeChannel(k, v)
		if err != nil {
			return err
		}
		refs[rec.Founder] = true
		for _, e := range rec.Access {
			refs[e.Account] = true
		}
		return nil
	})
	return refs, err
}
