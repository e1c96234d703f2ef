package client

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/client/clienttest"
	"github.com/thorchat/thorchat/sasl"
)

// TestBotReconnects: the link is cut twice; the bot comes back each time,
// logged in as the same account and in its channel again.
func TestBotReconnects(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	px := startProxy(t, srv.Addr)
	key := newKey(t)
	type event struct {
		account string
		cmd     string
	}
	events := make(chan event, 64)
	bot := &Bot{
		Config:     Config{Addr: px.addr(), Port: uint16(srv.Port), Nick: "bot", Signer: sasl.NewKeySigner(key), Timeout: 5 * time.Second},
		Channels:   []string{"#bots"},
		MinBackoff: 10 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond,
		Handler: func(c *Conn, m *irc.Message) {
			if m.Command == "001" || (m.Command == "JOIN" && c.FromSelf(m)) {
				select {
				case events <- event{c.Account(), m.Command}:
				default:
				}
			}
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- bot.Run(ctx) }()
	want := accountOf(t, key)
	for round := range 3 {
		for _, cmd := range []string{"001", "JOIN"} {
			select {
			case ev := <-events:
				if ev.cmd != cmd || ev.account != want {
					t.Fatalf("round %d: got %+v, want %s as %s", round, ev, cmd, want)
				}
			case err := <-runErr:
				t.Fatalf("Run ended: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: no %s", round, cmd)
			}
		}
		if round < 2 {
			px.dropAll()
		}
	}
	if n := px.accepted.Load(); n != 3 {
		t.Fatalf("%d connections, want 3", n)
	}
	cancel()
	select {
	case err := <-runErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}

// TestBotGivesUp: nothing listens; Run stops after MaxFailures.
func TestBotGivesUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err = (&Bot{Config: Config{Addr: addr}, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxFailures: 3}).Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "giving up after 3") || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %s", d)
	}
}

// TestBotPermanentError: a broken signer ends Run at once.
func TestBotPermanentError(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	s, err := NewCommandSigner(context.Background(), signCmd(t, "wrongkey", newKey(t)), CommandOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = Run(ctx, Config{Addr: srv.Addr, Signer: s}, nil)
	if !errors.Is(err, sasl.ErrSigner) {
		t.Fatalf("err = %v, want a signer error", err)
	}
}

func TestBackoff(t *testing.T) {
	minB, maxB := 100*time.Millisecond, 2*time.Second
	tests := []struct {
		n    int
		want time.Duration // before jitter
	}{
		{0, minB}, {1, minB}, {2, 200 * time.Millisecond}, {3, 400 * time.Millisecond},
		{5, 1600 * time.Millisecond}, {6, maxB}, {1000, maxB},
	}
	for _, tc := range tests {
		for range 50 {
			d := backoff(tc.n, minB, maxB)
			if d < tc.want/2 || d > tc.want {
				t.Fatalf("backoff(%d) = %s, want in [%s, %s]", tc.n, d, tc.want/2, tc.want)
			}
		}
	}
}
