//go:build windows

package ircd

import "syscall"

func setSockOptInt(fd uintptr, level, opt, v int) error {
	return syscall.SetsockoptInt(syscall.Handle(fd), level, opt, v)
}
