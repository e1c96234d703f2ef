package store

import (
	"log/slog"
	"time"
)

// VerifyMode selects how much of the file Open checks before handing it to
// bbolt.
type VerifyMode int

const (
	// VerifyAuto checks the whole file when it is at most
	// Options.VerifyMaxBytes and only the meta pages, size and freelist
	// otherwise. It is the default.
	VerifyAuto VerifyMode = iota
	// VerifyFull walks every page of the file.
	VerifyFull
	// VerifyQuick checks the meta pages, the file size and the freelist only.
	VerifyQuick
)

// Defaults applied by Open to zero-valued Options fields.
const (
	DefaultLockTimeout        = time.Second
	DefaultMaxNicksPerAccount = 10
	DefaultLastSeenResolution = time.Minute
	DefaultVerifyMaxBytes     = 64 << 20
	// MaxKeyLen bounds account names, nicks, channel names and accept entries.
	MaxKeyLen = 256
	// MaxRecordBytes bounds one encoded channel record.
	MaxRecordBytes = 1 << 20
	// PubKeyLen is the length of a compressed secp256k1 public key.
	PubKeyLen = 33
)

// Options configure Open. The zero value is ready to use.
type Options struct {
	// LockTimeout is how long Open waits for another process to release the
	// file lock before failing with ErrLocked. Default DefaultLockTimeout.
	LockTimeout time.Duration

	// MaxNicksPerAccount bounds ClaimNick. Default DefaultMaxNicksPerAccount.
	MaxNicksPerAccount int

	// LastSeenResolution: a returning LoginAccount only writes LastSeen when
	// the stored value is older than this, so frequent logins stay
	// read-only. Default DefaultLastSeenResolution.
	LastSeenResolution time.Duration

	// Verify selects the structural check done at Open. Default VerifyAuto.
	Verify VerifyMode

	// VerifyMaxBytes is the VerifyAuto size threshold. Default DefaultVerifyMaxBytes.
	VerifyMaxBytes int64

	// NoSync disables fsync. Only for tests and benchmarks: a crash may then
	// lose or corrupt data.
	NoSync bool

	// Logger receives operational messages (never record contents). Default: discard.
	Logger *slog.Logger

	// CommitObserver, when set, is called after every read-write
	// transaction with how long it took (waiting for a shared Batch commit,
	// the commit and its fsync included). It must be fast and safe for
	// concurrent use.
	CommitObserver func(time.Duration)
}

func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.MaxNicksPerAccount <= 0 {
		o.MaxNicksPerAccount = DefaultMaxNicksPerAccount
	}
	if o.LastSeenResolution <= 0 {
		o.LastSeenResolution = DefaultLastSeenResolution
	}
	if o.VerifyMaxBytes <= 0 {
		o.VerifyMaxBytes = DefaultVerifyMaxBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
