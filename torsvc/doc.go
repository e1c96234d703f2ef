// Package torsvc publishes ThorChat as a Tor v3 onion service and dials
// onion services for the companion CLI and bots. It holds all of ThorChat's
// Tor code; the daemon only calls Start, OnionAddressFromKey and Dialer.
//
// The daemon listens on a unix socket it owns; the onion service forwards its
// virtual port (default 6667) to that socket, so no TCP listening socket is
// opened for clients.
//
// Two modes:
//
//   - "embedded" (default): torsvc runs its own tor process with a generated
//     torrc whose HiddenServiceDir is Config.KeyDir, and restarts it with
//     back-off if it dies (same key, same address).
//   - "control": torsvc attaches to a running tor through its control port or
//     socket and publishes with ADD_ONION and the stored key; it reconnects
//     and re-publishes with back-off if the control connection drops.
//
// In both modes the key lives in Config.KeyDir in tor's own file format
// (hs_ed25519_secret_key, 0600, in a 0700 directory), is created once and kept,
// so the onion address never changes; the address is also written to
// KeyDir/hostname.
//
// Nothing here logs key material or client circuit IDs.
package torsvc
