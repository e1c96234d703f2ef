//go:build unix

package ircd

import "syscall"

// rawReads: the reader waits for readability with the descriptor and only
// then takes a pooled buffer (see readLoop).
const rawReads = true

func readFD(fd uintptr, b []byte) (int, error) { return syscall.Read(int(fd), b) }
