package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// daemonBinEnv names a prebuilt thorchatd to use instead of building one.
const daemonBinEnv = "THORCHAT_DAEMON_BIN"

// daemonBin is the thorchatd binary under test. TestMain sets it once,
// before any test runs; tests only read it.
var daemonBin string

func TestMain(m *testing.M) {
	code := runMain(m)
	closeSharedTorNetwork(code != 0)
	os.Exit(code)
}

func runMain(m *testing.M) int {
	if bin := os.Getenv(daemonBinEnv); bin != "" {
		daemonBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "thorchat-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := buildDaemon(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	daemonBin = bin
	return m.Run()
}

// buildDaemon builds ./cmd/thorchatd from the module root into dir, with the
// race detector when this test binary has it, and returns the binary's path.
func buildDaemon(dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "thorchatd")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/thorchatd")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return bin, nil
}

// moduleRoot is the directory holding the go.mod of this module.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	return filepath.Dir(gomod), nil
}

// daemon is a running thorchatd started by startDaemon.
type daemon struct {
	// Addr is the plaintext dev listener, "127.0.0.1:PORT" (empty if the
	// extra configuration removed every dev_tcp listener).
	Addr string
	// Host and Port are Addr split.
	Host string
	Port int
	// Dir is the test's directory for this daemon; DataDir is server.data_dir.
	Dir     string
	DataDir string
	// ConfigPath is the generated configuration file, LogPath the daemon's
	// combined standard output and error.
	ConfigPath string
	LogPath    string

	proc *process
}

// startDaemon starts thorchatd with a generated configuration: server name
// "thorchat.test", data_dir in a temporary directory, debug logging, onion
// off and one plaintext listener on a free 127.0.0.1 port. extraConfigTOML,
// if not empty, is a TOML document merged over that base key by key (tables
// merge, other values replace), so it may add sections ([accounts], …) as
// well as override base keys (listen.onion, listen.dev_tcp, …).
//
// The configuration is validated with -check, the daemon started, and
// startDaemon returns once the dev listener accepts connections (or, with
// no dev listener, once the daemon logs that it runs). A cleanup stops the
// daemon by PID and fails the test if it does not exit cleanly, which under
// -race includes any data race the daemon detected.
func startDaemon(t testing.TB, extraConfigTOML string) *daemon {
	t.Helper()
	if daemonBin == "" {
		t.Fatal("thorchatd was not built (TestMain did not run)")
	}
	dir := t.TempDir()
	d := &daemon{
		Dir:        dir,
		DataDir:    filepath.Join(dir, "data"),
		ConfigPath: filepath.Join(dir, "thorchatd.toml"),
		LogPath:    filepath.Join(dir, "thorchatd.log"),
	}
	if err := os.Mkdir(d.DataDir, 0o700); err != nil {
		t.Fatalf("create data dir: %v", err)
	}
	cfg, err := daemonConfig(d.DataDir, freePort(t), extraConfigTOML)
	if err != nil {
		t.Fatalf("daemon configuration: %v", err)
	}
	if err := os.WriteFile(d.ConfigPath, cfg.text, 0o600); err != nil {
		t.Fatalf("write daemon configuration: %v", err)
	}
	if len(cfg.devTCP) > 0 {
		d.Addr = cfg.devTCP[0]
		host, portStr, err := net.SplitHostPort(d.Addr)
		if err != nil {
			t.Fatalf("listen.dev_tcp %q: %v", d.Addr, err)
		}
		d.Host = host
		if d.Port, err = strconv.Atoi(portStr); err != nil {
			t.Fatalf("listen.dev_tcp %q: %v", d.Addr, err)
		}
	}

	check := exec.Command(daemonBin, "-config", d.ConfigPath, "-check")
	check.Env = baseEnv()
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("thorchatd -check: %v\n%s\nconfiguration:\n%s", err, out, cfg.text)
	}

	logOnFailure(t, "thorchatd log", d.LogPath)
	d.proc = startProcess(t, "thorchatd", d.LogPath, []string{"HOME=" + dir}, daemonBin, "-config", d.ConfigPath)
	t.Cleanup(func() { d.stop(t) })

	detail := func() string { return "thorchatd log:\n" + tailFile(d.LogPath, 4<<10) }
	waitFor(t, "thorchatd to start", func() (bool, error) {
		if d.proc.exited() {
			return false, fmt.Errorf("thorchatd exited early (%v)\n%s", d.proc.waitErr, detail())
		}
		if d.Addr == "" {
			log, err := readBounded(d.LogPath)
			return strings.Contains(log, `msg="thorchatd running"`), err
		}
		c, err := net.DialTimeout("tcp", d.Addr, time.Second)
		if err != nil {
			return false, nil
		}
		return true, c.Close()
	}, detail)
	return d
}

