// Package client is the client half of ThorChat for bots and the thorchat
// CLI: it dials a server (directly, or through Tor's SOCKS port), negotiates
// IRCv3 capabilities, logs in with SASL THORCHAT-SECP256K1 and runs a
// minimal IRC session.
//
// # Connecting
//
// [Dial] connects, sends CAP LS 302, NICK and USER, requests sasl and the
// useful capabilities the server offers ([DefaultCaps]), performs SASL,
// sends CAP END and returns once the server has sent 001. A failed login
// returns a [*SASLError] carrying the server's numeric (904, 902, …) and
// text; anything else the server refuses with is a [*ServerError].
//
// The signature binds the host and port the client dialed. [Config.Host]
// and [Config.Port] default to the host and port of [Config.Addr]: for an
// onion service that is the onion name and the virtual port; for a unix
// socket ("unix:/path") Host must be given (the server's name) and the port
// is 0.
//
// [Conn.ReadMessage] reads one line at a time with a bound on its length
// and answers the server's PINGs itself; [Run] and [Bot] wrap a handler in
// a reconnect loop with bounded, jittered exponential back-off.
//
// # The -sign-cmd contract
//
// A [CommandSigner] keeps the private key outside this process: every
// operation runs CMD with "sh -c CMD", inheriting the environment plus
// THORCHAT_SIGN, which says what is asked. Whitespace (spaces, newlines)
// anywhere in CMD's output is ignored; CMD must exit 0.
//
// THORCHAT_SIGN=pubkey — run once, when the signer is created, with empty
// standard input. CMD prints its public key: the 33-byte compressed key in
// hex (66 characters); the 65-byte uncompressed key in hex and a bech32
// "thorpub1…" key are accepted too.
//
// THORCHAT_SIGN=sign — run once per login. Standard input is the message M
// in hex followed by a newline; THORCHAT_SIGN_DIGEST holds SHA-256(M) in hex
// for signers that take a digest, and THORCHAT_SIGN_PUBKEY the public key
// from the first step. CMD prints an ECDSA signature over SHA-256(M) (what
// "openssl dgst -sha256 -sign" makes of M): 64 bytes r ‖ s in hex (128
// characters), or a DER signature in hex. A high S is normalised to n−S.
// The signature is verified against the public key before it is sent, so a
// broken signer fails with a clear local error, not a server rejection.
//
// [ServeSign] is this contract's signer half for a key in memory, and
// "thorchat sign -key FILE" runs it: it signs nothing but THORCHAT-SECP256K1
// login messages and THORCHAT-LINK/1 key-link messages for its own key.
//
// Each run is bounded: standard output to 4 KiB, time to
// [CommandSigner.Timeout] (the whole process group is killed when it
// expires). The server gives a SASL step 30 seconds, so a signer waiting
// for a button press must be quick.
//
// # Key files
//
// [WriteKeyFile] writes a private key as 64 hex characters and a newline,
// mode 0600, never over an existing file; [LoadKeyFile] reads one back and
// refuses a file that its group or others may read or write.
package client
