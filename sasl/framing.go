package sasl

import "github.com/thorchat/thorchat/sasl/framing"

// The AUTHENTICATE framing lives in package framing (no cryptography, so
// the IRC server uses it too); these names keep it at hand for clients of
// the mechanisms.

// ChunkLen is the longest AUTHENTICATE parameter (IRCv3 SASL 3.1).
const ChunkLen = framing.ChunkLen

// DefaultAssemblerMax is the payload bound an Assembler with Max == 0 uses.
const DefaultAssemblerMax = framing.DefaultAssemblerMax

// Assembler reassembles AUTHENTICATE parameters into one payload
// (framing.Assembler).
type Assembler = framing.Assembler

// EncodeAuthenticate splits payload into AUTHENTICATE parameters
// (framing.EncodeAuthenticate).
func EncodeAuthenticate(payload []byte) []string { return framing.EncodeAuthenticate(payload) }
