// Package store persists ThorChat's durable state (accounts, nick
// ownership, channel registrations, accept lists, message history and
// read markers) in a single bbolt file.
//
// The package is the only place in ThorChat that imports bbolt: its API uses
// plain Go types, so the IRC state machine never sees a bbolt type. Every
// change is one fsynced transaction. Open refuses a file that is locked by a
// running daemon (ErrLocked), written by a newer binary (ErrSchemaTooNew) or
// structurally damaged (ErrCorrupt), and never repairs or rewrites such a file.
package store
