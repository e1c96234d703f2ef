package torsvc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/thorchat/thorchat/torsvc/tortest"
)

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	extra := filepath.Join(dir, "extra.torrc")
	if err := os.WriteFile(extra, []byte("Log notice stdout\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.torrc")
	if err := os.WriteFile(big, make([]byte, maxExtraTorrc+1), 0o600); err != nil {
		t.Fatal(err)
	}
	base := func() Config {
		c := DefaultConfig()
		c.DataDir = filepath.Join(dir, "tor")
		c.KeyDir = filepath.Join(dir, "key")
		c.Target = "/run/thorchat/irc.sock"
		return c
	}
	tests := []struct {
		name   string
		change func(*Config)
		key    string // "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"zero values get defaults", func(c *Config) { c.Mode, c.Binary, c.VirtualPort, c.MaxStreams = "", "", 0, 0 }, ""},
		{"extra torrc", func(c *Config) { c.ExtraTorrc = extra }, ""},
		{"control tcp", func(c *Config) { c.Mode, c.Control = ModeControl, "127.0.0.1:9051" }, ""},
		{"control unix", func(c *Config) { c.Mode, c.Control = ModeControl, "unix:/run/tor/control" }, ""},
		{"unknown mode", func(c *Config) { c.Mode = "bridge" }, "tor.mode"},
		{"missing extra torrc", func(c *Config) { c.ExtraTorrc = filepath.Join(dir, "nope") }, "tor.extra_torrc"},
		{"extra torrc is a directory", func(c *Config) { c.ExtraTorrc = dir }, "tor.extra_torrc"},
		{"huge extra torrc", func(c *Config) { c.ExtraTorrc = big }, "tor.extra_torrc"},
		{"control without port", func(c *Config) { c.Mode, c.Control = ModeControl, "127.0.0.1" }, "tor.control"},
		{"control port 0", func(c *Config) { c.Mode, c.Control = ModeControl, "127.0.0.1:0" }, "tor.control"},
		{"control relative unix", func(c *Config) { c.Mode, c.Control = ModeControl, "unix:run/ctl" }, "tor.control"},
		{"control password newline", func(c *Config) { c.Mode, c.ControlPassword = ModeControl, "a\nb" }, "tor.control_password"},
		{"data dir newline", func(c *Config) { c.DataDir = "data\nDisableNetwork 1" }, "tor.data_dir"},
		{"key dir quote", func(c *Config) { c.KeyDir = `a"b` }, "tor.key_dir"},
		{"port too big", func(c *Config) { c.VirtualPort = 70000 }, "listen.onion_port"},
		{"relative target", func(c *Config) { c.Target = "irc.sock" }, "target"},
		{"target with space", func(c *Config) { c.Target = "/tmp/a b.sock" }, "target"},
		{"target with comma", func(c *Config) { c.Target = "/tmp/a,b.sock" }, "target"},
		{"target too long", func(c *Config) { c.Target = "/" + strings.Repeat("a", 120) }, "target"},
		{"no target", func(c *Config) { c.Target = "" }, "target"},
		{"burst below rate", func(c *Config) { c.IntroDoSBurstPerSec = 10 }, "tor.intro_dos_burst"},
		{"negative pow rate", func(c *Config) { c.PoWQueueRate = -1 }, "tor.pow_queue_rate"},
		{"max streams too big", func(c *Config) { c.MaxStreams = 70000 }, "tor.max_streams"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.change(&c)
			err := c.withDefaults().validate()
			if tt.key == "" {
				if err != nil {
					t.Fatalf("validate() = %v, want nil", err)
				}
				return
			}
			if !isConfigErr(err, tt.key) {
				t.Fatalf("validate() = %v, want an error naming %s", err, tt.key)
			}
		})
	}
}

// loneTor starts a tor outside any network (DisableNetwork) with a unix
// control socket and the given lines; it is killed at cleanup.
func loneTor(t *testing.T, lines ...string) (sock string) {
	t.Helper()
	dir := shortDir(t)
	sock = filepath.Join(dir, "ctl")
	torrc := strings.Join(append([]string{
		"DataDirectory " + dir, "DisableNetwork 1", "SocksPort 0", "ControlSocket " + sock,
		`GeoIPFile ""`, `GeoIPv6File ""`, "Log warn stdout",
	}, lines...), "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "torrc"), []byte(torrc), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("tor", "--defaults-torrc", os.DevNull, "-f", filepath.Join(dir, "torrc"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
		if time.Now().After(deadline) {
			t.Fatal("lone tor did not open its control socket")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStartErrors checks that Start refuses bad settings with errors naming
// the configuration key, using real tor where the check needs one.
func TestStartErrors(t *testing.T) {
	tortest.Require(t)
	dir := shortDir(t)
	badTorrc := filepath.Join(dir, "bad.torrc")
	if err := os.WriteFile(badTorrc, []byte("NoSuchTorOption 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pwSock := loneTor(t, "HashedControlPassword "+hashPassword(t, "right horse"))
	closed := filepath.Join(dir, "nobody.sock")

	tests := []struct {
		name   string
		change func(*Config)
		key    string // configuration key named, "" for other errors
		want   string // substring of the message
	}{
		{"unknown mode", func(c *Config) { c.Mode = "relay" }, "tor.mode", "unknown mode"},
		{"missing extra torrc", func(c *Config) { c.ExtraTorrc = filepath.Join(dir, "missing") }, "tor.extra_torrc", "no such file"},
		{"missing binary", func(c *Config) { c.Binary = "tor-does-not-exist" }, "tor.binary", "install the Debian package: apt-get install -y tor"},
		{"tor rejects extra torrc", func(c *Config) { c.ExtraTorrc = badTorrc }, "", "NoSuchTorOption"},
		{"control port closed", func(c *Config) { c.Mode, c.Control = ModeControl, "unix:"+closed }, "tor.control", "connect"},
		{"control refuses password", func(c *Config) {
			c.Mode, c.Control, c.ControlPassword = ModeControl, "unix:"+pwSock, "wrong horse"
		}, "tor.control", "refused authentication"},
		{"control wants a password", func(c *Config) { c.Mode, c.Control = ModeControl, "unix:"+pwSock }, "tor.control", "tor.control_password"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			sub := filepath.Join(dir, "c"+string(rune('a'+i)))
			c.DataDir, c.KeyDir, c.Target = filepath.Join(sub, "tor"), filepath.Join(sub, "key"), filepath.Join(dir, "irc.sock")
			tt.change(&c)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			svc, err := Start(ctx, c, testLogger(t))
			if err == nil {
				svc.Close()
				t.Fatal("Start succeeded")
			}
			if tt.key != "" && !isConfigErr(err, tt.key) {
				t.Errorf("err = %v, want a %s error", err, tt.key)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
			var ce *ConfigError
			if tt.key == "" && errors.As(err, &ce) {
				t.Errorf("err = %v, want no ConfigError", err)
			}
		})
	}
}
