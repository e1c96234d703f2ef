//go:build !unix

package ircd

import "errors"

// rawReads is off where sockets are not read with read(2) (Windows): each
// reader keeps a private buffer instead (see readLoop).
const rawReads = false

func readFD(uintptr, []byte) (int, error) { return 0, errors.New("raw reads are not supported") }
