// Package proxyproto reads the PROXY protocol v1 line tor writes before each
// onion-service stream when HiddenServiceExportCircuitID is "haproxy": the
// source address carries the rendezvous circuit ID. The daemon's onion
// listener wraps its socket in a Listener, which reads the line before the
// IRC server sees the connection and hands the server only an opaque
// origin key; the Tor tests read it with ReadHeader. The circuit ID is as
// sensitive as a client address: never log it.
package proxyproto

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// MaxLine is the longest PROXY protocol v1 line (107 bytes with CRLF).
const MaxLine = 107

// circuitIDPrefix is the source address prefix tor uses for
// HiddenServiceExportCircuitID haproxy; the low 32 bits carry the circuit ID.
var circuitIDPrefix = netip.MustParsePrefix("fc00:dead:beef:4dad::/64")

// ErrNoHeader is returned when a stream does not start with a valid PROXY
// v1 line from tor.
var ErrNoHeader = errors.New("proxyproto: no valid PROXY protocol v1 header from tor")

// ReadHeader reads the PROXY line tor writes before each stream and returns
// the global ID of the rendezvous circuit the stream came on. Streams on one
// circuit share it, so it can key per-circuit limits. It reads at most 107
// bytes and nothing past the line.
func ReadHeader(r *bufio.Reader) (uint32, error) {
	var line []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrNoHeader, err)
		}
		line = append(line, c)
		if c == '\n' {
			break
		}
		if len(line) >= MaxLine {
			return 0, fmt.Errorf("%w: line too long", ErrNoHeader)
		}
	}
	body, ok := strings.CutSuffix(string(line), "\r\n")
	if !ok {
		return 0, fmt.Errorf("%w: no CRLF", ErrNoHeader)
	}
	return ParseLine(body)
}

// ParseLine parses one PROXY line without its CRLF:
// "PROXY TCP6 fc00:dead:beef:4dad::AB:CD ::1 SPORT DPORT".
func ParseLine(body string) (uint32, error) {
	if len(body)+2 > MaxLine {
		return 0, fmt.Errorf("%w: line too long", ErrNoHeader)
	}
	f := strings.Split(body, " ")
	if len(f) != 6 || f[0] != "PROXY" || f[1] != "TCP6" {
		return 0, ErrNoHeader
	}
	src, err := netip.ParseAddr(f[2])
	if err != nil || !src.Is6() || src.Zone() != "" || !circuitIDPrefix.Contains(src) {
		return 0, fmt.Errorf("%w: unexpected source address", ErrNoHeader)
	}
	if dst, err := netip.ParseAddr(f[3]); err != nil || !dst.Is6() {
		return 0, fmt.Errorf("%w: unexpected destination address", ErrNoHeader)
	}
	for _, p := range f[4:] {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 || p != strconv.Itoa(n) {
			return 0, fmt.Errorf("%w: bad port", ErrNoHeader)
		}
	}
	b := src.As16()
	return uint32(b[12])<<24 | uint32(b[13])<<16 | uint32(b[14])<<8 | uint32(b[15]), nil
}
