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
	"github.com/thorchat/thorchat/sasl"
	"github.com/thorchat/thorchat/torsvc"
)

// cmdLink implements `thorchat link`: log in with a key of the account
// (-key or -sign-cmd) and link a new key (-new-key or -new-sign-cmd) to it,
// both keys signing the server's THORCHAT-LINK/1 challenge; or, with
// -unlink, remove a key (with -revoke, revoking the account's device
// credentials too); or, with -list, print the account's keys.
func cmdLink(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("thorchat link", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf signerFlags
	sf.register(fs)
	var nf signerFlags
	fs.StringVar(&nf.key, "new-key", "", "private key `FILE` of the key to link")
	fs.StringVar(&nf.signCmd, "new-sign-cmd", "", "external signer `CMD` of the key to link (contract: package client docs)")
	unlink := fs.String("unlink", "", "unlink `KEY` (thorpub1… or hex) from the account instead of linking one")
	revoke := fs.Bool("revoke", false, "with -unlink: revoke all the account's device credentials too (for a compromised key)")
	list := fs.Bool("list", false, "print the account's keys")
	addr := fs.String("addr", "", "server `HOST:PORT` to dial (an onion name with -socks), or unix:PATH")
	host := fs.String("host", "", "host `NAME` the signatures bind (default: the host of -addr)")
	port := fs.Int("port", 0, "port the signatures bind (default: the port of -addr)")
	socks := fs.String("socks", "", "dial through Tor's SOCKS5 port at `HOST:PORT`, e.g. 127.0.0.1:9050")
	nick := fs.String("nick", "", "nick to register (default: thorchat and 4 random hex digits)")
	timeout := fs.Duration("timeout", client.DefaultTimeout, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	linking := nf.key != "" || nf.signCmd != ""
	switch {
	case fs.NArg() > 0:
		return fail(stderr, "link", usageErr("unexpected argument %q", fs.Arg(0)))
	case *addr == "":
		return fail(stderr, "link", usageErr("-addr HOST:PORT is required"))
	case *port < 0 || *port > 65535:
		return fail(stderr, "link", usageErr("-port %d not in 0..65535", *port))
	case !linking && *unlink == "" && !*list:
		return fail(stderr, "link", usageErr("-new-key FILE (or -new-sign-cmd CMD), -unlink KEY or -list is required"))
	case linking && *unlink != "":
		return fail(stderr, "link", usageErr("give -new-key or -unlink, not both"))
	case *revoke && *unlink == "":
		return fail(stderr, "link", usageErr("-revoke goes with -unlink"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	signer, err := sf.signer(ctx, stderr)
	if err != nil {
		return fail(stderr, "link", err)
	}
	var newSigner sasl.Signer
	if linking {
		if newSigner, err = nf.signer(ctx, stderr); err != nil {
			return fail(stderr, "link", fmt.Errorf("new key: %w", err))
		}
	}
	cfg := client.Config{Addr: *addr, Host: *host, Port: uint16(*port), Nick: *nick, Signer: signer, Timeout: *timeout}
	if *socks != "" {
		d, err := torsvc.Dialer(*socks)
		if err != nil {
			return fail(stderr, "link", fmt.Errorf("-socks: %w", err))
		}
		cfg.Dial = d.DialContext
	}
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		var se *client.SASLError
		if errors.As(err, &se) {
			fmt.Fprintf(stderr, "thorchat link: login: %s %s\n", se.Code, se.Text)
			return 1
		}
		return fail(stderr, "link", err)
	}
	defer c.Quit("thorchat link")
	switch {
	case linking:
		key, err := c.LinkKey(ctx, newSigner)
		if err != nil {
			return fail(stderr, "link", err)
		}
		fmt.Fprintf(stdout, "linked %s to %s\n", key, c.Account())
	case *unlink != "":
		if err := c.UnlinkKey(ctx, *unlink, *revoke); err != nil {
			return fail(stderr, "link", err)
		}
		fmt.Fprintf(stdout, "unlinked %s from %s\n", *unlink, c.Account())
	}
	if *list {
		keys, err := c.ListKeys(ctx)
		if err != nil {
			return fail(stderr, "link", err)
		}
		for _, k := range keys {
			fmt.Fprintln(stdout, k)
		}
	}
	return 0
}
