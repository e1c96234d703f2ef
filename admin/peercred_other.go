//go:build !linux

package admin

import (
	"errors"
	"net"
)

// peerUID is only implemented with Linux's SO_PEERCRED; elsewhere every
// admin connection is refused rather than trusted on file modes alone.
func peerUID(*net.UnixConn) (int, error) {
	return 0, errors.New("peer credentials are not supported on this system")
}
