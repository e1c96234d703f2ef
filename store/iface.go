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

	HistoryStore

	WriteBackup(w io.Writer) (int64, error)
	Dump(w io.Writer, opts DumpOptions) error
	Close() error
}

var _ Store = (*DB)(nil)

// HistoryStore is the message history part of Store (history*.go,
// readmarkers.go): what the IRC side's Backend needs.
type HistoryStore interface {
	AppendHistory(entries []HistoryEntry) error
	HistoryLatest(q HistoryQuery, after HistoryRef) ([]HistoryEntry, error)
	HistoryBefore(q HistoryQuery, ref HistoryRef) ([]HistoryEntry, error)
	HistoryAfter(q HistoryQuery, ref HistoryRef) ([]HistoryEntry, error)
	HistoryAround(q HistoryQuery, ref HistoryRef) ([]HistoryEntry, error)
	HistoryBetween(q HistoryQuery, from, to HistoryRef) ([]HistoryEntry, error)
	HistoryTargets(q TargetsQuery) ([]HistoryTarget, error)
	HistoryEntryByID(msgid string) (HistoryEntry, error)
	RedactHistory(target, msgid string) (HistoryEntry, error)
	ExpireHistory(now time.Time, expire, privateExpire time.Duration, maxPerTarget, budget int) (deleted int, more bool, err error)
	DropHistory(target string, budget int) (deleted int, more bool, err error)
	HistoryCounts() ([]HistoryCount, error)
	SetReadMarker(account, target string, t time.Time) (time.Time, error)
	ReadMarker(account, target string) (time.Time, error)
}
