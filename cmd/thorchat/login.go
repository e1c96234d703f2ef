package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/thorchat/thorchat/client"
)

func cmdLogin(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("thorchat login", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf signerFlags
	sf.register(fs)
	var srvf serverFlags
	srvf.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		return fail(stderr, "login", usageErr("unexpected argument %q", fs.Arg(0)))
	}
	if err := srvf.check(); err != nil {
		return fail(stderr, "login", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	signer, err := sf.signer(ctx, stderr)
	if err != nil {
		return fail(stderr, "login", err)
	}
	cfg, err := srvf.config(signer)
	if err != nil {
		return fail(stderr, "login", err)
	}
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		var se *client.SASLError
		if errors.As(err, &se) {
			fmt.Fprintf(stderr, "thorchat login: %s %s\n", se.Code, se.Text)
			if se.Code == "904" {
				fmt.Fprintf(stderr, "hint: the signature bound %s; they must be what the server's listener "+
					"is known as (for an onion service: its .onion name and virtual port); set them with -host and -port\n", bound(cfg))
			}
			return 1
		}
		return fail(stderr, "login", err)
	}
	fmt.Fprintln(stdout, c.Account())
	_ = c.Quit("thorchat login")
	return 0
}

// bound describes the host and port the signature bound, for the hint.
func bound(cfg client.Config) string {
	h, p := cfg.Host, cfg.Port
	if ah, ap, err := client.SplitAddr(cfg.Addr); err == nil {
		if h == "" {
			h = ah
		}
		if p == 0 {
			p = ap
		}
	}
	return fmt.Sprintf("host %q, port %d", h, p)
}
