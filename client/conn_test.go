package client

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/client/clienttest"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/sasl"
)

// readInBackground reads until the message matching stop, and reports the
// error that ended the loop (nil when stop was seen).
func readInBackground(c *Conn, stop func(*irc.Message) bool) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := readUntil(c, stop)
		done <- err
	}()
	return done
}

func isPong(tok string) func(*irc.Message) bool {
	return func(m *irc.Message) bool { return m.Command == "PONG" && m.Trailing() == tok }
}

// TestConnAnswersServerPing: the server pings every 100 ms and drops a
// client that does not answer within 100 ms more; ours stays connected.
func TestConnAnswersServerPing(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Mutate: func(c *ircd.Config) {
		c.Limits.PingInterval = 100 * time.Millisecond
		c.Limits.PingTimeout = 100 * time.Millisecond
	}})
	c, err := dialT(t, Config{Addr: srv.Addr, Signer: sasl.NewKeySigner(newKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	done := readInBackground(c, isPong("probe"))
	time.Sleep(800 * time.Millisecond)
	if err := c.Send("PING", "probe"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("connection ended: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no PONG")
	}
}

// TestConnKeepAlive: in silence the client PINGs the server itself; when
// the answer does not come, ReadMessage fails.
func TestConnKeepAlive(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	px := startProxy(t, srv.Addr)
	c, err := dialT(t, Config{Addr: px.addr(), Port: uint16(srv.Port), Signer: sasl.NewKeySigner(newKey(t)),
		KeepAlive: 100 * time.Millisecond, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// The server is quiet (30 s ping interval): keep-alives flow and are
	// answered for a while.
	done := readInBackground(c, isPong("probe"))
	time.Sleep(700 * time.Millisecond)
	if err := c.Send("PING", "probe"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("connection ended: %v", err)
	}
	// Now the server goes silent.
	px.freeze()
	start := time.Now()
	done = readInBackground(c, func(*irc.Message) bool { return false })
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no reply from the server") {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Fatalf("gave up after %s", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadMessage did not give up on a silent server")
	}
}

// TestConnPrivmsgSplit: a long multi-line text arrives whole, in order,
// split into lines the server relays.
func TestConnPrivmsgSplit(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	a, err := dialT(t, Config{Addr: srv.Addr, Nick: "alice", Signer: sasl.NewKeySigner(newKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	b, err := dialT(t, Config{Addr: srv.Addr, Nick: "bob", Signer: sasl.NewKeySigner(newKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	words := make([]string, 0, 300)
	for i := range 300 {
		words = append(words, strings.Repeat(string(rune('a'+i%26)), 1+i%9))
	}
	para := strings.Join(words, " ")
	text := para + "\nsecond line ünïcødé\r\n\nthird"
	if err := a.Privmsg("bob", text); err != nil {
		t.Fatal(err)
	}
	if err := a.Send("PRIVMSG", "bob", "END"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		m, err := readUntil(b, func(m *irc.Message) bool { return m.Command == "PRIVMSG" })
		if err != nil {
			t.Fatal(err)
		}
		bare := m.Copy()
		bare.Tags = nil
		if n := len(bare.String()) + 2; n > 512 {
			t.Fatalf("relayed line of %d bytes", n)
		}
		if m.Prefix.Name != "alice" {
			t.Fatalf("from %q", m.Prefix.Name)
		}
		if m.Trailing() == "END" {
			break
		}
		got = append(got, m.Trailing())
	}
	if len(got) < 4 {
		t.Fatalf("%d messages; want the paragraph split", len(got))
	}
	n := len(got)
	if strings.Join(got[:n-2], " ") != para || got[n-2] != "second line ünïcødé" || got[n-1] != "third" {
		t.Fatalf("got %q", got)
	}
	if err := a.Privmsg("bob", "\n\r\n"); err == nil {
		t.Fatal("empty text sent")
	}
}

// TestConnEchoAndSelf: with echo-message the sender sees its own message
// and FromSelf says so; Join works and the account tag is there.
func TestConnEchoAndSelf(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	key := newKey(t)
	c, err := dialT(t, Config{Addr: srv.Addr, Nick: "carol", Signer: sasl.NewKeySigner(key)})
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range DefaultCaps() {
		if !c.HasCap(cp) {
			t.Errorf("cap %s not acknowledged", cp)
		}
	}
	if err := c.Join("#test"); err != nil {
		t.Fatal(err)
	}
	if _, err := readUntil(c, func(m *irc.Message) bool { return m.Command == "366" }); err != nil {
		t.Fatal(err)
	}
	if err := c.Privmsg("#test", "hi"); err != nil {
		t.Fatal(err)
	}
	m, err := readUntil(c, func(m *irc.Message) bool { return m.Command == "PRIVMSG" })
	if err != nil {
		t.Fatal(err)
	}
	if !c.FromSelf(m) || m.Trailing() != "hi" {
		t.Fatalf("echo %v, FromSelf %v", m, c.FromSelf(m))
	}
	if acct := m.Tags["account"]; acct != accountOf(t, key) {
		t.Fatalf("account tag %q", acct)
	}
	if _, ok := m.Tags["time"]; !ok {
		t.Fatal("no server-time tag")
	}
}
