package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/thorchat/thorchat/torsvc/tortest"
)

// startOfflineTor runs a real tor with its network disabled (it contacts
// nobody) and a unix control socket with cookie authentication; it
// returns the socket and the process.
func startOfflineTor(t *testing.T, dir string) (string, *exec.Cmd) {
	t.Helper()
	tdir := filepath.Join(dir, "ext")
	if err := os.Mkdir(tdir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(tdir, "ctl")
	torrc := filepath.Join(dir, "torrc")
	lines := []string{
		"DataDirectory " + tdir,
		"Log notice file " + filepath.Join(dir, "tor.log"),
		"DisableNetwork 1",
		"SocksPort 0",
		"ControlSocket " + sock,
		"CookieAuthentication 1",
		`GeoIPFile ""`,
		`GeoIPv6File ""`,
		fmt.Sprintf("__OwningControllerProcess %d", os.Getpid()),
	}
	if err := os.WriteFile(torrc, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("tor", "-f", torrc)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			return sock, cmd
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(dir, "tor.log"))
			t.Fatalf("tor exited:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("tor's control socket did not appear")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStatus: `thorchatd status` summarises a running daemon attached to
// a real tor and exits 0; with that tor stopped it exits 1 naming the
// problem, and without a daemon it exits 1 too.
func TestStatus(t *testing.T) {
	tortest.Require(t)
	dir, err := os.MkdirTemp("", "tcst") // unix socket paths must stay short
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctl, tor := startOfflineTor(t, dir)
	port := freePort(t)
	cfgText := fmt.Sprintf(`[server]
name = "irc.test"
data_dir = %q
log_level = "warn"
[listen]
onion = true
dev_tcp = ["127.0.0.1:%d"]
[tor]
mode = "control"
control = "unix:%s"
`, filepath.Join(dir, "data"), port, ctl)
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfgPath)
	dial(t, d.addr, "someone", nil)

	// the onion service starts after the dev listener
	var code int
	var out, errOut string
	for end := time.Now().Add(waitFor); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if code, out, errOut = runCmd(t, "status", "-config", cfgPath); code == 0 {
			break
		}
	}
	if code != 0 || !strings.Contains(out, "healthy") || !strings.Contains(out, "tor       up (control mode)") ||
		!strings.Contains(out, ".onion, descriptor not published") || !strings.Contains(out, "guest/dev 1") {
		t.Fatalf("status with tor up: exit %d\n%s%s\nlogs:\n%s", code, out, errOut, d.logs.String())
	}

	// tor stops: status turns unhealthy
	if err := tor.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitFor)
	for {
		code, out, errOut = runCmd(t, "status", "-config", cfgPath)
		if code == 1 && strings.Contains(out, "UNHEALTHY") && strings.Contains(out, "problem: tor is down") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status with tor stopped: exit %d\n%s%s", code, out, errOut)
		}
		time.Sleep(50 * time.Millisecond)
	}

	d.stop()
	if code, _, errOut := runCmd(t, "status", "-config", cfgPath); code != 1 || !strings.Contains(errOut, "UNHEALTHY") {
		t.Fatalf("status without a daemon: exit %d, %s", code, errOut)
	}
}
