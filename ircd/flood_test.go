package ircd

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

// Flood tests drive the token buckets with the fake clock only: a command
// held by fake lag is shown to wait by ordering (another client's marker
// arrives first) and by the server's own state, never by sleeping.

// quietLimits keeps the server from PINGing clients while a test moves
// the fake clock by minutes, so every message a client reads is an answer.
func quietLimits(c *Config) {
	c.Limits.PingInterval = 24 * time.Hour
	c.Limits.PingTimeout = 24 * time.Hour
	c.Limits.RegistrationTimeout = 24 * time.Hour
}

// numbered returns lines format(1)..format(n) as one write, so that they
// reach the server as one batch.
func numbered(from, to int, format string) []byte {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, format+"\r\n", i)
	}
	return []byte(b.String())
}

// expectNext reads the very next message and fails unless it is cmd and
// satisfies ok.
func (c *testClient) expectNext(cmd string, ok func(*irc.Message) bool) *irc.Message {
	c.t.Helper()
	m, err := c.read(5 * time.Second)
	if err != nil {
		c.t.Fatalf("%s: waiting for %s: %v", c.nick, cmd, err)
	}
	if m.Command != cmd || (ok != nil && !ok(m)) {
		c.t.Fatalf("%s: got %q, want %s next", c.nick, m.String(), cmd)
	}
	return m
}

// expectPongs reads PONGs :from..:to in order, as the next messages.
func (c *testClient) expectPongs(from, to int) {
	c.t.Helper()
	for i := from; i <= to; i++ {
		want := strconv.Itoa(i)
		c.expectNext("PONG", func(m *irc.Message) bool { return m.Param(1) == want })
	}
}

// held reports whether the connection holding nick has input waiting for
// the fake clock (fake lag), and how many received lines wait with it.
func (ts *testServer) held(nick string) (held bool, waiting int) {
	ts.t.Helper()
	found := false
	ts.do(func(s *Server) {
		c := s.st.nicks[Fold(nick)]
		if c == nil {
			return
		}
		found = true
		_, held = s.st.throttled[c]
		waiting = c.backlog()
	})
	if !found {
		ts.t.Fatalf("no client %s", nick)
	}
	return held, waiting
}

// expectHeld fails unless nick's input waits with n lines behind it.
func (ts *testServer) expectHeld(nick string, n int) {
	ts.t.Helper()
	if held, waiting := ts.held(nick); !held || waiting != n {
		ts.t.Fatalf("%s: held=%v waiting=%d, want held with %d waiting", nick, held, waiting, n)
	}
}

func TestFloodSlowsThenDisconnectsFlooder(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		quietLimits(c)
		c.Flood.Default = FloodClass{Rate: 2, Burst: 5, Excess: 10}
	})
	flooder := ts.connect("flooder")
	good := ts.connect("good")
	flooder.join("#room")
	good.join("#room")
	flooder.collect()
	good.collect()
	ts.clock.Advance(time.Minute) // both buckets full again

	flooder.sendRaw(numbered(1, 8, "PRIVMSG #room :f%d"))
	fline := func(i int) func(*irc.Message) bool {
		want := "f" + strconv.Itoa(i)
		return func(m *irc.Message) bool { return m.Name == "flooder" && m.Trailing() == want }
	}
	// the burst of 5 and the 6th (which runs the bucket into debt) go
	// through at once; f7 and f8 wait
	for i := 1; i <= 6; i++ {
		good.expectNext("PRIVMSG", fline(i))
	}
	ts.expectHeld("flooder", 2)
	// the well-behaved member is not slowed: its round trip overtakes f7
	good.send("PRIVMSG #room :still here")
	good.send("PING :mark")
	good.expectNext("PONG", func(m *irc.Message) bool { return m.Param(1) == "mark" })
	flooder.expectNext("PRIVMSG", func(m *irc.Message) bool { return m.Trailing() == "still here" })

	ts.clock.Advance(499 * time.Millisecond)
	good.send("PING :mark2")
	good.expectNext("PONG", func(m *irc.Message) bool { return m.Param(1) == "mark2" })
	ts.expectHeld("flooder", 2)
	ts.clock.Advance(time.Millisecond) // 1 token earned at 2/s
	good.expectNext("PRIVMSG", fline(7))
	ts.expectHeld("flooder", 1)
	ts.clock.Advance(500 * time.Millisecond)
	good.expectNext("PRIVMSG", fline(8))

	// it keeps flooding: what it sends while it waits is owed as well
	flooder.sendRaw(numbered(1, 30, "PRIVMSG #room :x%d"))
	ts.clock.Advance(500 * time.Millisecond) // f8's lag is over; the 30 lines are read
	flooder.expectErrorClose("Closing Link: Excess flood")
	q := good.expectNext("QUIT", nil)
	if q.Name != "flooder" || q.Trailing() != "Excess flood" {
		t.Fatalf("peer saw %v", q)
	}
	good.sync() // still connected, never slowed
}

