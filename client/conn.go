package client

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gopkg.in/irc.v4"
)

// keepAliveToken is the parameter of the client's own keep-alive PINGs.
const keepAliveToken = "thorchat-keepalive"

// maxPrivmsgLines bounds the lines one Privmsg call may send.
const maxPrivmsgLines = 50

// Conn is a registered IRC connection. Send and its helpers may be called
// from any goroutine; ReadMessage from one goroutine at a time.
type Conn struct {
	s     *settings
	nc    net.Conn
	lines *lineReader

	wmu       sync.Mutex
	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	nick    string
	account string
	caps    map[string]bool

	// owned by the reading goroutine
	queued *irc.Message // 001, returned by the first ReadMessage
	pinged bool
}

func newConn(s *settings, nc net.Conn) *Conn {
	return &Conn{
		s:     s,
		nc:    nc,
		lines: newLineReader(nc, s.MaxLine),
		nick:  s.Nick,
		caps:  map[string]bool{},
	}
}

// Account returns the account the server logged this connection in as
// ("thor1…"), or "" when it is not logged in.
func (c *Conn) Account() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.account
}

// Nick returns the connection's current nick.
func (c *Conn) Nick() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nick
}

// HasCap reports whether the server acknowledged the capability.
func (c *Conn) HasCap(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.caps[name]
}

// FromSelf reports whether m was sent by this connection's nick (an echo,
// with echo-message).
func (c *Conn) FromSelf(m *irc.Message) bool {
	return m != nil && m.Prefix != nil && m.Prefix.Name != "" && foldNick(m.Prefix.Name) == foldNick(c.Nick())
}

// Send writes one command. Only the last parameter may be empty, contain
// spaces or start with ':'; the line must fit in 512 bytes.
func (c *Conn) Send(cmd string, params ...string) error {
	b, err := buildLine(cmd, params)
	if err != nil {
		return err
	}
	return c.write(b)
}

func (c *Conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.s.Timeout)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if _, err := c.nc.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// Join joins a channel.
func (c *Conn) Join(channel string) error { return c.Send("JOIN", channel) }

// Privmsg sends text to a nick or channel. Text with line breaks goes out
// as several messages, and long lines are split (at a space when one is
// near) so that each relayed message fits in 512 bytes; at most 50
// messages per call.
func (c *Conn) Privmsg(target, text string) error {
	return c.sendText("PRIVMSG", target, text)
}

// Notice is Privmsg with NOTICE, the command bots answer with.
func (c *Conn) Notice(target, text string) error {
	return c.sendText("NOTICE", target, text)
}

func (c *Conn) sendText(cmd, target, text string) error {
	if target == "" || strings.ContainsAny(target, " \r\n\x00") || target[0] == ':' {
		return fmt.Errorf("%s target %q: %w", cmd, clip(target), ErrBadParam)
	}
	// Room for the prefix the server adds when relaying:
	// ":nick!user@host " with a host of up to 63 bytes.
	prefix := 1 + len(c.Nick()) + 1 + len(c.s.User) + 1 + 1 + 63 + 1
	room := 510 - prefix - len(cmd) - 1 - len(target) - 2
	if room < 32 {
		return fmt.Errorf("%s target of %d bytes leaves no room for text: %w", cmd, len(target), ErrLineTooLong)
	}
	var out []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimRight(l, "\r")
		for l != "" {
			part, rest := splitText(l, room)
			out = append(out, part)
			l = rest
			if len(out) > maxPrivmsgLines {
				return fmt.Errorf("%s text needs over %d messages: %w", cmd, maxPrivmsgLines, ErrLineTooLong)
			}
		}
	}
	if len(out) == 0 {
		return fmt.Errorf("%s with empty text: %w", cmd, ErrBadParam)
	}
	for _, p := range out {
		if err := c.Send(cmd, target, p); err != nil {
			return err
		}
	}
	return nil
}

// splitText cuts s to at most n bytes at a rune boundary, preferring the
// last space in the second half of the cut.
func splitText(s string, n int) (part, rest string) {
	if len(s) <= n {
		return s, ""
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if sp := strings.LastIndexByte(s[:cut], ' '); sp > cut/2 {
		return s[:sp], s[sp+1:]
	}
	if cut == 0 {
		cut = n // not UTF-8: cut the bytes
	}
	return s[:cut], s[cut:]
}

// Quit sends QUIT with a reason and closes the connection.
func (c *Conn) Quit(reason string) error {
	err := c.Send("QUIT", reason)
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close closes the connection; a ReadMessage in progress returns an error.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.nc.Close() })
	return c.closeErr
}

// ReadMessage returns the next message from the server. The first call
// after Dial returns the 001 welcome. PINGs are answered and not returned.
// After KeepAlive of silence it PINGs the server itself and fails when no
// line arrives within Timeout after that. Unparsable and overlong lines
// are skipped.
func (c *Conn) ReadMessage() (*irc.Message, error) {
	if m := c.queued; m != nil {
		c.queued = nil
		return m, nil
	}
	for {
		wait := c.s.KeepAlive
		if c.pinged {
			wait = c.s.Timeout
		}
		if err := c.nc.SetReadDeadline(time.Now().Add(wait)); err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
		line, err := c.lines.next()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if c.pinged {
					return nil, fmt.Errorf("read: no reply from the server within %s of a PING: %w", c.s.Timeout, err)
				}
				c.pinged = true
				if err := c.Send("PING", keepAliveToken); err != nil {
					return nil, err
				}
				continue
			}
			return nil, fmt.Errorf("read: %w", err)
		}
		c.pinged = false
		m, err := parseLine(line)
		if err != nil {
			continue
		}
		swallow, err := c.track(m)
		if err != nil {
			return nil, err
		}
		if !swallow {
			return m, nil
		}
	}
}

// track keeps the connection state current and answers PINGs. It reports
// whether m is for this package only.
func (c *Conn) track(m *irc.Message) (bool, error) {
	switch m.Command {
	case "PING":
		return true, c.pong(m)
	case "PONG":
		return m.Trailing() == keepAliveToken, nil
	case "NICK":
		if c.FromSelf(m) && m.Param(0) != "" {
			c.mu.Lock()
			c.nick = m.Param(0)
			c.mu.Unlock()
		}
	case "900":
		c.mu.Lock()
		c.account = m.Param(2)
		c.mu.Unlock()
	case "901":
		c.mu.Lock()
		c.account = ""
		c.mu.Unlock()
	case "CAP":
		c.trackCap(m)
	}
	return false, nil
}

// pong answers a PING with its last parameter (bounded). A token that
// cannot be sent back is answered with nothing rather than ending the
// session.
func (c *Conn) pong(m *irc.Message) error {
	tok := m.Trailing()
	if len(tok) > 400 {
		tok = tok[:400]
	}
	err := c.Send("PONG", tok)
	if errors.Is(err, ErrBadParam) {
		err = c.Send("PONG", "")
	}
	return err
}

// trackCap applies CAP ACK/DEL after registration.
func (c *Conn) trackCap(m *irc.Message) {
	sub := strings.ToUpper(m.Param(1))
	if sub != "ACK" && sub != "DEL" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range strings.Fields(m.Trailing()) {
		name, off := strings.CutPrefix(w, "-")
		if sub == "DEL" || off {
			delete(c.caps, name)
		} else if len(c.caps) < maxCaps {
			c.caps[name] = true
		}
	}
}
