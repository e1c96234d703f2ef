package store

import (
	"bytes"

	"runtime/debug"

	bolt "go.etcd.io/bbolt"
)

// checkContent decodes every record and checks the cross-references
// between buckets, so that damage inside values (which bbolt does not
// checksum) is found at Open rather than at first use. Read-only.
func (db *DB) checkContent() (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = corruptf("reading records: %v", r)
		}
	}()
	return db.bolt.View(func(tx *bolt.Tx) error {
		var bs [5]*bolt.Bucket
		for i, name := range allDataBuckets {
			b, err := bucket(tx, name)
			if err != nil {
				return err
			}
			bs[i] = b
		}
		accounts, nicks, acctNicks, channels, accept := bs[0], bs[1], bs[2], bs[3], bs[4]
		if err := accounts.ForEach(func(k, v []byte) error {
			a, err := decodeAccount(string(k), v)
			if err != nil {
				return err
			}
			if a.Name != string(k) || len(a.PubKey) != PubKeyLen {
				return corruptf("account record under key %q is inconsistent", k)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := nicks.ForEach(func(k, v []byte) error {
			if accounts.Get(v) == nil || acctNicks.Get(pairKey(string(v), string(k))) == nil {
				return corruptf("nick %q owned by unknown account or missing from its index", k)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := acctNicks.ForEach(func(k, _ []byte) error {
			i := bytes.IndexByte(k, 0)
			if i < 0 || !bytes.Equal(nicks.Get(k[i+1:]), k[:i]) {
				return corruptf("nick index entry %q does not match the nick table", k)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := channels.ForEach(func(k, v []byte) error {
			_, err := decodeChannel(k, v)
			return err
		}); err != nil {
			return err
		}
		if err := accept.ForEach(func(k, _ []byte) error {
			if i := bytes.IndexByte(k, 0); i <= 0 || i == len(k)-1 {
				return corruptf("accept entry key %q is malformed", k)
			}
			return nil
		}); err != nil {
			return err
		}
		creds, err := bucket(tx, bucketCreds)
		if err != nil {
			return err
		}
		if err := creds.ForEach(func(k, v []byte) error {
			c, err := decodeCred(k, v)
			if err != nil {
				return err
			}
			if accounts.Get([]byte(c.Account)) == nil {
				return corruptf("credential %q belongs to an unknown account", k)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := checkKeyLinks(tx); err != nil {
			return err
		}
		return checkHistory(tx)
	})
}
