package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/thorchat/thorchat/accounts"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/loadtest"
	"github.com/thorchat/thorchat/store"
)

func TestFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"not loopback", []string{"-addr", "192.168.1.1:6667"}, "not a loopback"},
		{"host name", []string{"-addr", "example.com:6667"}, "loopback"},
		{"scenario", []string{"-scenario", "soak"}, "want idle, register, fanout, all, flood or login"},
		{"zero clients", []string{"-clients", "0"}, "-clients 0"},
		{"huge messages", []string{"-messages", "2000000"}, "-messages"},
		{"negative duration", []string{"-duration", "-1s"}, "must be positive"},
		{"stray argument", []string{"extra"}, "unexpected argument"},
		{"negative flooders", []string{"-flooders", "-1"}, "not negative"},
		{"zero phase", []string{"-phase", "0s"}, "must be positive"},
		{"too many rounds", []string{"-rounds", "21"}, "-rounds 21"},
		{"zero logins", []string{"-logins", "0"}, "-logins 0"},
		{"unknown flag", []string{"-nope"}, "-nope"},
		{"history without daemon", []string{"-scenario", "history", "-config-off", "a", "-config-on", "b", "-data-dir", "d"}, "needs -daemon"},
		{"history with server pid", []string{"-scenario", "history", "-daemon", "x", "-config-off", "a", "-config-on", "b", "-data-dir", "d", "-server-pid", "1"}, "no -server-pid"},
		{"daemon outside history", []string{"-scenario", "fanout", "-daemon", "x"}, "for -scenario history"},
		{"zero senders", []string{"-senders", "0"}, "-senders 0"},
		{"zero store duration", []string{"-store-duration", "0s"}, "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tt.args, &out, &errb); code != 2 {
				t.Fatalf("exit %d; want 2 (stderr %q)", code, errb.String())
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("stderr %q lacks %q", errb.String(), tt.want)
			}
			if out.Len() != 0 {
				t.Fatalf("stdout not empty: %q", out.String())
			}
		})
	}
}

// TestRunAllAgainstRealServer runs every scenario, small, against a real
// ircd.Server on loopback and reads the JSON line back.
func TestRunAllAgainstRealServer(t *testing.T) {
	srv, err := ircd.New(ircd.Config{Name: "bench.local", MOTD: []string{"m"}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { srv.Run(ctx); close(runDone) }()
	go srv.Serve(ln, ircd.Listener{Kind: "tcp", Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port})
	defer func() {
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		srv.Shutdown(sctx)
		cancel()
		<-runDone
	}()

	jsonPath := t.TempDir() + "/report.json"
	var out, errb bytes.Buffer
	code := run([]string{
		"-addr", ln.Addr().String(), "-server-pid", strconv.Itoa(os.Getpid()),
		"-clients", "40", "-settle", "10ms", "-registrations", "200", "-concurrency", "10",
		"-members", "10", "-inflight", "4", "-messages", "200", "-timeout", "60s",
		"-keep-idle", "-json", jsonPath,
	}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var rep loadtest.Report
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
		t.Fatalf("last line is not the JSON report: %v\n%s", err, out.String())
	}
	if rep.Idle == nil || rep.Idle.Clients != 40 || rep.Idle.RSSAfter <= 0 {
		t.Fatalf("idle: %+v", rep.Idle)
	}
	if rep.Register == nil || rep.Register.Registrations != 200 || rep.Register.Failures != 0 {
		t.Fatalf("register: %+v", rep.Register)
	}
	if rep.Fanout == nil || rep.Fanout.Delivered != 200 || rep.Fanout.Deliveries != 2000 {
		t.Fatalf("fanout: %+v", rep.Fanout)
	}
	if len(rep.Errors) != 0 {
		t.Fatalf("errors: %v", rep.Errors)
	}
	for _, k := range []string{"idle", "register", "fanout"} {
		if _, ok := rep.Pass[k]; !ok {
			t.Errorf("no verdict for %s", k)
		}
	}
	file, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(file), []byte(lines[len(lines)-1])) {
		t.Fatal("-json file differs from the printed line")
	}
	if !strings.Contains(out.String(), "registrations/s") || !strings.Contains(out.String(), "deliveries/s") {
		t.Fatalf("summary incomplete:\n%s", out.String())
	}
}

// serve runs srv on a loopback port until the test ends and returns the
// address.
func serve(t *testing.T, srv *ircd.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { srv.Run(ctx); close(runDone) }()
	go srv.Serve(ln, ircd.Listener{Kind: "tcp", Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port})
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		srv.Shutdown(sctx)
		cancel()
		<-runDone
	})
	return ln.Addr().String()
}