func TestFloodExcessPoint(t *testing.T) {
	// Burst 5, Excess 10 at 2/s: the 6th command runs the bucket into
	// debt (1 owed); the lines behind it are owed too. 14 lines owe 9 and
	// are slowed; 15 owe 10 and are disconnected.
	tests := []struct {
		lines  int
		killed bool
	}{{6, false}, {14, false}, {15, true}, {40, true}}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.lines), func(t *testing.T) {
			ts := startServer(t, func(c *Config) {
				quietLimits(c)
				c.Flood.Default = FloodClass{Rate: 2, Burst: 5, Excess: 10}
			})
			c := ts.connect("pinger")
			c.sendRaw(numbered(1, tt.lines, "PING :%d"))
			if tt.killed {
				msgs := c.expectClosed()
				if got := commands(msgs); strings.Join(got, " ") != "PONG PONG PONG PONG PONG ERROR" ||
					msgs[5].Trailing() != "Closing Link: Excess flood" {
					t.Fatalf("got %v", msgs)
				}
				return
			}
			c.expectPongs(1, 6)
			ts.expectHeld("pinger", tt.lines-6)
			// each refill releases a burst and one more
			for next := 7; next <= tt.lines; next += 6 {
				ts.clock.Advance(time.Minute)
				c.expectPongs(next, min(next+5, tt.lines))
			}
			ts.clock.Advance(time.Minute)
			c.sync() // still connected
		})
	}
}

// loginFlood logs c in as account, then lets its bucket fill up again.
func loginFlood(ts *testServer, c *testClient, account string) {
	ts.t.Helper()
	c.login(account)
	ts.clock.Advance(time.Minute)
}

func TestFloodClasses(t *testing.T) {
	classes := FloodOptions{
		Unregistered: FloodClass{Rate: 1, Burst: 3, Excess: 6},
		Default:      FloodClass{Rate: 1, Burst: 6, Excess: 12},
		Privileged:   FloodClass{Rate: 1, Burst: 20, Excess: 40},
	}
	tests := []struct {
		name string
		// unregistered connections get "NICK <nick>" first in the same
		// write (one token); the others are registered over a bucket that
		// is off, then optionally logged in
		unregistered bool
		account      string
		pings        int
		answered     int // PONGs before the clock moves
		killed       bool
	}{
		{name: "unregistered slowed", unregistered: true, pings: 5, answered: 3},
		{name: "unregistered excess", unregistered: true, pings: 8, answered: 2, killed: true},
		{name: "registered slowed", pings: 9, answered: 7},
		{name: "registered excess", pings: 18, answered: 6, killed: true},
		{name: "logged-in user is default class", account: "user1", pings: 9, answered: 7},
		{name: "staff bucket", account: "staff1", pings: 18, answered: 18},
		{name: "oper bucket", account: "root1", pings: 18, answered: 18},
		{name: "staff excess", account: "staff2", pings: 60, answered: 20, killed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, func(c *Config) {
				quietLimits(c)
				c.Backend = newTestAuth()
				c.Flood = classes
				if !tt.unregistered {
					c.Flood.Unregistered = FloodClass{} // registration is not under test here
				}
			})
			var c *testClient
			nick := "u" + strings.ReplaceAll(tt.name, " ", "")[:6]
			if tt.unregistered {
				c = ts.dial()
				c.nick = nick
				c.sendRaw(append([]byte("NICK "+nick+"\r\n"), numbered(1, tt.pings, "PING :%d")...))
			} else {
				c = ts.connect(nick, "sasl")
				if tt.account != "" {
					loginFlood(ts, c, tt.account)
				} else {
					ts.clock.Advance(time.Minute)
				}
				c.sendRaw(numbered(1, tt.pings, "PING :%d"))
			}
			if tt.killed {
				msgs := c.expectClosed()
				if len(msgs) != tt.answered+1 || len(filter(msgs, "PONG")) != tt.answered ||
					msgs[tt.answered].Trailing() != "Closing Link: Excess flood" {
					t.Fatalf("got %d messages %v", len(msgs), msgs)
				}
				return
			}
			c.expectPongs(1, tt.answered)
			if tt.answered == tt.pings {
				if held, _ := ts.held(nick); held {
					t.Fatal("held within its burst")
				}
				return
			}
			ts.expectHeld(nick, tt.pings-tt.answered)
			ts.clock.Advance(time.Minute)
			c.expectPongs(tt.answered+1, tt.pings)
		})
	}
}

