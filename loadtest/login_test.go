package loadtest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/thorchat/thorchat/accounts"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/store"
)

// startLoginServer runs a real ircd.Server with the real accounts service
// over a real bbolt file (fsync on) on loopback, and returns its address
// and store.
func startLoginServer(t *testing.T) (string, *store.DB) {
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
	srv, err := ircd.New(ircd.Config{Name: "bench.local", MOTD: []string{"m"}, Auth: svc})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { srv.Run(ctx); close(runDone) }()
	serveDone := make(chan struct{})
	go func() {
		srv.Serve(ln, ircd.Listener{Kind: "tcp", Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port})
		close(serveDone)
	}()
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		srv.Shutdown(sctx)
		cancel()
		<-runDone
		<-serveDone
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return ln.Addr().String(), db
}

func TestLoginCreatesThenReturns(t *testing.T) {
	addr, db := startLoginServer(t)
	tests := []struct {
		name                string
		accounts, logins, c int
		wantAccounts        int // in the store afterwards
	}{
		{"serial", 3, 6, 1, 3},
		{"concurrent", 40, 120, 16, 43},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Login(testContext(t), LoginConfig{
				Addr: addr, Accounts: tt.accounts, Logins: tt.logins, Concurrency: tt.c,
				NickBase: "l" + tt.name[:2], ServerPID: os.Getpid(),
			})
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
			if n, err := db.CountAccounts(); err != nil || n != tt.wantAccounts {
				t.Fatalf("accounts in the store: %d, %v; want %d", n, err, tt.wantAccounts)
			}
		})
	}
}

func TestLoginFailsWithWrongEndpoint(t *testing.T) {
	addr, db := startLoginServer(t)
	// The signature binds the host the listener is configured with.
	res, err := Login(testContext(t), LoginConfig{Addr: addr, Host: "elsewhere.example", Accounts: 2, Logins: 2, Concurrency: 1})
	if err == nil {
		t.Fatal("logins with signatures over the wrong endpoint succeeded")
	}
	if res.FirstTime.Logins != 0 || res.FirstTime.Failures == 0 {
		t.Fatalf("got %+v", res.FirstTime)
	}
	if n, err := db.CountAccounts(); err != nil || n != 0 {
		t.Fatalf("accounts in the store: %d, %v; want 0", n, err)
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