// stop ends the daemon with SIGTERM and reports an unclean exit.
func (d *daemon) stop(t testing.TB) {
	t.Helper()
	// shutdown_timeout defaults to 4s; allow for it and a loaded machine.
	_, killed := d.proc.stop(10 * time.Second)
	switch code := d.proc.exitCode(); {
	case killed:
		t.Errorf("thorchatd did not exit within 10s of SIGTERM and was killed")
	case code == 66 && raceEnabled:
		t.Errorf("thorchatd (built with -race) reported a data race:\n%s", raceReport(d.LogPath))
	case code != 0:
		t.Errorf("thorchatd exited with %v after SIGTERM, want status 0", d.proc.waitErr)
	}
}

// raceReport extracts the first race detector report from a log file.
func raceReport(path string) string {
	log, err := readBounded(path)
	if err != nil {
		return err.Error()
	}
	i := strings.Index(log, "WARNING: DATA RACE")
	if i < 0 {
		return "(no report found in the log)"
	}
	return log[i:min(len(log), i+8<<10)]
}

// daemonConf is a generated configuration and the dev listeners it holds.
type daemonConf struct {
	text   []byte
	devTCP []string
}

// daemonConfig renders the base configuration merged with each of extras
// in turn.
func daemonConfig(dataDir string, port int, extras ...string) (daemonConf, error) {
	base := map[string]any{
		"server": map[string]any{
			"name":      "thorchat.test",
			"data_dir":  dataDir,
			"log_level": "debug",
		},
		"listen": map[string]any{
			"onion":   false,
			"dev_tcp": []any{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))},
		},
		// every test client comes from 127.0.0.1 (one origin for the
		// rate of new connections on the dev listener) or over one tor
		"limits": map[string]any{
			"origin_conn_rate":  100000.0,
			"origin_conn_burst": 100000,
		},
	}
	for _, extra := range extras {
		if strings.TrimSpace(extra) == "" {
			continue
		}
		var over map[string]any
		if _, err := toml.Decode(extra, &over); err != nil {
			return daemonConf{}, fmt.Errorf("parse extra configuration: %w", err)
		}
		mergeTOML(base, over)
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(base); err != nil {
		return daemonConf{}, fmt.Errorf("encode configuration: %w", err)
	}
	conf := daemonConf{text: buf.Bytes()}
	if listen, ok := base["listen"].(map[string]any); ok {
		if list, ok := listen["dev_tcp"].([]any); ok {
			for _, v := range list {
				if s, ok := v.(string); ok {
					conf.devTCP = append(conf.devTCP, s)
				}
			}
		}
	}
	return conf, nil
}

// mergeTOML merges over into dst: tables merge recursively, anything else
// replaces.
func mergeTOML(dst, over map[string]any) {
	for k, v := range over {
		sub, isTable := v.(map[string]any)
		cur, curIsTable := dst[k].(map[string]any)
		if isTable && curIsTable {
			cur = maps.Clone(cur)
			mergeTOML(cur, sub)
			dst[k] = cur
			continue
		}
		dst[k] = v
	}
}
