package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/loadtest"
)

func TestFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"not loopback", []string{"-addr", "192.168.1.1:6667"}, "not a loopback"},
		{"host name", []string{"-addr", "example.com:6667"}, "loopback"},
		{"scenario", []string{"-scenario", "soak"}, "want idle, register, fanout or all"},
		{"zero clients", []string{"-clients", "0"}, "-clients 0"},
		{"huge messages", []string{"-messages", "2000000"}, "-messages"},
		{"negative duration", []string{"-duration", "-1s"}, "must be positive"},
		{"stray argument", []string{"extra"}, "unexpected argument"},
		{"unknown flag", []string{"-nope"}, "-nope"},
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
