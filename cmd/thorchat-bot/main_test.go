package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/client"
	"github.com/thorchat/thorchat/client/clienttest"
	"github.com/thorchat/thorchat/sasl"
)

// syncBuffer is a bytes.Buffer safe for the bot's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startBot runs the bot with args until the test ends.
func startBot(t *testing.T, args ...string) *syncBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("bot exited %d after cancel; output:\n%s", code, out)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("bot did not stop within 10s of cancel")
		}
	})
	return out
}

// watcher is a logged-out client that reads into a channel.
type watcher struct {
	c    *client.Conn
	msgs chan *irc.Message
}

func newWatcher(t *testing.T, addr, nick string) *watcher {
	t.Helper()
	c, err := client.Dial(context.Background(), client.Config{Addr: addr, Nick: nick, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{c: c, msgs: make(chan *irc.Message, 256)}
	go func() {
		defer close(w.msgs)
		for {
			m, err := c.ReadMessage()
			if err != nil {
				return
			}
			select {
			case w.msgs <- m:
			default: // the test stopped reading; drop
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return w
}

// expect waits for a message match accepts.
func (w *watcher) expect(t *testing.T, desc string, match func(*irc.Message) bool) {
	t.Helper()
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-w.msgs:
			if !ok {
				t.Fatalf("waiting for %s: connection closed", desc)
			}
			if match(m) {
				return
			}
		case <-timer.C:
			t.Fatalf("timed out waiting for %s", desc)
		}
	}
}

func privmsgFrom(from, target, text string) func(*irc.Message) bool {
	return func(m *irc.Message) bool {
		return m.Command == "PRIVMSG" && m.Prefix != nil && m.Prefix.Name == from &&
			strings.EqualFold(m.Param(0), target) && m.Trailing() == text
	}
}

func joinOf(nick, channel string) func(*irc.Message) bool {
	return func(m *irc.Message) bool {
		return m.Command == "JOIN" && m.Prefix != nil && m.Prefix.Name == nick && strings.EqualFold(m.Param(0), channel)
	}
}

// TestBotPing: the bot logs in (with its key, or with a token), joins,
// greets a joiner, answers !ping in the channel and in private, and keeps
// to its answer budget under a flood.
func TestBotPing(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "bot.key")
	k, err := client.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.WriteKeyFile(keyPath, k); err != nil {
		t.Fatal(err)
	}
	// an owner account mints a token for the token variant
	ownerKey, _ := client.GenerateKey()
	owner, err := client.Dial(context.Background(), client.Config{Addr: srv.Addr, Signer: sasl.NewKeySigner(ownerKey), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	token, err := owner.NewToken(context.Background(), "bot", "")
	if err != nil {
		t.Fatal(err)
	}
	ownerAccount := owner.Account()
	owner.Quit("done")
	tokenFile := filepath.Join(dir, "bot.token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		args []string
	}{
		{"key", []string{"-key", keyPath}},
		{"token", []string{"-token-user", ownerAccount, "-token", token}},
		{"token file", []string{"-token-user", ownerAccount, "-token-file", tokenFile}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			channel := "#bots" + string(rune('a'+i))
			nick := "pingbot" + string(rune('a'+i))
			w := newWatcher(t, srv.Addr, "human"+string(rune('a'+i)))
			if err := w.c.Join(channel); err != nil {
				t.Fatal(err)
			}
			w.expect(t, "own join", joinOf(w.c.Nick(), channel))
			args := append([]string{"-addr", srv.Addr, "-channel", channel, "-nick", nick}, tc.args...)
			log := startBot(t, args...)
			w.expect(t, "the bot joining", joinOf(nick, channel))
			if !strings.Contains(log.String(), "account=thor1") {
				t.Fatalf("bot not logged in; log:\n%s", log)
			}
			// the bot greets those who join after it
			w.c.Send("PART", channel)
			w.c.Join(channel)
			w.expect(t, "the greeting", privmsgFrom(nick, channel, "welcome, "+w.c.Nick()))
			w.c.Privmsg(channel, "!ping")
			w.expect(t, "pong in the channel", privmsgFrom(nick, channel, "pong"))
			w.c.Privmsg(nick, "!ping")
			w.expect(t, "pong in private", privmsgFrom(nick, w.c.Nick(), "pong"))
		})
	}
}

// TestBotBudget: a flood of !ping gets at most the burst plus one answer
// a second.
func TestBotBudget(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	k, _ := client.GenerateKey()
	keyPath := filepath.Join(t.TempDir(), "bot.key")
	if err := client.WriteKeyFile(keyPath, k); err != nil {
		t.Fatal(err)
	}
	log := startBot(t, "-addr", srv.Addr, "-key", keyPath, "-nick", "budgetbot")
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(log.String(), `msg=connected`) {
		if time.Now().After(deadline) {
			t.Fatalf("bot did not connect; log:\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	w := newWatcher(t, srv.Addr, "flooder")
	start := time.Now()
	const sent = 12
	for range sent {
		w.c.Privmsg("budgetbot", "!ping")
	}
	got := 0
	timer := time.NewTimer(2 * time.Second)
	defer timer.Stop()
loop:
	for {
		select {
		case m := <-w.msgs:
			if privmsgFrom("budgetbot", "flooder", "pong")(m) {
				got++
			}
		case <-timer.C:
			break loop
		}
	}
	limit := answerBurst + int(time.Since(start).Seconds()*answerRate) + 1
	if got < answerBurst || got > limit || got >= sent {
		t.Fatalf("%d pongs to %d pings in %v; want %d..%d", got, sent, time.Since(start), answerBurst, limit)
	}
}

func TestBotUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{}, 2, "-addr HOST:PORT is required"},
		{[]string{"-addr", "x:1"}, 2, "log in with one of"},
		{[]string{"-addr", "x:1", "-key", "k", "-token", "t"}, 2, "log in with one of"},
		{[]string{"-addr", "x:1", "-token", "thc_a_b"}, 2, "needs -token-user"},
		{[]string{"-addr", "x:1", "-token-user", "thor1x", "-token", "a b"}, 2, "one word"},
		{[]string{"-addr", "x:1", "-token-user", "thor1x", "-token", "t", "-token-file", "f"}, 2, "not both"},
		{[]string{"-addr", "x:1", "-key", "/nonexistent/key"}, 1, "no such file"},
		{[]string{"-addr", "x:1", "-key", "k", "extra"}, 2, "unexpected argument"},
		{[]string{"-addr", "x:1", "-token-user", "u", "-token", "t", "-socks", "nope"}, 1, "-socks"},
		{[]string{"-bogus"}, 2, "flag provided but not defined"},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		code := run(context.Background(), tc.args, &out)
		if code != tc.code || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%q: %d %q; want %d %q", tc.args, code, out.String(), tc.code, tc.want)
		}
	}
}
