// Package sasl implements the SASL mechanisms ThorChat speaks and the IRC
// AUTHENTICATE framing around them.
//
// Everything here is a pure function or a small state machine over bytes: no
// sockets, no clocks, no logging. The IRC server and the clients decode
// AUTHENTICATE parameters with one [Assembler] (package sasl/framing, free
// of cryptography so that ircd uses it too); the server feeds the raw
// payloads to a mechanism's server half ([Secp256k1Server]) and maps the
// returned sentinel errors to numerics (see docs/sasl.md).
//
// The THORCHAT-SECP256K1 exchange:
//
//	C: AUTHENTICATE THORCHAT-SECP256K1
//	S: AUTHENTICATE +
//	C: AUTHENTICATE base64(0x01 ‖ pubkey33 ‖ cnonce32)
//	S: AUTHENTICATE base64(0x01 ‖ snonce32)
//	C: AUTHENTICATE base64(sig64)
//	S: 900 … / 903 …
//
// The signature covers SHA-256 of the message M built by [Message], which
// binds the key, both nonces and the endpoint the client dialed.
package sasl