func TestFloodPreRegistrationCap(t *testing.T) {
	// The line cap before registration holds whatever the bucket allows.
	tests := []struct {
		lines    int
		answered int
		killed   bool
	}{{8, 8, false}, {9, 8, true}, {20, 8, true}}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.lines), func(t *testing.T) {
			ts := startServer(t, func(c *Config) {
				c.Limits.PreRegLines = 8
				c.Flood.Unregistered = FloodClass{Rate: 1, Burst: 30, Excess: 60}
			})
			c := ts.dial()
			c.sendRaw(numbered(1, tt.lines, "PING :%d"))
			c.expectPongs(1, tt.answered)
			if tt.killed {
				c.expectErrorClose("Closing Link: Too many lines before registration")
				return
			}
			// the cap counts every line: even registering is one too many now
			c.send("NICK late")
			c.send("USER late 0 * :late")
			c.expectErrorClose("Closing Link: Too many lines before registration")
		})
	}
}

func TestFloodCommandCosts(t *testing.T) {
	// Burst 8 at 1/s: a command of cost k leaves 8-k tokens, so of the 10
	// PINGs behind it 9-k are answered at once (the last of them runs the
	// bucket into debt) and the rest wait for the clock.
	ts := startServer(t, func(c *Config) {
		quietLimits(c)
		c.Flood.Default = FloodClass{Rate: 1, Burst: 8, Excess: 100}
	})
	marker := ts.connect("marker")
	for _, n := range []string{"t1", "t2", "t3", "t4"} {
		ts.connect(n)
	}
	marker.join("#c1")
	tests := []struct {
		line string
		cost int
	}{
		{"PING :0", 1},
		{"PRIVMSG t1 :hi", 1},
		{"PRIVMSG t1,t2,t3,t4 :hi", 4},
		{"NOTICE t1,t2 :hi", 2},
		{"JOIN #c1", 1},
		{"JOIN #c1,#c2,#c3", 3},
		{"WHO #c1", 3},
		{"LIST", 3},
		{"NAMES #c1", 3},
		{"WHOIS t1", 3},
		{"AUTHENTICATE PLAIN", 2},
		{"MODE #c1", 1},
	}
	for i, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			nick := "cost" + strconv.Itoa(i)
			c := ts.connect(nick)
			ts.clock.Advance(time.Minute) // a full bucket
			c.sendRaw(append([]byte(tt.line+"\r\n"), numbered(1, 10, "PING :%d")...))
			answered := 9 - tt.cost
			// the command's own replies come first
			c.expect("PONG", func(m *irc.Message) bool { return m.Param(1) == "1" })
			c.expectPongs(2, answered)
			ts.expectHeld(nick, 10-answered)
			marker.send("PRIVMSG " + nick + " :marker")
			c.expectNext("PRIVMSG", func(m *irc.Message) bool { return m.Trailing() == "marker" })
			ts.clock.Advance(time.Second)
			c.expectPongs(answered+1, answered+1)
		})
	}
}

func TestFloodHeldClientIsReleased(t *testing.T) {
	// A client that is killed or shut down while its input waits must not
	// keep its reader (and its connection slot) forever.
	t.Run("killed while held frees its slot", func(t *testing.T) {
		ts := startServer(t, func(c *Config) {
			c.Limits.MaxClients = 1
			c.Limits.RegistrationTimeout = 30 * time.Second
			c.Flood.Unregistered = FloodClass{Rate: 1, Burst: 3, Excess: 24}
		})
		c := ts.dial()
		c.nick = "slow"
		c.sendRaw(append([]byte("NICK slow\r\n"), numbered(1, 6, "PING :%d")...))
		c.expectPongs(1, 3)
		ts.expectHeld("slow", 3)
		ts.advance(30 * time.Second) // registration timeout, while still held
		c.expectErrorClose("Closing Link: Registration timed out")
		waitFor(t, "the slot to free", func() bool { return ts.srv.ClientCount() == 0 })
		next := ts.connect("next")
		next.sync()
	})
	t.Run("shutdown does not wait for the lag", func(t *testing.T) {
		ts := startServer(t, func(c *Config) {
			quietLimits(c)
			c.Flood.Default = FloodClass{Rate: 0.01, Burst: 1, Excess: 100}
		})
		c := ts.connect("held")
		ts.clock.Advance(time.Hour)
		c.sendRaw(numbered(1, 3, "PING :%d"))
		c.expectPongs(1, 2)
		ts.expectHeld("held", 1)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := ts.srv.Shutdown(ctx); err != nil {
			t.Fatalf("shutdown: %v", err)
		}
		c.expectErrorClose("Server shutting down")
	})
}

