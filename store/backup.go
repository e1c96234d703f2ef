package store

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
)

// WriteBackup writes a consistent copy of the whole database file to w from
// a read transaction, while the daemon keeps running. The output is a valid
// bbolt file that Open accepts.
func (db *DB) WriteBackup(w io.Writer) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}

// DumpOptions configure Dump.
type DumpOptions struct {
	// IncludeSecrets would include secret material (such as future token
	// hashes). The schema holds no secrets yet, so it has no effect today;
	// secrets are left out unless it is set.
	IncludeSecrets bool
}

// DumpFormat names the JSON document written by Dump.
const DumpFormat = "thorchat-store-dump/1"

type dumpNick struct {
	Nick    string `json:"nick"`
	Account string `json:"account"`
}

type dumpAccept struct {
	Account string `json:"account"`
	Entry   string `json:"entry"`
}

// DumpHistory is one target of the "history" section of Dump: counts
// only, never message text. A channel has Channel set, a private
// conversation Accounts (its two accounts, sorted).
type DumpHistory struct {
	Channel  string    `json:"channel,omitempty"`
	Accounts []string  `json:"accounts,omitempty"`
	Messages int64     `json:"messages"`
	Last     time.Time `json:"last"`
}

func dumpHistory(k, v []byte) (any, error) {
	if len(v) != 16 {
		return nil, fmt.Errorf("%w: history metadata of %q is %d bytes", ErrCorrupt, k, len(v))
	}
	d := DumpHistory{
		Messages: int64(binary.BigEndian.Uint64(v)),
		Last:     time.Unix(0, int64(binary.BigEndian.Uint64(v[8:]))).UTC(),
	}
	if a, b, ok := ParsePrivateTarget(string(k)); ok {
		d.Accounts = []string{a, b}
	} else {
		d.Channel = string(k)
	}
	return d, nil
}

// Dump writes the database content as one JSON object for audits:
// {"format","schema","accounts":[Account],"nicks":[{nick,account}],
// "channels":[ChannelRecord],"accept":[{account,entry}],"credentials":[Credential],
// "key_links":[KeyLink],"history":[DumpHistory]}, each list in key
// order, from one consistent read transaction. Records are streamed, so
// memory use does not grow with the database. Message history appears as
// counts per target only; its text is never dumped.
func (db *DB) Dump(w io.Writer, opts DumpOptions) error {

	bw := bufio.NewWriter(w)
	err := db.bolt.View(func(tx *bolt.Tx) error {
		schema, err := readSchema(tx)
		if err != nil {
			return err
		}
		fmt.Fprintf(bw, "{\"format\":%q,\"schema\":%d", DumpFormat, schema)
		sections := []struct {
			name   string
			bucket []byte
			encode func(k, v []byte) (any, error)
		}{
			{"accounts", bucketAccounts, func(k, v []byte) (any, error) { return decodeAccount(string(k), v) }},
			{"nicks", bucketNicks, func(k, v []byte) (any, error) { return dumpNick{string(k), string(v)}, nil }},
			{"channels", bucketChannels, func(k, v []byte) (any, error) { return decodeChannel(k, v) }},
			{"accept", bucketAccept, func(k, _ []byte) (any, error) {
				for i, c := range k {
					if c == 0 {
						return dumpAccept{string(k[:i]), string(k[i+1:])}, nil
					}
				}
				return nil, fmt.Errorf("%w: accept key without separator", ErrCorrupt)
			}},
			{"credentials", bucketCreds, func(k, v []byte) (any, error) {
				c, err := decodeCred(k, v)
				if !opts.IncludeSecrets {
					c.Hash = nil // token hashes are secrets
				}
				return c, err
			}},
			{"key_links", bucketAcctKeys, func(k, v []byte) (any, error) { return decodeKeyLink(k, v) }},
			{"history", bucketHistMeta, dumpHistory},
		}
		for _, s := range sections {
			b, err := bucket(tx, s.bucket)
			if err != nil {
				return err
			}
			fmt.Fprintf(bw, ",\n%q:[", s.name)
			first := true
			if err := b.ForEach(func(k, v []byte) error {
				rec, err := s.encode(k, v)
				if err != nil {
					return err
				}
				j, err := json.Marshal(rec)
				if err != nil {
					return err
				}
				if !first {
					bw.WriteByte(',')
				}
				first = false
				bw.WriteString("\n")
				_, err = bw.Write(j)
				return err
			}); err != nil {
				return err
			}
			bw.WriteString("]")
		}
		_, err = bw.WriteString("}\n")
		return err
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("store: dump: %w", err)
	}
	return nil
}
