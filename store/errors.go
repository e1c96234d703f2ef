package store

import "errors"

// Sentinel errors. Errors returned by this package wrap them, so callers
// test with errors.Is.
var (
	// ErrLocked means another process (normally a running thorchatd) holds
	// the database file open.
	ErrLocked = errors.New("store: database is in use by a running daemon (file is locked by another process)")

	// ErrSchemaTooNew means the file was written by a newer ThorChat whose
	// schema this binary does not know. The file is left untouched.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this binary supports; upgrade thorchatd")

	// ErrCorrupt means the file is not a valid ThorChat bbolt database
	// (truncated, damaged or foreign). The file is left untouched: restore a
	// backup rather than editing it.
	ErrCorrupt = errors.New("store: database file is corrupt or not a ThorChat database")

	// ErrNotFound means the requested record does not exist.
	ErrNotFound = errors.New("store: not found")

	// ErrNickTaken means the nick is owned by another account.
	ErrNickTaken = errors.New("store: nick is owned by another account")

	// ErrNotOwner means the account does not own the nick it tried to release.
	ErrNotOwner = errors.New("store: nick is not owned by this account")

	// ErrTooManyNicks means the account already owns Options.MaxNicksPerAccount nicks.
	ErrTooManyNicks = errors.New("store: account owns too many nicks")

	// ErrListFull means a bounded list (an accept list) is at its maximum.
	ErrListFull = errors.New("store: list is full")

	// ErrKeyMismatch means an account exists under the name with a different
	// public key.
	ErrKeyMismatch = errors.New("store: account exists with a different public key")

	// ErrInvalid means an argument was rejected (empty, too long, contains a
	// NUL byte, wrong key length, record too large...).
	ErrInvalid = errors.New("store: invalid argument")
)