// expectRefused dials and expects the server to turn the connection away
// with "ERROR :Closing Link: <reason>…" and nothing else.
func (ts *testServer) expectRefused(reason string) {
	ts.t.Helper()
	c := ts.dial()
	msgs := c.expectClosed()
	if len(msgs) != 1 || msgs[0].Command != "ERROR" || !strings.HasPrefix(msgs[0].Trailing(), "Closing Link: "+reason) {
		ts.t.Fatalf("want refusal %q, got %v", reason, msgs)
	}
}

// dialSASL dials, asks for the sasl capability and stays unregistered.
func (ts *testServer) dialSASL(nick string) *testClient {
	ts.t.Helper()
	c := ts.dial()
	c.nick = nick
	c.send("CAP LS 302")
	c.send("CAP REQ :sasl")
	c.expect("CAP", func(m *irc.Message) bool { return m.Param(1) == "ACK" })
	return c
}

func TestConnLimits(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		// occupy opens the connections that use the limit up
		occupy func(ts *testServer) []*testClient
		refuse string
		// free makes room for exactly one more connection
		free func(t *testing.T, ts *testServer, cs []*testClient)
	}{
		{
			name:   "max clients",
			mutate: func(c *Config) { c.Limits.MaxClients = 2 },
			occupy: func(ts *testServer) []*testClient {
				a := ts.connect("a")
				u := ts.dial() // unregistered connections count too
				u.send("PING :u")
				u.expectNext("PONG", nil)
				return []*testClient{a, u}
			},
			refuse: "Server is full, try again later",
			free: func(t *testing.T, ts *testServer, cs []*testClient) {
				cs[1].send("QUIT")
				cs[1].expectClosed()
				waitFor(t, "the slot to free", func() bool { return ts.srv.ClientCount() == 1 })
			},
		},
		{
			name: "connection rate",
			mutate: func(c *Config) {
				c.Flood.ConnRate = 1
				c.Flood.ConnBurst = 2
			},
			occupy: func(ts *testServer) []*testClient {
				return []*testClient{ts.connect("a"), ts.connect("b")}
			},
			refuse: "Too many new connections, try again later",
			free: func(t *testing.T, ts *testServer, cs []*testClient) {
				ts.clock.Advance(time.Second) // one connection per second
			},
		},
		{
			name: "unauthenticated",
			mutate: func(c *Config) {
				c.Backend = newTestAuth()
				c.Flood.MaxUnauthenticated = 2
			},
			occupy: func(ts *testServer) []*testClient {
				// registered without logging in still counts
				return []*testClient{ts.connect("guest"), ts.dialSASL("pending")}
			},
			refuse: "Too many connections that are not logged in, try again later",
			free: func(t *testing.T, ts *testServer, cs []*testClient) {
				cs[1].login("acct1") // 903 is sent after the count drops
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.mutate)
			cs := tt.occupy(ts)
			ts.expectRefused(tt.refuse)
			ts.expectRefused(tt.refuse) // a refusal does not use the limit up further
			for _, c := range cs {
				c.sync()
			}
			tt.free(t, ts, cs)
			more := ts.connect("more")
			more.sync()
			ts.expectRefused(tt.refuse)
		})
	}
}

func TestConnRequireSASL(t *testing.T) {
	const refusal = "Closing Link: This server requires SASL login"
	tests := []struct {
		name        string
		requireSASL bool // Config.RequireSASL ([limits] require_sasl)
		authRequire bool // the Authenticator's RequireLogin
		login       bool // logs in before CAP END
		welcome     bool
	}{
		{name: "open server", welcome: true},
		{name: "open server with login", login: true, welcome: true},
		{name: "require_sasl without login", requireSASL: true},
		{name: "require_sasl with login", requireSASL: true, login: true, welcome: true},
		{name: "authenticator requires login", authRequire: true},
		{name: "authenticator requires login, logged in", authRequire: true, login: true, welcome: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth := newTestAuth()
			auth.require = tt.authRequire
			ts := startServer(t, func(c *Config) {
				c.Backend = auth
				c.RequireSASL = tt.requireSASL
			})
			c := ts.dialSASL("someone")
			c.send("NICK someone")
			c.send("USER someone 0 * :Someone")
			if tt.login {
				c.login("acct1")
			}
			c.send("CAP END")
			if !tt.welcome {
				c.expectErrorClose(refusal)
				return
			}
			c.expectNumeric("001")
			c.expectEndOfMOTD()
			c.send("WHOIS someone")
			msgs := c.collect()
			acct := find(msgs, "330", nil)
			if tt.login != (acct != nil) {
				t.Fatalf("logged in %v, WHOIS %v", tt.login, msgs)
			}
		})
	}
}
