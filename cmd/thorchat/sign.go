package main

import (
	"flag"
	"io"
	"strings"

	"github.com/thorchat/thorchat/client"
)

// cmdSign is the reference signer for -sign-cmd (client.ServeSign): run
// where the key is, it answers THORCHAT_SIGN=pubkey and =sign.
func cmdSign(args []string, stdin io.Reader, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("thorchat sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	key := fs.String("key", "", "private key `FILE` (from thorchat keygen)")
	var policy client.SignPolicy
	fs.Func("host", "sign only logins to this `ONION` name (repeat for several; default: any host)", func(h string) error {
		policy.Hosts = append(policy.Hosts, strings.ToLower(h))
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *key == "" || fs.NArg() > 0 {
		return fail(stderr, "sign", usageErr("-key FILE is required (and no arguments)"))
	}
	op := getenv(client.EnvSign)
	if op == "" {
		return fail(stderr, "sign", usageErr("%s is not set: this command is run by thorchat as a -sign-cmd", client.EnvSign))
	}
	k, err := client.LoadKeyFile(*key)
	if err != nil {
		return fail(stderr, "sign", err)
	}
	defer k.Zero()
	if err := client.ServeSign(op, stdin, stdout, k, policy); err != nil {
		return fail(stderr, "sign", err)
	}
	return 0
}
