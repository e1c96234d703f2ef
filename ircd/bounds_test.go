package ircd

import (
	"context"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

// commands returns the commands of msgs, for order checks.
func commands(msgs []*irc.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Command
	}
	return out
}

func TestLineBounds(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice")
	b := ts.connect("bob")
	prefix := "PRIVMSG bob :"
	text := func(total int) string { return strings.Repeat("x", total-len(prefix)) }
	tags := func(total int) string { // a tag part of total bytes, '@' and ' ' included
		return "@+k=" + strings.Repeat("v", total-5) + " "
	}
	tests := []struct {
		name      string
		line      string
		delivered bool
	}{
		{"510-byte message part", prefix + text(510), true},
		{"511-byte message part", prefix + text(511), false},
		{"2000-byte message part", prefix + text(2000), false},
		{"4096-byte tag part", tags(4096) + prefix + "hi", true},
		// a client's tag data is at most 4094 bytes (message-tags), so the
		// 8191-byte tag part (tag_bytes) is the bound of what the server sends
		{"4097-byte tag part", tags(4097) + prefix + "hi", false},
		{"8191-byte tag part", tags(8191) + prefix + "hi", false},
		{"8192-byte tag part", tags(8192) + prefix + "hi", false},
		{"big tags and a long message part", tags(8191) + prefix + text(511), false},
		{"tags without a message", "@+k=v", false},
		{"over both bounds", tags(9000) + prefix + text(3000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.send(tt.line)
			msgs := a.collect() // the connection survives: PING answered
			got := b.collect()
			if tt.delivered {
				if len(msgs) != 0 || len(filter(got, "PRIVMSG")) != 1 {
					t.Fatalf("sender %v, receiver %d messages", msgs, len(got))
				}
				return
			}
			if len(msgs) != 1 || msgs[0].Command != "417" || msgs[0].Param(0) != "alice" {
				t.Fatalf("sender got %v, want one 417", msgs)
			}
			if len(got) != 0 {
				t.Fatalf("receiver got %v", got)
			}
		})
	}
}

func TestUnterminatedLongLine(t *testing.T) {
	ts := startServer(t, nil)
	tests := []struct {
		name  string
		parts []string // written one after the other
		want  []string // reply commands (PONG params in brackets)
	}{
		{
			name:  "long line arrives in pieces",
			parts: []string{strings.Repeat("A", 5000), strings.Repeat("B", 5000), strings.Repeat("C", 5000), "QUIT\r\nPING :after\r\n"},
			want:  []string{"417", "PONG[after]"},
		},
		{
			name:  "complete line before an over-long tail in one write",
			parts: []string{"PING :before\r\n" + strings.Repeat("Z", 9000), "QUIT\r\nPING :after\r\n"},
			want:  []string{"PONG[before]", "417", "PONG[after]"},
		},
		{
			name:  "over-long tail ending in a lone CR",
			parts: []string{strings.Repeat("Y", 20000) + "\r", "PING :after\r\n"},
			want:  []string{"417", "PONG[after]"},
		},
		{
			name:  "just under the bound stays a normal (too long) line",
			parts: []string{"PING :" + strings.Repeat("W", 8000), "\r\nPING :after\r\n"},
			want:  []string{"417", "PONG[after]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ts.connect("c" + strings.ReplaceAll(tt.name[:8], " ", ""))
			for _, p := range tt.parts {
				c.sendRaw([]byte(p))
			}
			var got []string
			for len(got) < len(tt.want) {
				m, err := c.read(5 * time.Second)
				if err != nil {
					t.Fatalf("after %v: %v", got, err)
				}
				s := m.Command
				if s == "PONG" {
					s += "[" + m.Param(1) + "]"
				}
				got = append(got, s)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			if msgs := c.collect(); len(msgs) != 0 {
				t.Fatalf("extra: %v", msgs)
			}
		})
	}
}

func TestGarbageInput(t *testing.T) {
	ts := startServer(t, nil)
	inputs := []string{
		"\x00\r\n",
		"PING\x00 :x\r\n",
		"\x00\x00\x00\n",
		"\r",
		"\n\n\n",
		"\r\r\n\n\r",
		"@a \r\n",
		"@a  \r\n",
		"@a\r\n",
		"@\r\n",
		"@ \r\n",
		"@ :\r\n",
		":\r\n",
		": \r\n",
		":a \r\n",
		":a\r\n",
		"@a :b \r\n",
		"@a :\r\n",
		"     \r\n",
		" :\r\n",
		"\xff\xfe\xfd\r\n",
		"\x01\x02\x03 \x04\r\n",
		"@;;;=;= :x!y@z FOO\r\n",
		"@+a=\\ PRIVMSG nobody :y\r\n",
		"@+a=\\\\\\ TAGMSG #nochan\r\n",
		"PRIVMSG\r\n",
		"PRIVMSG :\r\n",
		"MODE\r\n",
		"MODE :\r\n",
		"MODE # +b\r\n",
		"MODE #x :\r\n",
		"JOIN ,,,\r\n",
		"JOIN :\r\n",
		"PART ,\r\n",
		"KICK , ,\r\n",
		"INVITE : :\r\n",
		"TOPIC :\r\n",
		"WHO :\r\n",
		"WHO , %\r\n",
		"WHO * %,\r\n",
		"WHOIS ,\r\n",
		"NAMES ,,\r\n",
		"LIST >,<,\r\n",
		"LIST >x,<-1,*\r\n",
		"CAP LS 30200000\r\n",
		"CAP REQ :- -- ---\r\n",
		"USER\r\n",
		"NICK :\r\n",
		"AWAY :\r\n",
		"SETNAME :\r\n",
		"ISON :\r\n",
		"USERHOST :\r\n",
		"AUTHENTICATE\r\n",
		"AUTHENTICATE :\r\n",
		"PRIVMSG ,,,, :x\r\n",
		"PRIVMSG @,+ :x\r\n",
		"NOTICE +# :x\r\n",
		"TAGMSG\r\n",
		"PONG\r\n",
		"QUIT\x00\r\n",
	}
	for _, registered := range []bool{false, true} {
		name := "unregistered"
		if registered {
			name = "registered"
		}
		t.Run(name, func(t *testing.T) {
			var c *testClient
			if registered {
				c = ts.connect("garbage")
				c.join("#x")
			}
			for i, in := range inputs {
				if !registered && i%10 == 0 {
					c = ts.dial() // stay under the pre-registration line cap
				}
				c.sendRaw([]byte(in))
				c.send("PING :alive")
				for {
					m, err := c.read(5 * time.Second)
					if err != nil {
						t.Fatalf("after %q: %v", in, err)
					}
					if m.Command == "ERROR" {
						t.Fatalf("after %q: %v", in, m)
					}
					if m.Command == "PONG" && m.Param(1) == "alive" {
						break
					}
				}
			}
		})
	}
}

func TestPreRegistrationLineCap(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Limits.PreRegLines = 5 })
	c := ts.dial()
	for i := 0; i < 6; i++ { // the sixth line is one too many
		c.send("PING :x")
	}
	msgs := c.expectClosed()
	if got := strings.Join(commands(msgs), " "); got != "PONG PONG PONG PONG PONG ERROR" {
		t.Fatalf("got %v", msgs)
	}
	if e := msgs[5].Trailing(); e != "Closing Link: Too many lines before registration" {
		t.Fatalf("ERROR %q", e)
	}
	// registering within the cap works, and the cap ends with registration
	r := ts.dial()
	r.send("CAP LS")
	r.send("NICK ok")
	r.send("USER ok 0 * :ok")
	r.send("CAP END")
	r.expectNumeric("001")
	for i := 0; i < 10; i++ {
		r.send("PING :x")
	}
	r.sync()
}

