package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupRefusesToOverwrite: `backup -out` leaves an existing file
// alone unless -force is given, and then replaces it with the backup.
func TestBackupRefusesToOverwrite(t *testing.T) {
	tc := newTestConfig(t)
	cfgPath := tc.write(t)
	d := startDaemon(t, cfgPath)
	dial(t, d.addr, "alice", newKey(t))
	out := filepath.Join(t.TempDir(), "precious")
	keep := []byte("not a backup: something the operator keeps\n")
	writeBytes(t, out, keep)

	code, _, errOut := runCmd(t, "backup", "-config", cfgPath, "-out", out)
	if code != 1 || !strings.Contains(errOut, "exists; pass -force") {
		t.Fatalf("backup onto an existing file: exit %d, %q", code, errOut)
	}
	if !bytes.Equal(readBytes(t, out), keep) {
		t.Fatal("the existing file was changed")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".backup-*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	code, msg, errOut := runCmd(t, "backup", "-config", cfgPath, "-out", out, "-force")
	if code != 0 || !strings.Contains(msg, "backup written to "+out+" (1 accounts)") {
		t.Fatalf("backup -force: exit %d, %q %q", code, msg, errOut)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
}
