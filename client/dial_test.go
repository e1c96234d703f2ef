package client

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/client/clienttest"
	"github.com/thorchat/thorchat/sasl"
)

func dialT(t *testing.T, cfg Config) (*Conn, error) {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	c, err := Dial(context.Background(), cfg)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// TestDialLogin logs in against the real server with each kind of signer
// and checks the account or the refusal.
func TestDialLogin(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	key := newKey(t)
	want := accountOf(t, key)
	cmdSigner := func(mode string) func(t *testing.T) sasl.Signer {
		return func(t *testing.T) sasl.Signer {
			s, err := NewCommandSigner(context.Background(), signCmd(t, mode, key), CommandOptions{Timeout: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	tests := []struct {
		name    string
		signer  func(t *testing.T) sasl.Signer
		mutate  func(*Config)
		account string // want this account, or:
		code    string // want a SASLError with this numeric, or:
		errIs   error  // want an error wrapping this
	}{
		{name: "key", signer: func(*testing.T) sasl.Signer { return sasl.NewKeySigner(key) }, account: want},
		{name: "sign-cmd", signer: cmdSigner("good"), account: want},
		{name: "sign-cmd DER high-S uncompressed", signer: cmdSigner("der-high"), account: want},
		{name: "sign-cmd raw high-S", signer: cmdSigner("raw-high"), account: want},
		{name: "sign-cmd bech32 pubkey", signer: cmdSigner("bech32"), account: want},
		{name: "sign-cmd wrong key", signer: cmdSigner("wrongkey"), errIs: sasl.ErrSigner},
		{name: "sign-cmd garbage", signer: cmdSigner("garbage"), errIs: sasl.ErrSigner},
		{name: "sign-cmd exit 3", signer: cmdSigner("fail"), errIs: sasl.ErrSigner},
		{name: "wrong host", signer: func(*testing.T) sasl.Signer { return sasl.NewKeySigner(key) },
			mutate: func(c *Config) { c.Host = "wrong.example" }, code: "904"},
		{name: "wrong port", signer: func(*testing.T) sasl.Signer { return sasl.NewKeySigner(key) },
			mutate: func(c *Config) { c.Port = uint16(srv.Port) + 1 }, code: "904"},
		{name: "explicit host and port", signer: func(*testing.T) sasl.Signer { return sasl.NewKeySigner(key) },
			mutate: func(c *Config) { c.Host = "127.0.0.1"; c.Port = uint16(srv.Port) }, account: want},
		{name: "PLAIN bad token", mutate: func(c *Config) { c.Mechanism = "PLAIN"; c.PlainUser = want; c.PlainPass = "thc_x_y" }, code: "904"},
		{name: "no SASL", account: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Addr: srv.Addr}
			if tc.signer != nil {
				cfg.Signer = tc.signer(t)
			}
			if tc.mutate != nil {
				tc.mutate(&cfg)
			}
			c, err := dialT(t, cfg)
			switch {
			case tc.code != "":
				var se *SASLError
				if !errors.As(err, &se) || se.Code != tc.code {
					t.Fatalf("err = %v, want SASL %s", err, tc.code)
				}
			case tc.errIs != nil:
				if !errors.Is(err, tc.errIs) {
					t.Fatalf("err = %v, want %v", err, tc.errIs)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if got := c.Account(); got != tc.account {
					t.Fatalf("account %q, want %q", got, tc.account)
				}
				m, err := c.ReadMessage()
				if err != nil || m.Command != "001" {
					t.Fatalf("first message %v, %v; want 001", m, err)
				}
			}
		})
	}
}

// TestDialSignerErrorsAreClear checks what a person reads when the
// signer is broken.
func TestDialSignerErrorsAreClear(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	key := newKey(t)
	tests := []struct{ mode, want string }{
		{"wrongkey", "does not verify against its public key"},
		{"garbage", "printed no hex signature"},
		{"fail", "device locked"},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			s, err := NewCommandSigner(context.Background(), signCmd(t, tc.mode, key), CommandOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = dialT(t, Config{Addr: srv.Addr, Signer: s})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// TestDialPlainToken logs in with a device token made for the account.
func TestDialPlainToken(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	key := newKey(t)
	c, err := dialT(t, Config{Addr: srv.Addr, Signer: sasl.NewKeySigner(key)})
	if err != nil {
		t.Fatal(err)
	}
	c.Quit("bye")
	acct := accountOf(t, key)
	tok, err := srv.Auth.NewToken(acct, "bot", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err = dialT(t, Config{Addr: srv.Addr, Mechanism: "plain", PlainUser: acct, PlainPass: tok})
	if err != nil {
		t.Fatal(err)
	}
	if c.Account() != acct {
		t.Fatalf("account %q, want %q", c.Account(), acct)
	}
}

func TestDialNoSASLOnServer(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{NoAuth: true})
	if _, err := dialT(t, Config{Addr: srv.Addr, Signer: sasl.NewKeySigner(newKey(t))}); !errors.Is(err, ErrNoSASL) {
		t.Fatalf("err = %v, want ErrNoSASL", err)
	}
	if _, err := dialT(t, Config{Addr: srv.Addr}); err != nil {
		t.Fatalf("without SASL: %v", err)
	}
}

func TestDialRequireSASL(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{RequireSASL: true})
	_, err := dialT(t, Config{Addr: srv.Addr})
	var se *ServerError
	if !errors.As(err, &se) || se.Code != "ERROR" || !strings.Contains(se.Text, "requires SASL") {
		t.Fatalf("err = %v, want ERROR requiring SASL", err)
	}
	c, err := dialT(t, Config{Addr: srv.Addr, Signer: sasl.NewKeySigner(newKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	if c.Account() == "" {
		t.Fatal("no account")
	}
}

func TestDialNickInUse(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	a, err := dialT(t, Config{Addr: srv.Addr, Nick: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := dialT(t, Config{Addr: srv.Addr, Nick: "alice", Signer: sasl.NewKeySigner(newKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	if a.Nick() != "alice" || b.Nick() != "alice_" {
		t.Fatalf("nicks %q, %q; want alice, alice_", a.Nick(), b.Nick())
	}
	m, err := b.ReadMessage()
	if err != nil || m.Param(0) != "alice_" {
		t.Fatalf("001 %v, %v", m, err)
	}
}

// TestDialTimeout: a listener that accepts and never speaks.
func TestDialTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	_, err = Dial(context.Background(), Config{Addr: ln.Addr().String(), Timeout: 300 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Dial took %s", d)
	}
}

// TestDialSignerTimeout: a signer that hangs is killed when Dial's
// deadline passes.
func TestDialSignerTimeout(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	key := newKey(t)
	s, err := NewCommandSigner(context.Background(), signCmd(t, "hang", key), CommandOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Dial(context.Background(), Config{Addr: srv.Addr, Signer: s, Timeout: 700 * time.Millisecond})
	if err == nil || !errors.Is(err, sasl.ErrSigner) {
		t.Fatalf("err = %v, want a signer error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Dial took %s", d)
	}
}

func TestDialConfigErrors(t *testing.T) {
	key := newKey(t)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no port", Config{Addr: "127.0.0.1"}},
		{"port 0", Config{Addr: "127.0.0.1:0"}},
		{"unix without host", Config{Addr: "unix:/nonexistent.sock", Signer: sasl.NewKeySigner(key)}},
		{"bad nick", Config{Addr: "127.0.0.1:1", Nick: "a b"}},
		{"unknown mechanism", Config{Addr: "127.0.0.1:1", Mechanism: "SCRAM-SHA-256"}},
		{"PLAIN without password", Config{Addr: "127.0.0.1:1", Mechanism: "PLAIN", PlainUser: "u"}},
		{"host with space", Config{Addr: "127.0.0.1:1", Host: "a b", Signer: sasl.NewKeySigner(key)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Dial(context.Background(), tc.cfg); !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
		})
	}
}

// TestConnUnix logs in over a unix socket, where the signature binds the
// server's name and port 0.
func TestConnUnix(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	path := t.TempDir() + "/irc.sock"
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeUnix(ln, "irc.test")
	key := newKey(t)
	c, err := dialT(t, Config{Addr: "unix:" + path, Host: "IRC.test", Signer: sasl.NewKeySigner(key)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Account() != accountOf(t, key) {
		t.Fatalf("account %q", c.Account())
	}
}

// readUntil reads until ok(m) or an error.
func readUntil(c *Conn, ok func(*irc.Message) bool) (*irc.Message, error) {
	for {
		m, err := c.ReadMessage()
		if err != nil {
			return nil, err
		}
		if ok(m) {
			return m, nil
		}
	}
}
