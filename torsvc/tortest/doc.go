// Package tortest runs a private Tor network on 127.0.0.1 for tests and demos.
//
// A Network is a handful of directory authorities, non-exit relays and one
// client tor, all with TestingTorNetwork set and DirAuthority lines that name
// only the local authorities, so no process it starts ever contacts the public
// Tor network. Another tor joins the network by adding the lines of
// Network.TorrcSnippet to its torrc; clients reach onion services through
// Network.SOCKSAddr.
//
// The core functions take a context and an io.Writer for progress instead of
// a *testing.T, so a demo program can use them too; Require is the only
// testing helper.
//
// Every tor process started here has __OwningControllerProcess set to the
// current process, so tor exits on its own if the test binary dies without
// calling Close.
package tortest
