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
	var srvf serverFlags
	srvf.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	linking := nf.key != "" || nf.signCmd != ""
	srvErr := srvf.check()
	switch {
	case fs.NArg() > 0:
		return fail(stderr, "link", usageErr("unexpected argument %q", fs.Arg(0)))
	case srvErr != nil:
		return fail(stderr, "link", srvErr)
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
	cfg, err := srvf.config(signer)
	if err != nil {
		return fail(stderr, "link", err)
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
