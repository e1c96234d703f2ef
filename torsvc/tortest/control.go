package tortest

import (
	"context"
	"fmt"
	"net"
	"net/textproto"
	"time"

	"github.com/cretz/bine/control"
)

// ctlTimeout bounds every control-port exchange of this package.
const ctlTimeout = 30 * time.Second

// ctl is an authenticated control connection with a deadline per request.
type ctl struct {
	raw  net.Conn
	conn *control.Conn
}

// dialControl connects to a control port ("tcp", "127.0.0.1:N") or socket
// ("unix", path) and authenticates with the cookie tor advertises.
func dialControl(ctx context.Context, network, addr string) (*ctl, error) {
	d := net.Dialer{Timeout: ctlTimeout}
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("dial control %s: %w", addr, err)
	}
	c := &ctl{raw: raw, conn: control.NewConn(textproto.NewConn(raw))}
	_ = raw.SetDeadline(time.Now().Add(ctlTimeout))
	if err := c.conn.Authenticate(""); err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("authenticate to control %s: %w", addr, err)
	}
	return c, nil
}

// getInfo returns the value of one GETINFO key.
func (c *ctl) getInfo(key string) (string, error) {
	_ = c.raw.SetDeadline(time.Now().Add(ctlTimeout))
	kvs, err := c.conn.GetInfo(key)
	if err != nil {
		return "", fmt.Errorf("GETINFO %s: %w", key, err)
	}
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Val, nil
		}
	}
	return "", fmt.Errorf("GETINFO %s: no value", key)
}

// setConf sets one option.
func (c *ctl) setConf(key, val string) error {
	_ = c.raw.SetDeadline(time.Now().Add(ctlTimeout))
	if err := c.conn.SetConf(control.KeyVals(key, val)...); err != nil {
		return fmt.Errorf("SETCONF %s: %w", key, err)
	}
	return nil
}

func (c *ctl) close() { _ = c.raw.Close() }
