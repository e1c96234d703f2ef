package e2e

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

const (
	// maxLineBytes bounds one line read from the server (tags included).
	maxLineBytes = 16 << 10
	// inboxLines bounds the lines a rawClient buffers before its reader
	// stops reading (and the server's send queue takes over).
	inboxLines = 1024
	// writeTimeout bounds one write to the server.
	writeTimeout = 5 * time.Second
)

// rawClient is a minimal IRC client speaking the protocol line by line, the
// test's own eyes and mouth on the server. It answers PING by itself.
type rawClient struct {
	t    testing.TB
	nick string
	conn net.Conn

	wmu   sync.Mutex // serialises writes
	inbox chan *irc.Message
	done  chan struct{} // closed when the reader stops
	rerr  error         // why the reader stopped; valid once done is closed
}

// dialIRC connects to a plaintext IRC listener at addr and registers as
// nick (NICK/USER, no CAP), returning once 001 arrived. A cleanup sends
// QUIT and closes the connection.
func dialIRC(t testing.TB, addr, nick string) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatalf("%s: dial %s: %v", nick, addr, err)
	}
	return startRawClient(t, conn, nick)
}

// startRawClient registers nick on an already connected conn (so callers
// can dial through a proxy first).
func startRawClient(t testing.TB, conn net.Conn, nick string) *rawClient {
	t.Helper()
	c := &rawClient{t: t, nick: nick, conn: conn, inbox: make(chan *irc.Message, inboxLines), done: make(chan struct{})}
	go c.readLoop()
	t.Cleanup(c.close)
	c.send("NICK " + nick)
	c.send("USER " + nick + " 0 * :e2e test client")
	c.expect("001 welcome", func(m *irc.Message) bool { return m.Command == "001" })
	return c
}

func (c *rawClient) readLoop() {
	defer close(c.done)
	sc := bufio.NewScanner(c.conn)
	sc.Buffer(make([]byte, 4096), maxLineBytes)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		m, err := irc.ParseMessage(line)
		if err != nil {
			c.rerr = fmt.Errorf("unparsable line %q: %w", line, err)
			return
		}
		if m.Command == "PING" {
			if err := c.write("PONG :" + m.Trailing()); err != nil {
				c.rerr = err
				return
			}
			continue
		}
		c.inbox <- m
	}
	c.rerr = sc.Err()
	if c.rerr == nil {
		c.rerr = fmt.Errorf("connection closed by server")
	}
}

func (c *rawClient) write(line string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		return fmt.Errorf("write %q: %w", line, err)
	}
	return nil
}

// send writes one protocol line (without CR LF).
func (c *rawClient) send(line string) {
	c.t.Helper()
	if err := c.write(line); err != nil {
		c.t.Fatalf("%s: %v", c.nick, err)
	}
}

// expect discards lines until one matches, failing after waitTimeout; desc
// names the awaited line in the failure, which also lists the discarded
// lines.
func (c *rawClient) expect(desc string, match func(*irc.Message) bool) *irc.Message {
	c.t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	var seen []string
	for {
		select {
		case m := <-c.inbox:
			if match(m) {
				return m
			}
			if len(seen) < 50 {
				seen = append(seen, m.String())
			}
		case <-c.done:
			// Drain what arrived before the reader stopped.
			select {
			case m := <-c.inbox:
				if match(m) {
					return m
				}
				if len(seen) < 50 {
					seen = append(seen, m.String())
				}
				continue
			default:
			}
			c.t.Fatalf("%s: waiting for %s: %v; lines seen:\n%s", c.nick, desc, c.rerr, strings.Join(seen, "\n"))
		case <-timer.C:
			c.t.Fatalf("%s: timed out after %v waiting for %s; lines seen:\n%s", c.nick, waitTimeout, desc, strings.Join(seen, "\n"))
		}
	}
}

// join joins channel and waits for the end of its NAMES list.
func (c *rawClient) join(channel string) {
	c.t.Helper()
	c.send("JOIN " + channel)
	c.expect("own JOIN "+channel, isJoin(c.nick, channel))
	c.expect("366 end of NAMES for "+channel, func(m *irc.Message) bool {
		return m.Command == "366" && strings.EqualFold(m.Param(1), channel)
	})
}

// privmsg sends text to target.
func (c *rawClient) privmsg(target, text string) {
	c.t.Helper()
	c.send("PRIVMSG " + target + " :" + text)
}

// expectJoin waits until nick joins channel.
func (c *rawClient) expectJoin(nick, channel string) {
	c.t.Helper()
	c.expect(nick+" joining "+channel, isJoin(nick, channel))
}

// expectPrivmsg waits for a PRIVMSG from nick to target with exactly text.
func (c *rawClient) expectPrivmsg(from, target, text string) {
	c.t.Helper()
	c.expect(fmt.Sprintf("PRIVMSG %s :%s from %s", target, text, from), func(m *irc.Message) bool {
		return m.Command == "PRIVMSG" && m.Prefix != nil && strings.EqualFold(m.Prefix.Name, from) &&
			strings.EqualFold(m.Param(0), target) && m.Trailing() == text
	})
}

// isJoin matches a JOIN of channel by nick.
func isJoin(nick, channel string) func(*irc.Message) bool {
	return func(m *irc.Message) bool {
		return m.Command == "JOIN" && m.Prefix != nil && strings.EqualFold(m.Prefix.Name, nick) &&
			strings.EqualFold(m.Param(0), channel)
	}
}

// close says QUIT, closes the connection and waits for the reader.
func (c *rawClient) close() {
	_ = c.write("QUIT :e2e done")
	_ = c.conn.Close()
	// Unblock a reader stuck on a full inbox.
	for {
		select {
		case <-c.done:
			return
		case <-c.inbox:
		}
	}
}