func TestRegistrationTimeout(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Limits.RegistrationTimeout = 20 * time.Second })
	reg := ts.connect("registered")
	pending := ts.dial()
	pending.send("NICK slowpoke")
	pending.sync()
	ts.advance(19 * time.Second)
	pending.sync() // still connected
	reg.sync()
	ts.advance(time.Second)
	pending.expectErrorClose("Closing Link: Registration timed out")
	reg.sync()
	// the nick is free again
	again, _ := ts.register("slowpoke")
	again.sync()
}

func TestPingTimeout(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.Limits.PingInterval = 30 * time.Second
		c.Limits.PingTimeout = 60 * time.Second
	})
	silent := ts.connect("silent")
	ponger := ts.connect("ponger")
	silent.join("#p")
	ponger.join("#p")
	silent.collect()
	ponger.collect()

	ts.advance(29 * time.Second)
	for _, c := range []*testClient{silent, ponger} {
		if p := filter(c.collect(), "PING"); len(p) != 0 {
			t.Fatalf("%s: early PING %v", c.nick, p)
		}
	}
	// the collect round trip above counts as activity: idle starts again
	ts.advance(30 * time.Second)
	for _, c := range []*testClient{silent, ponger} {
		m := c.expect("PING", nil)
		if m.Param(0) != "irc.test" {
			t.Fatalf("PING %v", m)
		}
	}
	ponger.send("PONG :irc.test") // any line counts; this is the usual one
	ponger.sync()
	ts.advance(59 * time.Second)
	// silent: idle 89 s with a PING outstanding, still connected;
	// ponger: idle 59 s since its PONG, so it is pinged again
	ponger.expect("PING", nil)
	ts.advance(time.Second)
	msgs := silent.expectClosed()
	if e := find(msgs, "ERROR", nil); e == nil || e.Trailing() != "Closing Link: Ping timeout: 90 seconds" {
		t.Fatalf("silent: %v", msgs)
	}
	m := ponger.expect("QUIT", nil)
	if m.Name != "silent" || m.Trailing() != "Ping timeout: 90 seconds" {
		t.Fatalf("peer saw %v", m)
	}
	ponger.sync()
}

