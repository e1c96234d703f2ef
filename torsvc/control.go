package torsvc

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"time"

	"github.com/cretz/bine/control"
)

// requestTimeout bounds one synchronous control-port request.
const requestTimeout = 30 * time.Second

// session is one authenticated control connection.
type session struct {
	raw  net.Conn
	conn *control.Conn
}

// errAuth marks an authentication failure (as opposed to an unreachable
// control port), so Start can name tor.control.
var errAuth = errors.New("control port refused authentication")

// dialSession connects to a control port or socket and authenticates: with
// the password when one is given and tor offers HASHEDPASSWORD, otherwise
// with NULL or SAFECOOKIE authentication.
func dialSession(ctx context.Context, network, addr, password string) (*session, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("connect to tor control %s: %w", addr, err)
	}
	s := &session{raw: raw, conn: control.NewConn(textproto.NewConn(raw))}
	if err := s.authenticate(password); err != nil {
		s.close()
		return nil, fmt.Errorf("tor control %s: %w", addr, err)
	}
	return s, nil
}

func (s *session) authenticate(password string) error {
	s.deadline()
	defer s.noDeadline()
	pi, err := s.conn.ProtocolInfo()
	if err != nil {
		return fmt.Errorf("PROTOCOLINFO: %w", err)
	}
	switch {
	case password != "" && pi.HasAuthMethod("HASHEDPASSWORD"):
		if _, err := s.conn.SendRequest("AUTHENTICATE %s", hex.EncodeToString([]byte(password))); err != nil {
			return fmt.Errorf("%w (password; check tor.control_password): %v", errAuth, err)
		}
		s.conn.Authenticated = true
	case pi.HasAuthMethod("NULL") || pi.HasAuthMethod("SAFECOOKIE"):
		if err := s.conn.Authenticate(""); err != nil {
			return fmt.Errorf("%w (cookie %s): %v", errAuth, pi.CookieFile, err)
		}
	case pi.HasAuthMethod("HASHEDPASSWORD"):
		return fmt.Errorf("%w: tor wants a password (set tor.control_password)", errAuth)
	default:
		return fmt.Errorf("%w: no supported method among %v", errAuth, pi.AuthMethods)
	}
	return nil
}

func (s *session) deadline()   { _ = s.raw.SetDeadline(time.Now().Add(requestTimeout)) }
func (s *session) noDeadline() { _ = s.raw.SetDeadline(time.Time{}) }
func (s *session) close()      { _ = s.raw.Close() }

// request sends one command and returns the response (error for non-2xx).
func (s *session) request(format string, args ...any) (*control.Response, error) {
	s.deadline()
	defer s.noDeadline()
	return s.conn.SendRequest(format, args...)
}

// getInfo returns the value of one GETINFO key (multi-line values joined
// with "\n").
func (s *session) getInfo(key string) (string, error) {
	resp, err := s.request("GETINFO %s", key)
	if err != nil {
		return "", fmt.Errorf("GETINFO %s: %w", key, err)
	}
	for _, d := range resp.Data {
		k, v, ok := strings.Cut(d, "=")
		if !ok || k != key {
			continue
		}
		// multi-line values arrive as "key=\r\nline\nline"
		v = strings.TrimPrefix(v, "\r\n")
		return strings.ReplaceAll(v, "\r\n", "\n"), nil
	}
	return "", fmt.Errorf("GETINFO %s: no value", key)
}

// eventCodes are the events a Service follows. Never CIRC or STREAM: they
// carry client circuit IDs.
var eventCodes = []control.EventCode{control.EventCodeStatusClient, control.EventCodeHSDesc}

// subscribe asks tor for the events of eventCodes.
func (s *session) subscribe() error {
	codes := make([]string, len(eventCodes))
	for i, c := range eventCodes {
		codes[i] = string(c)
	}
	if _, err := s.request("SETEVENTS %s", strings.Join(codes, " ")); err != nil {
		return fmt.Errorf("SETEVENTS: %w", err)
	}
	return nil
}

// readEvents reads asynchronous events and hands each to handle until the
// connection fails or ctx is done (which closes the connection). No
// synchronous request may be sent meanwhile.
func (s *session) readEvents(ctx context.Context, handle func(code control.EventCode, data string)) error {
	stop := context.AfterFunc(ctx, s.close)
	defer stop()
	for {
		resp, err := s.conn.ReadResponse()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read tor control events: %w", err)
		}
		if !resp.IsAsync() {
			continue
		}
		code, data := splitEvent(resp)
		handle(code, data)
	}
}

// splitEvent returns the event code and the rest of a 650 response.
func splitEvent(resp *control.Response) (control.EventCode, string) {
	first := resp.Reply
	if len(resp.Data) > 0 {
		first = resp.Data[0]
	}
	code, data, _ := strings.Cut(first, " ")
	return control.EventCode(code), data
}

// parseKeyVals parses the space-separated KEY=VALUE arguments of a status
// event, where VALUE may be a quoted string with backslash escapes. Words
// without "=" are returned in order as positional.
func parseKeyVals(s string) (kv map[string]string, positional []string) {
	kv = map[string]string{}
	for s != "" {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			break
		}
		end := 0
		inQuote := false
		for end < len(s) {
			c := s[end]
			if inQuote && c == '\\' && end+1 < len(s) {
				end += 2
				continue
			}
			if c == '"' {
				inQuote = !inQuote
			} else if c == ' ' && !inQuote {
				break
			}
			end++
		}
		word := s[:end]
		s = s[end:]
		k, v, ok := strings.Cut(word, "=")
		if !ok {
			positional = append(positional, word)
			continue
		}
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = unescapeQuoted(v[1 : len(v)-1])
		}
		kv[k] = v
	}
	return kv, positional
}

// unescapeQuoted undoes the backslash escapes of a control-port quoted string.
func unescapeQuoted(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
