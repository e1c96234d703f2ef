package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// mkpasswd implements `thorchatd mkpasswd`: reads a password on stdin and
// prints its bcrypt hash for [opers.passwords].
func mkpasswd(args []string, stdout, stderr io.Writer) error {
	if len(args) != 0 {
		fmt.Fprintln(stderr, "usage: thorchatd mkpasswd < password-file")
		return errUsage
	}
	r := bufio.NewReader(io.LimitReader(os.Stdin, 1024))
	pw, err := r.ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("read password: %w", err)
	}
	pw = strings.TrimRight(pw, "\r\n")
	if len(pw) < 12 || len(pw) > 72 {
		return fmt.Errorf("the password must be 12 to 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), 12)
	if err != nil {
		return fmt.Errorf("hash: %w", err)
	}
	fmt.Fprintln(stdout, string(h))
	return nil
}