// runJSON runs the tool and returns its exit code, summary and report.
func runJSON(t *testing.T, args ...string) (int, string, loadtest.Report) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var rep loadtest.Report
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
		t.Fatalf("last line is not the JSON report: %v\n%s\n%s", err, out.String(), errb.String())
	}
	return code, out.String(), rep
}

func TestRunFloodAgainstThrottlingServer(t *testing.T) {
	srv, err := ircd.New(ircd.Config{Name: "bench.local", MOTD: []string{"m"}, Flood: ircd.FloodOptions{
		Default:      ircd.FloodClass{Rate: 2, Burst: 10, Excess: 40},
		Unregistered: ircd.FloodClass{Rate: 1, Burst: 12, Excess: 24},
	}})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, srv)
	code, out, rep := runJSON(t, "-addr", addr, "-server-pid", strconv.Itoa(os.Getpid()), "-scenario", "flood",
		"-phase", "700ms", "-rounds", "2", "-calm", "3", "-calm-interval", "300ms", "-noise-members", "2",
		"-pacers", "2", "-timeout", "60s")
	if code != 0 { // a missed target changes the exit code only with -strict
		t.Fatalf("exit %d\n%s", code, out)
	}
	f := rep.Flood
	if f == nil || f.Rounds != 2 || len(f.Phases) != 6 || len(f.Pooled) != 3 || f.FloodKilled == 0 || f.PacersKilled != 0 {
		t.Fatalf("flood: %+v", f)
	}
	if _, ok := rep.Pass["flood"]; !ok || len(rep.Errors) != 0 {
		t.Fatalf("verdict %v, errors %v", rep.Pass, rep.Errors)
	}
	if !strings.Contains(out, "Excess flood") || !strings.Contains(out, "pacers in #pace") {
		t.Fatalf("summary incomplete:\n%s", out)
	}
}

func TestRunLoginAgainstAccountsServer(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "thorchat.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc, err := accounts.New(accounts.Config{HRP: "thor", Store: db})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ircd.New(ircd.Config{Name: "bench.local", MOTD: []string{"m"}, Backend: svc})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, srv)
	code, out, rep := runJSON(t, "-addr", addr, "-server-pid", strconv.Itoa(os.Getpid()), "-scenario", "login",
		"-accounts", "4", "-logins", "12", "-concurrency", "3", "-timeout", "60s")
	if code != 0 { // a missed target changes the exit code only with -strict
		t.Fatalf("exit %d\n%s", code, out)
	}
	l := rep.Login
	if l == nil || l.FirstTime.Logins != 4 || l.Returning.Logins != 12 || l.Concurrency != 3 {
		t.Fatalf("login: %+v", l)
	}
	if n, err := db.CountAccounts(); err != nil || n != 4 {
		t.Fatalf("accounts: %d, %v", n, err)
	}
	if _, ok := rep.Pass["login_first_time"]; !ok || !strings.Contains(out, "first-time logins/s target >= 500 ") {
		t.Fatalf("no first-time verdict:\n%s", out)
	}
	if _, ok := rep.Pass["login"]; !ok || !strings.Contains(out, "returning logins/s target >= 5000") {
		t.Fatalf("no verdict:\n%s", out)
	}
}

func TestRunFailsWithoutServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var out, errb bytes.Buffer
	if code := run([]string{"-addr", addr, "-scenario", "register", "-registrations", "20", "-timeout", "20s"}, &out, &errb); code != 1 {
		t.Fatalf("exit %d; want 1", code)
	}
	if !strings.Contains(out.String(), `"errors":[`) {
		t.Fatalf("the JSON line does not carry the error:\n%s", out.String())
	}
}