func TestMaxClients(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Limits.MaxClients = 2 })
	a := ts.connect("alice")
	u := ts.dial() // unregistered connections count too
	u.send("NICK u")
	u.sync()
	full := ts.dial()
	msgs := full.expectClosed()
	if len(msgs) != 1 || msgs[0].Command != "ERROR" || !strings.HasPrefix(msgs[0].Trailing(), "Closing Link: Server is full") {
		t.Fatalf("got %v", msgs)
	}
	a.sync()
	u.send("QUIT")
	u.expectClosed()
	waitFor(t, "the slot to free", func() bool { return ts.srv.ClientCount() == 1 })
	b := ts.connect("bob")
	b.sync()
}

// waitFor polls cond (for state that no protocol round trip can order,
// such as a reader goroutine noticing a closed socket).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSendQExceeded(t *testing.T) {
	const small = 4096
	sockOpt := func(opt int) func(network, address string, c syscall.RawConn) error {
		return func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = setSockOptInt(fd, syscall.SOL_SOCKET, opt, small)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	// Small kernel buffers on both ends of the slow client's socket, so
	// the server-side queue fills after a few dozen kilobytes.
	ts := startServerWith(t, func(c *Config) { c.Limits.SendQBytes = 16 << 10 },
		&net.ListenConfig{Control: sockOpt(syscall.SO_SNDBUF)})
	slow := ts.dialWith(&net.Dialer{Control: sockOpt(syscall.SO_RCVBUF)})
	slow.send("NICK slow")
	slow.send("USER slow 0 * :slow")
	slow.send("JOIN #flood")
	slow.expect("366", nil)

	flooder := ts.connect("flooder")
	fast := ts.connect("fast")
	flooder.join("#flood")
	fast.join("#flood")
	flooder.collect()
	fast.collect()

	text := strings.Repeat("f", 400)
	const batch = 20
	quitSeen := false
	sent := 0
	for sent < 4000 && !quitSeen {
		for i := 0; i < batch; i++ {
			flooder.send("PRIVMSG #flood :" + text)
		}
		sent += batch
		// the fast reader gets every message of the batch promptly
		got := 0
		for got < batch {
			m, err := fast.read(5 * time.Second)
			if err != nil {
				t.Fatalf("fast reader stalled after %d messages: %v", sent-batch+got, err)
			}
			switch {
			case m.Command == "PRIVMSG" && m.Trailing() == text:
				got++
			case m.Command == "QUIT" && m.Name == "slow":
				if m.Trailing() != "SendQ exceeded" {
					t.Fatalf("QUIT %v", m)
				}
				quitSeen = true
			default:
				t.Fatalf("fast got %v", m)
			}
		}
	}
	if !quitSeen {
		fast.send("PING :q")
		m := fast.expect("QUIT", nil)
		if m.Name != "slow" || m.Trailing() != "SendQ exceeded" {
			t.Fatalf("QUIT %v", m)
		}
	}
	t.Logf("slow client dropped after about %d KiB of channel traffic", sent*len(text)/1024)
	msgs := slow.expectClosed()
	last := msgs[len(msgs)-1]
	if last.Command != "ERROR" || last.Trailing() != "SendQ exceeded" {
		t.Fatalf("slow client's last line %v (of %d)", last, len(msgs))
	}
	// everyone else carries on
	flooder.send("PRIVMSG #flood :after")
	if m := fast.expect("PRIVMSG", nil); m.Trailing() != "after" {
		t.Fatalf("got %v", m)
	}
	fast.send("NAMES #flood")
	if m := fast.expectNumeric("353"); strings.Contains(m.Trailing(), "slow") {
		t.Fatalf("slow still a member: %v", m)
	}
}

func TestGracefulShutdown(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice")
	b := ts.connect("bob", "server-time")
	a.join("#s")
	b.join("#s")
	u := ts.dial()
	u.send("NICK pending")
	u.sync()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- ts.srv.Shutdown(ctx) }()
	for _, c := range []*testClient{a, b, u} {
		msgs := c.expectClosed()
		last := msgs[len(msgs)-1]
		if last.Command != "ERROR" || last.Trailing() != "Server shutting down" {
			t.Fatalf("%s: last line %v", c.nick, last)
		}
		if q := filter(msgs, "QUIT"); len(q) != 0 {
			t.Fatalf("%s: QUIT during shutdown %v", c.nick, q)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
	// the processor counts the closed connections as their readers report
	waitFor(t, "the client count to drop to 0", func() bool { return ts.srv.ClientCount() == 0 })
	if c, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 1)
		if n, _ := c.Read(buf); n > 0 {
			t.Fatal("a new connection was served after shutdown")
		}
		c.Close()
	}
}

func TestShutdownByContext(t *testing.T) {
	srv, err := New(Config{Name: "irc.test", Clock: newFakeClock(), Tick: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- srv.Run(ctx) }()
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln, Listener{Kind: "tcp"}) }()
	ts := &testServer{t: t, srv: srv, addr: ln.Addr().String()}
	c := ts.connect("alice")
	cancel()
	c.expectErrorClose("Server shutting down")
	if err := <-runDone; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := <-serveDone; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown after Run returned: %v", err)
	}
}
