package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDataDirIsMadePrivate: the daemon starts with its data directory at
// 0700 whatever mode an existing one had, says so in its log when it had
// to tighten it, and creates a missing one 0700.
func TestDataDirIsMadePrivate(t *testing.T) {
	cases := []struct {
		name string
		mode os.FileMode // 0: the directory does not exist yet
		warn bool
	}{
		{"world-writable", 0o777, true},
		{"group-readable", 0o750, true},
		{"private", 0o700, false},
		{"missing", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc := newTestConfig(t)
			base := tc.Dir
			tc.Dir = filepath.Join(base, "data")
			if err := os.Mkdir(tc.Dir, 0o700); err != nil {
				t.Fatal(err)
			}
			// the configuration file lives outside the data directory
			cfgPath := filepath.Join(base, "config.toml")
			if err := os.Rename(tc.write(t), cfgPath); err != nil {
				t.Fatal(err)
			}
			var err error
			if c.mode == 0 {
				err = os.Remove(tc.Dir)
			} else {
				err = os.Chmod(tc.Dir, c.mode)
			}
			if err != nil {
				t.Fatal(err)
			}
			d := startDaemon(t, cfgPath)
			fi, err := os.Stat(tc.Dir)
			if err != nil || fi.Mode().Perm() != 0o700 {
				t.Fatalf("data_dir mode %v (%v), want 0700", fi.Mode().Perm(), err)
			}
			if got := strings.Contains(d.logs.String(), "its mode is now 0700"); got != c.warn {
				t.Fatalf("warning logged %v, want %v; logs:\n%s", got, c.warn, d.logs.String())
			}
		})
	}
}
