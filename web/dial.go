package web

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/gobwas/ws"
)

// Dial opens an IRC-over-WebSocket connection to url (ws://host:port/ws)
// with the given Origin header, asking for protocols in order of
// preference (none: the server's default, text). It is the client side
// of Conn, for tests and the load tool.
func Dial(ctx context.Context, url, origin string, protocols ...string) (*Conn, error) {
	var status int
	d := ws.Dialer{
		Protocols:     protocols,
		Header:        ws.HandshakeHeaderHTTP(http.Header{"Origin": {origin}}),
		OnStatusError: func(code int, _ []byte, _ io.Reader) { status = code },
	}
	raw, br, hs, err := d.Dial(ctx, url)
	if err != nil {
		if status != 0 {
			return nil, fmt.Errorf("websocket dial %s: %w", url, &StatusError{Code: status, Err: err})
		}
		return nil, fmt.Errorf("websocket dial %s: %w", url, err)
	}
	var pre []byte
	if br != nil {
		pre = make([]byte, br.Buffered())
		br.Read(pre)
		ws.PutReader(br)
	}
	return newConn(raw, pre, true, hs.Protocol == ProtocolBinary, "", nil), nil
}

// StatusError is a handshake the server refused with an HTTP status.
type StatusError struct {
	Code int
	Err  error
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %v", e.Code, e.Err) }

func (e *StatusError) Unwrap() error { return e.Err }
