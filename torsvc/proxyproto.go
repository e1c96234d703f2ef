package torsvc

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// maxProxyLine is the longest PROXY protocol v1 line (107 bytes with CRLF).
const maxProxyLine = 107

// circuitIDPrefix is the source address prefix tor uses for
// HiddenServiceExportCircuitID haproxy; the low 32 bits carry the circuit ID.
var circuitIDPrefix = netip.MustParsePrefix("fc00:dead:beef:4dad::/64")

// ErrNoProxyHeader is returned by ReadProxyHeader when the stream does not
// start with a valid PROXY v1 line from tor.
var ErrNoProxyHeader = errors.New("torsvc: no valid PROXY protocol v1 header from tor")

// ReadProxyHeader reads the PROXY protocol v1 line tor writes before each
// stream when Service.ExportsCircuitID is true, and returns the global ID of
// the rendezvous circuit the stream came on. Streams on one circuit share it,
// so it can key per-circuit limits; it is as sensitive as a client address:
// never log it. It reads at most 107 bytes and nothing past the line.
func ReadProxyHeader(r *bufio.Reader) (uint32, error) {
	var line []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrNoProxyHeader, err)
		}
		line = append(line, c)
		if c == '\n' {
			break
		}
		if len(line) >= maxProxyLine {
			return 0, fmt.Errorf("%w: line too long", ErrNoProxyHeader)
		}
	}
	return parseProxyLine(string(line))
}

// parseProxyLine parses "PROXY TCP6 fc00:dead:beef:4dad::AB:CD ::1 SPORT DPORT\r\n".
func parseProxyLine(line string) (uint32, error) {
	body, ok := strings.CutSuffix(line, "\r\n")
	if !ok {
		return 0, fmt.Errorf("%w: no CRLF", ErrNoProxyHeader)
	}
	f := strings.Split(body, " ")
	if len(f) != 6 || f[0] != "PROXY" || f[1] != "TCP6" {
		return 0, ErrNoProxyHeader
	}
	src, err := netip.ParseAddr(f[2])
	if err != nil || !src.Is6() || src.Zone() != "" || !circuitIDPrefix.Contains(src) {
		return 0, fmt.Errorf("%w: unexpected source address", ErrNoProxyHeader)
	}
	if dst, err := netip.ParseAddr(f[3]); err != nil || !dst.Is6() {
		return 0, fmt.Errorf("%w: unexpected destination address", ErrNoProxyHeader)
	}
	for _, p := range f[4:] {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 || p != strconv.Itoa(n) {
			return 0, fmt.Errorf("%w: bad port", ErrNoProxyHeader)
		}
	}
	b := src.As16()
	return uint32(b[12])<<24 | uint32(b[13])<<16 | uint32(b[14])<<8 | uint32(b[15]), nil
}
