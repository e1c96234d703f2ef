//go:build unix

package ircd

import "syscall"

func setSockOptInt(fd uintptr, level, opt, v int) error {
	return syscall.SetsockoptInt(int(fd), level, opt, v)
}
