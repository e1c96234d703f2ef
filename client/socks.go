package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"time"

	xproxy "golang.org/x/net/proxy"
)

// socksConnectTimeout bounds the TCP connection to the SOCKS port.
const socksConnectTimeout = 30 * time.Second

// DialFunc is the type of Config.Dial.
type DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// IsolatedSOCKSDialer returns a Config.Dial that connects through the
// SOCKS5 proxy at socksAddr (Tor's SocksPort, e.g. "127.0.0.1:9050"),
// leaving names (.onion) for the proxy to resolve, and sends isolation as
// the SOCKS user name and password. Tor isolates streams by SOCKS
// credentials (IsolateSOCKSAuth is on by default): streams with other
// credentials, or none, never share a circuit with these. ThorChat bounds
// the connections one circuit may carry (limits.max_per_circuit, 4 by
// default), so each client program should have its own isolation value;
// NewIsolation makes one. An empty isolation sends no credentials.
func IsolatedSOCKSDialer(socksAddr, isolation string) (DialFunc, error) {
	host, port, err := net.SplitHostPort(socksAddr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 || host == "" {
		return nil, fmt.Errorf("%w: socks address %q: want host:port", ErrConfig, socksAddr)
	}
	if len(isolation) > 255 {
		return nil, fmt.Errorf("%w: socks isolation of %d bytes (at most 255)", ErrConfig, len(isolation))
	}
	var auth *xproxy.Auth
	if isolation != "" {
		auth = &xproxy.Auth{User: isolation, Password: isolation}
	}
	d, err := xproxy.SOCKS5("tcp", socksAddr, auth, &net.Dialer{Timeout: socksConnectTimeout})
	if err != nil {
		return nil, fmt.Errorf("socks5 dialer %s: %w", socksAddr, err)
	}
	cd, ok := d.(xproxy.ContextDialer)
	if !ok {
		return nil, fmt.Errorf("socks5 dialer %s: no DialContext", socksAddr)
	}
	return cd.DialContext, nil
}

// NewIsolation returns a fresh isolation value for IsolatedSOCKSDialer:
// prefix, "-" and 8 random hex digits.
func NewIsolation(prefix string) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("socks isolation: %w", err)
	}
	return prefix + "-" + hex.EncodeToString(b[:]), nil
}
