package main

import "syscall"

// childAttr puts thorchatd in its own process group, so a Ctrl-C on the
// terminal reaches only the demo, which stops thorchatd first; and it makes
// the kernel stop thorchatd if the demo dies without doing so (its tor
// follows: __OwningControllerProcess).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
