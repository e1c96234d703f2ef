// Command thorchat is ThorChat's companion CLI: it makes and shows keys and
// checks that a key logs in.
//
//	thorchat keygen -out FILE
//	    write a new private key (hex, mode 0600; never overwrites)
//	thorchat whoami (-key FILE | -sign-cmd CMD)
//	    print the public key (hex and thorpub1…) and the account (thor1…)
//	thorchat login (-key FILE | -sign-cmd CMD) -addr HOST:PORT
//	        [-host NAME] [-port P] [-socks 127.0.0.1:9050] [-nick N]
//	    log in with THORCHAT-SECP256K1 and print the account; on refusal
//	    print the server's numeric and reason and exit 1
//	thorchat enroll (-key FILE | -sign-cmd CMD) -addr ONION:6667 -socks 127.0.0.1:9050
//	        [-weechat-key PATH [-label L]] [-token LABEL] [-ttl 30d] [-nick N]
//	        [-revoke LABEL] [-list]
//	    log in with the account key and enrol device credentials for stock
//	    clients (a P-256 key for weechat, a PLAIN token for irssi and bots),
//	    then print the client set-up to paste
//	thorchat link (-key FILE | -sign-cmd CMD) -addr HOST:PORT
//	        (-new-key FILE | -new-sign-cmd CMD | -unlink KEY [-revoke] | -list)
//	    log in with a key of the account and link a second key to it (both
//	    keys sign the server's THORCHAT-LINK/1 challenge), or unlink a key
//	    (-revoke: and revoke the account's device credentials), or list them
//	thorchat sign -key FILE [-host ONION]...
//	    the signer half of -sign-cmd for a key file, to run where the key
//	    is (THORCHAT_SIGN=pubkey prints the public key; =sign reads M in
//	    hex and prints the signature); it signs only THORCHAT-SECP256K1
//	    login messages and THORCHAT-LINK/1 key-link messages for its own
//	    key, and with -host only for those hosts
//
// -sign-cmd keeps the key out of this process; the command's contract is
// in the documentation of package client.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  thorchat keygen -out FILE
  thorchat whoami (-key FILE | -sign-cmd CMD)
  thorchat login (-key FILE | -sign-cmd CMD) -addr HOST:PORT [-host NAME] [-port P]
                 [-socks 127.0.0.1:9050] [-nick N] [-timeout 60s]
  thorchat enroll (-key FILE | -sign-cmd CMD) -addr ONION:6667 [-socks 127.0.0.1:9050]
                  [-weechat-key PATH [-label L]] [-token LABEL] [-ttl 30d] [-nick N]
                  [-revoke LABEL] [-list]
  thorchat link (-key FILE | -sign-cmd CMD) -addr HOST:PORT [-host NAME] [-port P] [-socks 127.0.0.1:9050]
                (-new-key FILE | -new-sign-cmd CMD | -unlink KEY [-revoke] | -list)
  thorchat sign -key FILE [-host ONION]...     (as a -sign-cmd, where the key is)
Run "thorchat COMMAND -h" for a command's flags.
`

// run is the whole CLI: 0 on success, 1 on failure, 2 on a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "keygen":
		return cmdKeygen(args[1:], stdout, stderr)
	case "whoami":
		return cmdWhoami(args[1:], stdout, stderr)
	case "login":
		return cmdLogin(args[1:], stdout, stderr)
	case "enroll":
		return cmdEnroll(args[1:], stdout, stderr)
	case "link":
		return cmdLink(args[1:], stdout, stderr)
	case "sign":
		return cmdSign(args[1:], os.Stdin, os.Getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "thorchat: unknown command %q\n%s", args[0], usage)
	return 2
}
