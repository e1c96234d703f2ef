package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/thorchat/thorchat/client"
	"github.com/thorchat/thorchat/identity"
	"github.com/thorchat/thorchat/sasl"
)

// signerFlags are -key and -sign-cmd, shared by whoami and login.
type signerFlags struct {
	key, signCmd string
}

func (f *signerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.key, "key", "", "private key `FILE` (from thorchat keygen)")
	fs.StringVar(&f.signCmd, "sign-cmd", "", "external signer `CMD`, run with sh -c (contract: package client docs)")
}

// signer returns the Signer the flags name.
func (f *signerFlags) signer(ctx context.Context, stderr io.Writer) (sasl.Signer, error) {
	switch {
	case f.key != "" && f.signCmd != "":
		return nil, usageErr("give -key or -sign-cmd, not both")
	case f.key != "":
		k, err := client.LoadKeyFile(f.key)
		if err != nil {
			return nil, err
		}
		return sasl.NewKeySigner(k), nil
	case f.signCmd != "":
		return client.NewCommandSigner(ctx, f.signCmd, client.CommandOptions{Stderr: stderr})
	}
	return nil, usageErr("-key FILE or -sign-cmd CMD is required")
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// fail prints err for command name and returns the exit code: 2 for a
// usage error, 1 otherwise.
func fail(stderr io.Writer, name string, err error) int {
	fmt.Fprintf(stderr, "thorchat %s: %v\n", name, err)
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func cmdKeygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("thorchat keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write the private key to `FILE` (mode 0600, never overwritten)")
	hrp := fs.String("hrp", identity.DefaultAccountHRP, "account prefix to show")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		return fail(stderr, "keygen", usageErr("-out FILE is required (and nothing else)"))
	}
	k, err := client.GenerateKey()
	if err != nil {
		return fail(stderr, "keygen", err)
	}
	defer k.Zero()
	if err := client.WriteKeyFile(*out, k); err != nil {
		return fail(stderr, "keygen", err)
	}
	fmt.Fprintf(stderr, "wrote %s\n", *out)
	if err := printIdentity(stdout, *hrp, k.PubKey().SerializeCompressed()); err != nil {
		return fail(stderr, "keygen", err)
	}
	return 0
}

func cmdWhoami(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("thorchat whoami", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf signerFlags
	sf.register(fs)
	hrp := fs.String("hrp", identity.DefaultAccountHRP, "account prefix")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		return fail(stderr, "whoami", usageErr("unexpected argument %q", fs.Arg(0)))
	}
	s, err := sf.signer(context.Background(), stderr)
	if err != nil {
		return fail(stderr, "whoami", err)
	}
	if err := printIdentity(stdout, *hrp, s.PublicKey()); err != nil {
		return fail(stderr, "whoami", err)
	}
	return 0
}

// printIdentity prints the key in hex and bech32 and its account.
func printIdentity(w io.Writer, hrp string, pub []byte) error {
	acct, err := identity.AccountAddress(hrp, pub)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "pubkey   %x\n", pub)
	fmt.Fprintf(w, "thorpub  %s\n", identity.EncodePubKey(hrp+"pub", pub))
	fmt.Fprintf(w, "account  %s\n", acct)
	return nil
}
