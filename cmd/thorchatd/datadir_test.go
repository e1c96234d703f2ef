package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeConfig writes a configuration with dataDir and storePath, the
// onion service off and a dev_tcp listener on port, and returns its path.
func writeConfig(t *testing.T, dir, dataDir, storePath string, port int) string {
	t.Helper()
	cfg := fmt.Sprintf("[server]\nname = \"irc.test\"\ndata_dir = %q\nlog_level = \"warn\"\n"+
		"[listen]\nonion = false\ndev_tcp = [\"127.0.0.1:%d\"]\n[store]\npath = %q\n", dataDir, port, storePath)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDataDirWithoutOnion: with the onion service off and the store
// elsewhere, the daemon still creates its data_dir (0700), so the admin
// socket binds and `thorchatd backup` reaches the running daemon.
func TestDataDirWithoutOnion(t *testing.T) {
	root := t.TempDir()
	dataDir := filepath.Join(root, "fresh", "data")
	cfgPath := writeConfig(t, root, dataDir, filepath.Join(root, "db", "thorchat.db"), freePort(t))
	d := startDaemon(t, cfgPath)
	fi, err := os.Stat(dataDir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data_dir: %v, %v", fi, err)
	}
	out := filepath.Join(root, "hot.db")
	code, msg, errOut := runCmd(t, "backup", "-config", cfgPath, "-out", out)
	if code != 0 || !strings.Contains(msg, "backup written to "+out) {
		t.Fatalf("backup exit %d: %q %q\nlogs:\n%s", code, msg, errOut, d.logs.String())
	}
}

// TestStartupFailureStops: a start-up step that fails — the data_dir, the
// admin socket — stops the daemon process with a non-zero exit and the
// reason, instead of running without it.
func TestStartupFailureStops(t *testing.T) {
	tests := []struct {
		name string
		// setup prepares root and returns the data_dir to configure
		setup func(t *testing.T, root string) string
		want  string
	}{
		{
			name: "admin socket cannot bind",
			setup: func(t *testing.T, root string) string {
				// a directory where the socket goes
				dataDir := filepath.Join(root, "data")
				if err := os.MkdirAll(filepath.Join(dataDir, "admin.sock"), 0o700); err != nil {
					t.Fatal(err)
				}
				return dataDir
			},
			want: "admin socket",
		},
		{
			name: "data_dir cannot be created",
			setup: func(t *testing.T, root string) string {
				parent := filepath.Join(root, "parent")
				if err := os.WriteFile(parent, []byte("a file"), 0o600); err != nil {
					t.Fatal(err)
				}
				return filepath.Join(parent, "data")
			},
			want: "server.data_dir",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dataDir := tt.setup(t, root)
			cfgPath := writeConfig(t, root, dataDir, filepath.Join(root, "db", "thorchat.db"), freePort(t))
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+cfgPath)
			var out syncBuffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case <-exited:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				<-exited
				t.Fatalf("the daemon kept running\n%s", out.String())
			}
			if code := cmd.ProcessState.ExitCode(); code == 0 || !strings.Contains(out.String(), tt.want) {
				t.Fatalf("exit %d, output:\n%s\nwant a reason naming %q", code, out.String(), tt.want)
			}
			if testing.Verbose() {
				t.Log(out.String())
			}
		})
	}
}
