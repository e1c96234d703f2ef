package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// lineReader reads LF-terminated lines into one fixed buffer. A line is
// valid until the next call. A line longer than the buffer is dropped in
// pieces, so memory stays bounded whatever the server sends.
type lineReader struct {
	conn net.Conn
	buf  []byte
	r, w int
	base time.Time // when set, at is updated after every read
	at   int64     // nanoseconds since base at the last read
}

func newLineReader(conn net.Conn, size int) *lineReader {
	return &lineReader{conn: conn, buf: make([]byte, size)}
}

// reset points the reader at a new connection, dropping buffered bytes.
func (lr *lineReader) reset(conn net.Conn) {
	lr.conn, lr.r, lr.w = conn, 0, 0
}

// next returns the next line without its CR LF.
func (lr *lineReader) next() ([]byte, error) {
	for {
		if i := bytes.IndexByte(lr.buf[lr.r:lr.w], '\n'); i >= 0 {
			line := lr.buf[lr.r : lr.r+i]
			lr.r += i + 1
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return line, nil
		}
		if err := lr.fill(); err != nil {
			return nil, err
		}
	}
}

func (lr *lineReader) fill() error {
	if lr.r > 0 {
		lr.w = copy(lr.buf, lr.buf[lr.r:lr.w])
		lr.r = 0
	}
	if lr.w == len(lr.buf) {
		lr.w = 0 // an over-long line: drop what we have of it
	}
	n, err := lr.conn.Read(lr.buf[lr.w:])
	if !lr.base.IsZero() {
		lr.at = int64(time.Since(lr.base))
	}
	lr.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// command returns the command (or numeric) of a server line, skipping
// tags and the prefix.
func command(line []byte) []byte {
	if len(line) > 0 && line[0] == '@' {
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			return nil
		}
		line = bytes.TrimLeft(line[i+1:], " ")
	}
	if len(line) > 0 && line[0] == ':' {
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			return nil
		}
		line = bytes.TrimLeft(line[i+1:], " ")
	}
	if i := bytes.IndexByte(line, ' '); i >= 0 {
		return line[:i]
	}
	return line
}

// appendMarker appends the fan-out text marker "~SEQ.NS".
func appendMarker(b []byte, seq, ns int64) []byte {
	b = append(b, '~')
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, '.')
	return strconv.AppendInt(b, ns, 10)
}

// parseMarker reads "~SEQ.NS" from the end of a line, right to left,
// without allocating.
func parseMarker(line []byte) (seq, ns int64, ok bool) {
	i := len(line) - 1
	ns, i, ok = digitsBack(line, i)
	if !ok || i < 0 || line[i] != '.' {
		return 0, 0, false
	}
	seq, i, ok = digitsBack(line, i-1)
	if !ok || i < 0 || line[i] != '~' {
		return 0, 0, false
	}
	return seq, ns, true
}

// digitsBack parses the decimal number ending at line[i] and returns it
// with the index just before its first digit.
func digitsBack(line []byte, i int) (v int64, j int, ok bool) {
	var mul int64 = 1
	j = i
	for j >= 0 && i-j < 18 && line[j] >= '0' && line[j] <= '9' {
		v += int64(line[j]-'0') * mul
		mul *= 10
		j--
	}
	return v, j, j < i
}

// errNick is returned when the server refuses a nickname.
var errNick = errors.New("nickname refused")

// opTimeout bounds every single network step (dial, registration, join).
const opTimeout = 15 * time.Second

func dial(ctx context.Context, addr string) (*net.TCPConn, error) {
	// No TCP keep-alive (four setsockopt calls per connection): the runs
	// are short and the server PINGs anyway.
	d := net.Dialer{Timeout: opTimeout, KeepAlive: -1}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	tc := c.(*net.TCPConn)
	// Close with a reset: the generator's side then keeps no TIME_WAIT
	// entry, which would otherwise exhaust loopback ports over runs of
	// tens of thousands of connections.
	if err := tc.SetLinger(0); err != nil {
		tc.Close()
		return nil, fmt.Errorf("dial %s: linger: %w", addr, err)
	}
	return tc, nil
}

// stepDeadline is now+opTimeout, or ctx's deadline when that is sooner.
func stepDeadline(ctx context.Context) time.Time {
	d := time.Now().Add(opTimeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		return cd
	}
	return d
}

// register sends NICK and USER and reads until the end of the MOTD (376)
// or its absence (422). The connection's deadline is cleared on success.
func register(ctx context.Context, lr *lineReader, nick string) error {
	c := lr.conn
	c.SetDeadline(stepDeadline(ctx))
	msg := make([]byte, 0, 64+2*len(nick))
	msg = append(msg, "NICK "...)
	msg = append(msg, nick...)
	msg = append(msg, "\r\nUSER "...)
	msg = append(msg, nick...)
	msg = append(msg, " 0 * :load\r\n"...)
	if _, err := c.Write(msg); err != nil {
		return fmt.Errorf("register %s: write: %w", nick, err)
	}
	if err := waitFor(lr, "376", "422"); err != nil {
		return fmt.Errorf("register %s: %w", nick, err)
	}
	c.SetDeadline(time.Time{})
	return nil
}

// join joins channel and waits for the end of NAMES (366).
func join(ctx context.Context, lr *lineReader, channel string) error {
	c := lr.conn
	c.SetDeadline(stepDeadline(ctx))
	if _, err := c.Write([]byte("JOIN " + channel + "\r\n")); err != nil {
		return fmt.Errorf("join %s: write: %w", channel, err)
	}
	if err := waitFor(lr, "366", "366"); err != nil {
		return fmt.Errorf("join %s: %w", channel, err)
	}
	c.SetDeadline(time.Time{})
	return nil
}

// waitFor reads lines until one whose command is a or b, answering PING
// and failing on ERROR and on refused nicknames or channels.
func waitFor(lr *lineReader, a, b string) error {
	for {
		line, err := lr.next()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", a, err)
		}
		cmd := command(line)
		switch string(cmd) {
		case a, b:
			return nil
		case "PING":
			if err := pong(lr.conn); err != nil {
				return err
			}
		case "ERROR":
			return fmt.Errorf("waiting for %s: server sent %q", a, line[:min(len(line), 160)])
		case "432", "433", "436":
			return errNick
		case "403", "405", "471", "473", "474", "475", "476":
			return fmt.Errorf("waiting for %s: refused with %s", a, cmd)
		}
	}
}

func pong(c net.Conn) error {
	if _, err := c.Write([]byte("PONG :load\r\n")); err != nil {
		return fmt.Errorf("pong: %w", err)
	}
	return nil
}
