package admin

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// listenPrivate binds the unix socket for path so that no other user can
// ever reach it with looser permissions than 0600: it is bound inside a
// fresh 0700 directory next to path, set to 0600 there, and only then
// renamed into place. This does not touch the umask, which is
// process-wide: changing it around the bind would race with every other
// file the daemon creates at the same time. The caller removes path when
// it stops listening (the listener does not unlink it on close).
func listenPrivate(path string) (*net.UnixListener, error) {
	dir, err := os.MkdirTemp(filepath.Dir(path), ".adm")
	if err != nil {
		return nil, fmt.Errorf("admin socket: private directory: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	tmp := filepath.Join(dir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return ln, nil
}

// samePeerUser reports whether the process at the other end of conn runs
// as this process's effective user.
func samePeerUser(conn net.Conn) (bool, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return false, fmt.Errorf("not a unix connection")
	}
	uid, err := peerUID(uc)
	if err != nil {
		return false, err
	}
	return uid == os.Geteuid(), nil
}
