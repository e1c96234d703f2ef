package loadtest

import (
	"fmt"
	"net"
	"net/netip"
)

// CheckLoopback returns an error unless addr is "host:port" with host a
// literal loopback IP address or "localhost": load is only ever sent to
// this machine.
func CheckLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if port == "" {
		return fmt.Errorf("address %q: missing port", addr)
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("address %q: host must be a loopback IP or localhost: %w", addr, err)
	}
	if !ip.Unmap().IsLoopback() {
		return fmt.Errorf("address %q: not a loopback address", addr)
	}
	return nil
}
