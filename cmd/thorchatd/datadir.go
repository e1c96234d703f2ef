package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// prepareDataDir makes the data directory private before anything is put
// in it: a missing one is created 0700, an existing one that group or
// others may use is tightened to 0700 (with a warning); one that is not a
// directory, or that cannot be tightened (another owner), stops the start.
// The database, the onion key and the admin socket live there.
func prepareDataDir(dir string, log *slog.Logger) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("server.data_dir: %w", err)
		}
		// MkdirAll is subject to the umask; make sure of the mode
		return os.Chmod(dir, 0o700)
	}
	if err != nil {
		return fmt.Errorf("server.data_dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("server.data_dir %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("server.data_dir %s is accessible to other users (mode %v) and cannot be made private: %w", dir, fi.Mode().Perm(), err)
	}
	log.Warn("the data directory was accessible to other users; its mode is now 0700", "dir", dir, "was", fi.Mode().Perm().String())
	return nil
}
