package torsvc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// reachBudget bounds each wait for the onion to answer.
const reachBudget = 2 * time.Minute

func timing(t *testing.T, what string, d time.Duration) {
	t.Helper()
	fmt.Fprintf(os.Stderr, "TIMING %s: %.1fs\n", what, d.Seconds())
}

// TestOnionEmbedded publishes through an embedded tor joined to the private
// network and reaches the service through the network's SOCKS port: first
// start, clean restart with the same key, and recovery after kill -9.
func TestOnionEmbedded(t *testing.T) {
	n := network(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	dir := shortDir(t)
	sock := sockPath(t, dir, "irc.sock")
	echo := startEcho(t, sock, true)

	cfg := DefaultConfig()
	cfg.DataDir = filepath.Join(dir, "tor")
	cfg.KeyDir = filepath.Join(dir, "key")
	cfg.Target = sock
	cfg.ExtraTorrc = n.TorrcSnippet
	// the address is known before tor ever runs, and tor must publish it
	want, err := OnionAddressFromKey(cfg.KeyDir)
	if err != nil {
		t.Fatal(err)
	}
	log := testLogger(t)

	start := time.Now()
	svc, err := Start(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if got := svc.OnionAddress(); got != want {
		t.Fatalf("OnionAddress() = %s, want %s (from OnionAddressFromKey)", got, want)
	}
	wantOpts := []string{OptIntroDoSDefense, OptIntroDoSRatePerSec, OptIntroDoSBurstPerSec,
		OptPoWDefensesEnabled, OptPoWQueueRate, OptPoWQueueBurst,
		OptMaxStreams, OptMaxStreamsCloseCircuit, OptExportCircuitID}
	if got := svc.Accepted(); !slices.Equal(got, wantOpts) {
		t.Errorf("Accepted() = %v, want %v (tor 0.4.9 knows them all)", got, wantOpts)
	}
	if !svc.ExportsCircuitID() {
		t.Fatal("ExportsCircuitID() = false with export_circuit_id on")
	}
	addr := fmt.Sprintf("%s:%d", want, DefaultVirtualPort)

	d, err := reach(ctx, t, n, addr)
	if err != nil {
		t.Fatal(err)
	}
	timing(t, "embedded: first reachable after Start", time.Since(start))
	_ = d
	select {
	case <-svc.Published():
	default:
		t.Error("reachable, but Published() is not closed")
	}
	ids, errs := echo.proxyResults()
	if len(ids) == 0 {
		t.Fatal("the echo server saw no stream")
	}
	for i := range ids {
		if errs[i] != nil || ids[i] == 0 {
			t.Errorf("stream %d: PROXY header: id %d, err %v", i, ids[i], errs[i])
		}
	}
	// tor wrote its own hostname file from our key
	if b, err := os.ReadFile(filepath.Join(cfg.KeyDir, "hostname")); err != nil || strings.TrimSpace(string(b)) != want {
		t.Errorf("hostname file = %q, %v; want %s", b, err, want)
	}

	// clean restart with the same key directory
	pid := svc.TorPID()
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("tor pid %d still exists after Close (kill 0: %v)", pid, err)
	}
	start = time.Now()
	svc, err = Start(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if got := svc.OnionAddress(); got != want {
		t.Fatalf("after restart OnionAddress() = %s, want %s", got, want)
	}
	if _, err := reach(ctx, t, n, addr); err != nil {
		t.Fatal(err)
	}
	timing(t, "embedded: reachable again after Close+Start", time.Since(start))

	// kill -9 the embedded tor: the service restarts it by itself
	pid = svc.TorPID()
	if pid == 0 {
		t.Fatal("TorPID() = 0 while running")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	deadline := time.Now().Add(time.Minute)
	for p := svc.TorPID(); p == 0 || p == pid; p = svc.TorPID() {
		if time.Now().After(deadline) {
			t.Fatal("embedded tor not restarted within a minute")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := reach(ctx, t, n, addr); err != nil {
		t.Fatal(err)
	}
	timing(t, "embedded: reachable again after kill -9 of tor", time.Since(start))
	if got := svc.OnionAddress(); got != want {
		t.Fatalf("after kill OnionAddress() = %s, want %s", got, want)
	}
}

// hashPassword returns tor's HashedControlPassword for pw.
func hashPassword(t *testing.T, pw string) string {
	out, err := exec.Command("tor", "--quiet", "--hash-password", pw).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(out))
	return lines[len(lines)-1]
}

// TestOnionControlMode attaches to a separately started tor of the private
// network (cookie authentication over its unix control socket), publishes
// with ADD_ONION, survives a restart of that tor, and refuses a wrong
// password naming tor.control.
func TestOnionControlMode(t *testing.T) {
	n := network(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ext, err := n.StartTor(ctx, "ctl", "HashedControlPassword "+hashPassword(t, "right horse"))
	if err != nil {
		t.Fatal(err)
	}
	dir := shortDir(t)
	sock := sockPath(t, dir, "irc.sock")
	startEcho(t, sock, false)

	cfg := DefaultConfig()
	cfg.Mode = ModeControl
	cfg.Control = "unix:" + ext.ControlSocket
	cfg.KeyDir = filepath.Join(dir, "key")
	cfg.Target = sock
	log := testLogger(t)

	bad := cfg
	bad.ControlPassword = "wrong horse"
	if _, err := Start(ctx, bad, log); !isConfigErr(err, "tor.control") {
		t.Fatalf("wrong password: err = %v, want a tor.control error", err)
	}

	start := time.Now()
	svc, err := Start(ctx, cfg, log) // cookie
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	want := []string{OptPoWDefensesEnabled, OptPoWQueueRate, OptPoWQueueBurst, OptMaxStreams, OptMaxStreamsCloseCircuit}
	if got := svc.Accepted(); !slices.Equal(got, want) {
		t.Errorf("Accepted() = %v, want %v (what ADD_ONION takes)", got, want)
	}
	if svc.ExportsCircuitID() {
		t.Error("ExportsCircuitID() = true in control mode")
	}
	if svc.TorPID() != 0 {
		t.Errorf("TorPID() = %d in control mode", svc.TorPID())
	}
	addr := fmt.Sprintf("%s:%d", svc.OnionAddress(), DefaultVirtualPort)
	if _, err := reach(ctx, t, n, addr); err != nil {
		t.Fatal(err)
	}
	timing(t, "control: first reachable after Start", time.Since(start))
	if a, err := OnionAddressFromKey(cfg.KeyDir); err != nil || a != svc.OnionAddress() {
		t.Errorf("OnionAddressFromKey = %s, %v; tor published %s", a, err, svc.OnionAddress())
	}

	// the tor behind the control socket dies and comes back
	if err := ext.Kill(); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := ext.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := reach(ctx, t, n, addr); err != nil {
		t.Fatal(err)
	}
	timing(t, "control: reachable again after the tor restarted", time.Since(start))

	// Close removes the ephemeral service from that tor
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	sess, err := dialSession(ctx, "unix", ext.ControlSocket, "")
	if err != nil {
		t.Fatal(err)
	}
	defer sess.close()
	onions, err := sess.getInfo("onions/current")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(onions, strings.TrimSuffix(svc.OnionAddress(), ".onion")) {
		t.Errorf("after Close tor still serves the onion: %q", onions)
	}
}

func isConfigErr(err error, key string) bool {
	var ce *ConfigError
	return errors.As(err, &ce) && ce.Key == key && strings.HasPrefix(err.Error(), key+": ")
}
