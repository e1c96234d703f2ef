package main

import (
	"context"
	"fmt"
	"net"
	"net/textproto"
	"time"

	"github.com/cretz/bine/control"
)

// irssiAddr is the IPv4 address the network's client tor maps to the onion
// (MAPADDRESS), for irssi under torsocks. irssi resolves host names in a
// forked child, so the fake address torsocks hands out for a .onion name
// is unknown to the process that connects, which torsocks then refuses
// ("Connection to a local address are denied"). Connecting to a literal
// address that tor itself rewrites avoids any name resolution. It is from
// TEST-NET-1 (RFC 5737): never routed, should irssi run without torsocks.
const irssiAddr = "192.0.2.67"

// mapAddress tells the tor whose control port is controlAddr (cookie
// authentication) to send connections for from to to.
func mapAddress(ctx context.Context, controlAddr, from, to string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var nd net.Dialer
	raw, err := nd.DialContext(ctx, "tcp", controlAddr)
	if err != nil {
		return fmt.Errorf("dial tor control %s: %w", controlAddr, err)
	}
	defer raw.Close()
	dl, _ := ctx.Deadline()
	if err := raw.SetDeadline(dl); err != nil {
		return fmt.Errorf("tor control deadline: %w", err)
	}
	c := control.NewConn(textproto.NewConn(raw))
	if err := c.Authenticate(""); err != nil {
		return fmt.Errorf("authenticate to tor control %s: %w", controlAddr, err)
	}
	if _, err := c.MapAddresses(control.NewKeyVal(from, to)); err != nil {
		return fmt.Errorf("MAPADDRESS %s: %w", from, err)
	}
	return nil
}
