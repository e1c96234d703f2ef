// Package clienttest runs a real ThorChat server (package ircd with the
// accounts service over a bbolt store in a temporary directory) on a
// loopback TCP listener, for tests of clients and bots.
package clienttest

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/thorchat/thorchat/accounts"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/store"
)

// HRP is the account prefix the test server uses.
const HRP = "thor"

// Server is a running test server.
type Server struct {
	IRC  *ircd.Server
	Auth *accounts.Service // nil when Options.NoAuth
	Addr string            // "127.0.0.1:port"
	Host string            // the listener's host, what a client's signature binds
	Port int
}

// Options tweak the server.
type Options struct {
	// RequireSASL turns away clients that do not log in.
	RequireSASL bool
	// NoAuth runs the server without accounts: no sasl capability.
	NoAuth bool
	// Mutate, when set, edits the IRC configuration before New.
	Mutate func(*ircd.Config)
}

// Start runs a server until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"), store.Options{})
	if err != nil {
		cancel()
		t.Fatalf("open store: %v", err)
	}
	auth, err := accounts.New(accounts.Config{HRP: HRP, Store: db, RequireSASL: opts.RequireSASL})
	if err != nil {
		cancel()
		db.Close()
		t.Fatalf("accounts: %v", err)
	}
	cfg := ircd.Config{
		Name:    "irc.test",
		Network: "TestNet",
		MOTD:    []string{"hello"},
		Tick:    20 * time.Millisecond,
		Backend: auth,
	}
	if opts.NoAuth {
		cfg.Backend, auth = nil, nil
	}
	if opts.Mutate != nil {
		opts.Mutate(&cfg)
	}
	srv, err := ircd.New(cfg)
	if err != nil {
		cancel()
		db.Close()
		t.Fatalf("ircd: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		db.Close()
		t.Fatalf("listen: %v", err)
	}
	runDone := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(runDone) }()
	port := ln.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(ln, ircd.Listener{Kind: "tcp", Host: "127.0.0.1", Port: port}) }()
	t.Cleanup(func() {
		sctx, c2 := context.WithTimeout(context.Background(), 5*time.Second)
		defer c2()
		_ = srv.Shutdown(sctx)
		cancel()
		<-runDone
		db.Close()
	})
	return &Server{IRC: srv, Auth: auth, Addr: ln.Addr().String(), Host: "127.0.0.1", Port: port}
}

// ServeAs serves the server on another listener, known to clients as id
// (an "onion" listener behind a SOCKS proxy, say).
func (s *Server) ServeAs(ln net.Listener, id ircd.Listener) error {
	return s.IRC.Serve(ln, id)
}

// ServeUnix serves the server on a unix listener too, as the daemon does:
// clients' signatures bind host (the server's name) and port 0.
func (s *Server) ServeUnix(ln net.Listener, host string) error {
	return s.IRC.Serve(ln, ircd.Listener{Kind: "unix", Host: host, Port: 0})
}
