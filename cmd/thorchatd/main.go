// Command thorchatd is the ThorChat IRC daemon: an onion-only IRC server
// whose users are secp256k1 keys.
//
//	thorchatd -config FILE            run the daemon
//	thorchatd -config FILE -check     validate the configuration and exit
//	thorchatd onion -config FILE      print the onion address (no tor started)
//	thorchatd backup -config FILE -out PATH [-force]
//	                                  consistent hot copy of the database
//	thorchatd dump -config FILE       accounts and channels as JSON
//	thorchatd status -config FILE     the running daemon's health summary;
//	                                  exit status 1 when it is unhealthy
//	thorchatd mkpasswd < FILE         bcrypt hash for [opers.passwords]
//	thorchatd import-nodes [-config FILE] [-out FILE] NODES.json
//	                                  write the operator allowlist from a
//	                                  THORChain /thorchain/nodes JSON array
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/thorchat/thorchat/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "thorchat-0.1"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		return subcommand(args[0], args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("thorchatd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "config.toml", "configuration file (TOML)")
	check := fs.Bool("check", false, "validate the configuration and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "thorchatd:", err)
		return 1
	}
	if *check {
		fmt.Fprintf(stdout, "%s: configuration OK\n", *cfgPath)
		return 0
	}
	log := newLogger(stderr, cfg.Server.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("thorchatd stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

var errUsage = errors.New("usage")

func subcommand(name string, args []string, stdout, stderr io.Writer) int {
	var err error
	switch name {
	case "mkpasswd":
		err = mkpasswd(args, stdout, stderr)
	case "backup":
		err = backup(args, stdout, stderr)
	case "dump":
		err = dump(args, stdout, stderr)
	case "onion":
		err = printOnion(args, stdout, stderr)
	case "import-nodes":
		err = importNodes(args, stdout, stderr)
	case "status":
		err = status(args, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "thorchatd: unknown command %q\n", name)
		return 2
	}
	if errors.Is(err, errUsage) {
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "thorchatd:", err)
		return 1
	}
	return 0
}
