package torsvc

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"golang.org/x/net/proxy"
)

// Dialer returns a SOCKS5 dialer through tor's SOCKS port at socksAddr
// ("127.0.0.1:9050"). Host names, .onion addresses included, are sent to the
// proxy unresolved, so tor resolves them; nothing is looked up locally.
func Dialer(socksAddr string) (proxy.ContextDialer, error) {
	host, port, err := net.SplitHostPort(socksAddr)
	if err != nil {
		return nil, fmt.Errorf("socks address %q: %w", socksAddr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
		return nil, fmt.Errorf("socks address %q: want host:port", socksAddr)
	}
	d, err := proxy.SOCKS5("tcp", socksAddr, nil, &net.Dialer{Timeout: 30 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("socks5 dialer %s: %w", socksAddr, err)
	}
	cd, ok := d.(proxy.ContextDialer)
	if !ok {
		return nil, fmt.Errorf("socks5 dialer %s: no DialContext", socksAddr)
	}
	return cd, nil
}
