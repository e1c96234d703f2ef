package store

import (
	"io"
	"time"
)

// Store is the database API used by the daemon. *DB implements it; a
// consumer that needs less can declare a narrower interface of its own.
type Store interface {
	LoginAccount(pub33 []byte, name string, now time.Time) (acct Account, created bool, err error)
	LoginAccountIf(pub33 []byte, name string, now time.Time, mayCreate func() error) (acct Account, created bool, err error)
	ExpireAccounts(before time.Time, after string, max int, keep func(name string) bool) (removed int, next string, err error)
	GetAccount(name string) (Account, error)
	SetAccountFlags(name string, set, clear uint32) (Account, error)
	CountAccounts() (int, error)

	ClaimNick(folded, account string) error
	NickOwner(folded string) (account string, ok bool, err error)
	ReleaseNick(folded, account string) error
	NicksOf(account string) ([]string, error)

	PutChannel(rec ChannelRecord) error
	GetChannel(folded string) (ChannelRecord, error)
	DeleteChannel(folded string) error
	ListChannels() ([]ChannelRecord, error)
	UpdateChannel(folded string, fn func(*ChannelRecord) error) error

	AcceptAdd(account, entry string, max int) error
	AcceptDel(account, entry string) error
	AcceptClear(account string) error
	AcceptList(account string) ([]string, error)

	WriteBackup(w io.Writer) (int64, error)
	Dump(w io.Writer, opts DumpOptions) error
	Close() error
}

var _ Store = (*DB)(nil)
