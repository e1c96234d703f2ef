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
	"github.com/thorchat/thorchat/torsvc"
)

func cmdLogin(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("thorchat login", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf signerFlags
	sf.register(fs)
	addr := fs.String("addr", "", "server `HOST:PORT` to dial (an onion name with -socks), or unix:PATH")
	host := fs.String("host", "", "host `NAME` the signature binds (default: the host of -addr)")
	port := fs.Int("port", 0, "port the signature binds (default: the port of -addr)")
	socks := fs.String("socks", "", "dial through Tor's SOCKS5 port at `HOST:PORT`, e.g. 127.0.0.1:9050")
	nick := fs.String("nick", "", "nick to register (default: thorchat and 4 random hex digits)")
	timeout := fs.Duration("timeout", client.DefaultTimeout, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		return fail(stderr, "login", usageErr("unexpected argument %q", fs.Arg(0)))
	}
	if *addr == "" {
		return fail(stderr, "login", usageErr("-addr HOST:PORT is required"))
	}
	if *port < 0 || *port > 65535 {
		return fail(stderr, "login", usageErr("-port %d not in 0..65535", *port))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	signer, err := sf.signer(ctx, stderr)
	if err != nil {
		return fail(stderr, "login", err)
	}
	cfg := client.Config{
		Addr:    *addr,
		Host:    *host,
		Port:    uint16(*port),
		Nick:    *nick,
		Signer:  signer,
		Timeout: *timeout,
	}
	if *socks != "" {
		d, err := torsvc.Dialer(*socks)
		if err != nil {
			return fail(stderr, "login", fmt.Errorf("-socks: %w", err))
		}
		cfg.Dial = d.DialContext
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
