package client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/irc.v4"
)

// lineReader reads CR LF (or LF) terminated lines of at most max bytes,
// terminator included. Longer lines are skipped whole. A partial line
// survives a read error such as a deadline, so a later call goes on where
// this one stopped.
type lineReader struct {
	r          *bufio.Reader
	max        int
	partial    []byte
	discarding bool
	skipped    int // overlong lines dropped so far
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, min(max, 4096)), max: max}
}

// next returns the next non-empty line without its terminator.
func (l *lineReader) next() (string, error) {
	for {
		b, err := l.r.ReadSlice('\n')
		if !l.discarding {
			if len(l.partial)+len(b) > l.max {
				l.partial = l.partial[:0]
				l.discarding = true
			} else {
				l.partial = append(l.partial, b...)
			}
		}
		switch {
		case err == nil:
			if l.discarding {
				l.discarding = false
				l.skipped++
				continue
			}
			line := strings.TrimRight(string(l.partial), "\r\n")
			l.partial = l.partial[:0]
			if line == "" {
				continue
			}
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return "", err
		}
	}
}

// parseLine parses one received line. It refuses what irc.ParseMessage
// would panic on (tags followed by nothing).
func parseLine(line string) (*irc.Message, error) {
	line = strings.TrimRight(line, "\r\n") // as ParseMessage does
	if line == "" {
		return nil, irc.ErrZeroLengthMessage
	}
	if line[0] == '@' {
		i := strings.IndexByte(line, ' ')
		if i < 0 || i == len(line)-1 {
			return nil, irc.ErrMissingDataAfterTags
		}
	}
	m, err := irc.ParseMessage(line)
	if err != nil {
		return nil, fmt.Errorf("parse line: %w", err)
	}
	return m, nil
}

// buildLine formats cmd and params as a wire line with CR LF. Only the
// last parameter may be empty, contain spaces or start with ':'.
func buildLine(cmd string, params []string) ([]byte, error) {
	if cmd == "" {
		return nil, fmt.Errorf("empty command: %w", ErrBadParam)
	}
	for i := 0; i < len(cmd); i++ {
		if c := cmd[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return nil, fmt.Errorf("command %q: %w", clip(cmd), ErrBadParam)
		}
	}
	n := len(cmd) + 2
	for _, p := range params {
		n += len(p) + 2
	}
	if n > 512 {
		return nil, fmt.Errorf("%s line of %d bytes over 512: %w", cmd, n, ErrLineTooLong)
	}
	b := make([]byte, 0, n)
	b = append(b, cmd...)
	for i, p := range params {
		if strings.ContainsAny(p, "\r\n\x00") {
			return nil, fmt.Errorf("%s parameter %d contains CR, LF or NUL: %w", cmd, i+1, ErrBadParam)
		}
		b = append(b, ' ')
		if p == "" || strings.IndexByte(p, ' ') >= 0 || p[0] == ':' {
			if i != len(params)-1 {
				return nil, fmt.Errorf("%s parameter %d is empty, has a space or starts with ':' but is not last: %w", cmd, i+1, ErrBadParam)
			}
			b = append(b, ':')
		}
		b = append(b, p...)
	}
	if len(b)+2 > 512 {
		return nil, fmt.Errorf("%s line of %d bytes over 512: %w", cmd, len(b)+2, ErrLineTooLong)
	}
	return append(b, '\r', '\n'), nil
}

// foldNick is the rfc1459 case folding ThorChat uses for nicks.
func foldNick(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 32
		case c == '[':
			b[i] = '{'
		case c == ']':
			b[i] = '}'
		case c == '\\':
			b[i] = '|'
		case c == '~':
			b[i] = '^'
		}
	}
	return string(b)
}
