package loadtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/thorchat/thorchat/accounts"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/store"
)

// startLoginServer runs a real ircd.Server with the real accounts service
// over a real bbolt file (fsync on) on loopback and on a unix socket, and
// returns the TCP address, the socket path and the store.
func startLoginServer(t testing.TB) (string, string, *store.DB) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "thorchat.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := accounts.New(accounts.Config{HRP: "thor", Store: db})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	srv, err := ircd.New(ircd.Config{Name: "bench.local", MOTD: []string{"m"}, Backend: svc})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "irc.sock")
	uln, err := net.Listen("unix", sock)
	if err != nil {
		ln.Close()
		db.Close()
		t.Fatal(err)
	}
	go srv.Serve(uln, ircd.Listener{Kind: "unix", Host: "bench.local"})
	serveTCP(t, srv, ln, db.Close)
	return ln.Addr().String(), sock, db
}

func TestLoginCreatesThenReturns(t *testing.T) {
	tests := []struct {
		name                string
		client              string
		unix                bool
		accounts, logins, c int
	}{
		{"serial net tcp", ClientNet, false, 3, 6, 1},
		{"concurrent net tcp", ClientNet, false, 40, 120, 16},
		{"concurrent net unix", ClientNet, true, 20, 60, 8},
		{"serial epoll tcp", ClientEpoll, false, 3, 6, 1},
		{"concurrent epoll tcp", ClientEpoll, false, 40, 120, 16},
		{"concurrent epoll unix", ClientEpoll, true, 40, 120, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.client == ClientEpoll && !hasEpollClient {
				t.Skip("the epoll client needs Linux")
			}
			addr, sock, db := startLoginServer(t)
			cfg := LoginConfig{
				Addr: addr, Client: tt.client, Accounts: tt.accounts, Logins: tt.logins, Concurrency: tt.c,
				ServerPID: os.Getpid(),
			}
			if tt.unix {
				cfg.Unix, cfg.Host = sock, "bench.local"
			}
			res, err := Login(testContext(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.FirstTime.Logins != tt.accounts || res.Returning.Logins != tt.logins ||
				res.FirstTime.Failures+res.Returning.Failures != 0 {
				t.Fatalf("first-time %d, returning %d, failures %d+%d", res.FirstTime.Logins, res.Returning.Logins,
					res.FirstTime.Failures, res.Returning.Failures)
			}
			for _, ph := range []LoginPhase{res.FirstTime, res.Returning} {
				if ph.PerSecond <= 0 || ph.P50Micros <= 0 || ph.P50Micros > ph.P99Micros || ph.P99Micros > ph.MaxMicros {
					t.Fatalf("implausible figures: %+v", ph)
				}
			}
			if n, err := db.CountAccounts(); err != nil || n != tt.accounts {
				t.Fatalf("accounts in the store: %d, %v; want %d", n, err, tt.accounts)
			}
			if res.Client != tt.client || res.Unix != tt.unix {
				t.Fatalf("result says client %q, unix %v", res.Client, res.Unix)
			}
		})
	}
}

func TestLoginFailsWithWrongEndpoint(t *testing.T) {
	// The signature binds the host the listener is configured with (on
	// the unix socket, the server name and port 0).
	for _, client := range []string{ClientNet, ClientEpoll} {
		for _, unix := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s unix=%v", client, unix), func(t *testing.T) {
				if client == ClientEpoll && !hasEpollClient {
					t.Skip("the epoll client needs Linux")
				}
				addr, sock, db := startLoginServer(t)
				cfg := LoginConfig{Addr: addr, Client: client, Host: "elsewhere.example", Accounts: 2, Logins: 2, Concurrency: 1}
				if unix {
					cfg.Unix = sock
				}
				res, err := Login(testContext(t), cfg)
				if err == nil || !strings.Contains(err.Error(), "904") {
					t.Fatalf("logins with signatures over the wrong endpoint: %v", err)
				}
				if res.FirstTime.Logins != 0 || res.FirstTime.Failures == 0 {
					t.Fatalf("got %+v", res.FirstTime)
				}
				if n, err := db.CountAccounts(); err != nil || n != 0 {
					t.Fatalf("accounts in the store: %d, %v; want 0", n, err)
				}
			})
		}
	}
}

func TestFirstParam(t *testing.T) {
	tests := []struct {
		line, cmd, want string
	}{
		{"AUTHENTICATE +", "AUTHENTICATE", "+"},
		{":srv AUTHENTICATE QUJD", "AUTHENTICATE", "QUJD"},
		{"@t=1 :srv AUTHENTICATE  QUJD", "AUTHENTICATE", "QUJD"},
		{":srv 903 nick :SASL authentication successful", "903", "SASL authentication successful"},
		{":srv 903", "903", ""},
		{"@only", "X", ""},
	}
	for _, tt := range tests {
		if got := firstParam([]byte(tt.line), tt.cmd); got != tt.want {
			t.Errorf("firstParam(%q) = %q; want %q", tt.line, got, tt.want)
		}
	}
}

// TestLoginNoServer: with nothing listening, every connect fails and the
// run ends at once with an error (it must not wait for logins that never
// started), for both clients, over TCP and a unix socket.
func TestLoginNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	missing := filepath.Join(t.TempDir(), "no.sock")
	for _, client := range []string{ClientNet, ClientEpoll} {
		for _, unix := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s unix=%v", client, unix), func(t *testing.T) {
				if client == ClientEpoll && !hasEpollClient {
					t.Skip("the epoll client needs Linux")
				}
				cfg := LoginConfig{Addr: closed, Client: client, Accounts: 30, Logins: 30, Concurrency: 4}
				if unix {
					cfg.Unix, cfg.Host = missing, "bench.local"
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				res, err := Login(ctx, cfg)
				if err == nil || ctx.Err() != nil {
					t.Fatalf("Login = %v (context: %v); want a connect error before the deadline", err, ctx.Err())
				}
				if res.FirstTime.Logins != 0 || res.FirstTime.Failures == 0 {
					t.Fatalf("got %+v", res.FirstTime)
				}
			})
		}
	}
}
