package torsvc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Modes of Config.Mode.
const (
	ModeEmbedded = "embedded"
	ModeControl  = "control"
)

// DefaultVirtualPort is the onion service port clients connect to.
const DefaultVirtualPort = 6667

// Config configures Start. Use DefaultConfig and override fields: the zero
// value of a bool means "off", so a literal Config{} turns every hardening
// option off. Zero numbers and empty strings are replaced by the defaults.
// The toml tags are the keys of the [tor] table; VirtualPort comes from
// [listen] onion_port and Target is set by the daemon.
type Config struct {
	// Mode is "embedded" (default) or "control".
	Mode string `toml:"mode"`
	// Binary is the tor executable for embedded mode (default "tor", looked
	// up on PATH).
	Binary string `toml:"binary"`
	// DataDir is tor's DataDirectory in embedded mode (default "data/tor").
	DataDir string `toml:"data_dir"`
	// ExtraTorrc names a file whose lines are added to the generated torrc in
	// embedded mode (tests join a private network this way).
	ExtraTorrc string `toml:"extra_torrc"`
	// Control is the control port of a running tor in control mode:
	// "127.0.0.1:9051" or "unix:/run/tor/control". Cookie authentication is
	// used unless ControlPassword is set and tor offers password
	// authentication.
	Control string `toml:"control"`
	// ControlPassword is the control port password (HashedControlPassword).
	ControlPassword string `toml:"control_password"`
	// KeyDir holds the onion service key (0700 directory, 0600 key) and the
	// hostname file (default "data/onion"). Created once and kept.
	KeyDir string `toml:"key_dir"`
	// VirtualPort is the onion service port (default 6667).
	VirtualPort int `toml:"-"`
	// Target is the daemon's unix socket that the onion port forwards to.
	Target string `toml:"-"`
	// ExtraPorts are further virtual ports of the same onion service, each
	// forwarding to a unix socket of its own (the web client's HTTP port).
	ExtraPorts []PortMap `toml:"-"`

	// IntroDoSDefense turns on tor's rate limit of introductions at the
	// introduction points (HiddenServiceEnableIntroDoSDefense), with
	// IntroDoSRatePerSec and IntroDoSBurstPerSec (defaults 25 and 200).
	IntroDoSDefense     bool `toml:"intro_dos_defense"`
	IntroDoSRatePerSec  int  `toml:"intro_dos_rate"`
	IntroDoSBurstPerSec int  `toml:"intro_dos_burst"`
	// PoWDefenses turns on the proof-of-work defense
	// (HiddenServicePoWDefensesEnabled, tor 0.4.8+), with PoWQueueRate and
	// PoWQueueBurst (defaults 250 and 2500).
	PoWDefenses   bool `toml:"pow_defenses"`
	PoWQueueRate  int  `toml:"pow_queue_rate"`
	PoWQueueBurst int  `toml:"pow_queue_burst"`
	// MaxStreams caps the streams per rendezvous circuit
	// (HiddenServiceMaxStreams, default 8); with MaxStreamsCloseCircuit the
	// circuit is closed when a client exceeds it.
	MaxStreams             int  `toml:"max_streams"`
	MaxStreamsCloseCircuit bool `toml:"max_streams_close_circuit"`
	// ExportCircuitID makes tor write a PROXY protocol v1 line carrying the
	// rendezvous circuit ID before each stream (HiddenServiceExportCircuitID
	// haproxy); read it with proxyproto.ReadHeader. Service.ExportsCircuitID tells
	// whether the tor in use does it.
	ExportCircuitID bool `toml:"export_circuit_id"`
}

// DefaultConfig returns the defaults: embedded mode, every hardening option on.
func DefaultConfig() Config {
	return Config{
		Mode:                   ModeEmbedded,
		Binary:                 "tor",
		DataDir:                filepath.Join("data", "tor"),
		Control:                "127.0.0.1:9051",
		KeyDir:                 filepath.Join("data", "onion"),
		VirtualPort:            DefaultVirtualPort,
		IntroDoSDefense:        true,
		IntroDoSRatePerSec:     25,
		IntroDoSBurstPerSec:    200,
		PoWDefenses:            true,
		PoWQueueRate:           250,
		PoWQueueBurst:          2500,
		MaxStreams:             8,
		MaxStreamsCloseCircuit: true,
		ExportCircuitID:        true,
	}
}

// withDefaults fills zero numbers and empty strings from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setStr := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	setInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setStr(&c.Mode, d.Mode)
	setStr(&c.Binary, d.Binary)
	setStr(&c.DataDir, d.DataDir)
	setStr(&c.KeyDir, d.KeyDir)
	setInt(&c.VirtualPort, d.VirtualPort)
	setInt(&c.IntroDoSRatePerSec, d.IntroDoSRatePerSec)
	setInt(&c.IntroDoSBurstPerSec, d.IntroDoSBurstPerSec)
	setInt(&c.PoWQueueRate, d.PoWQueueRate)
	setInt(&c.PoWQueueBurst, d.PoWQueueBurst)
	setInt(&c.MaxStreams, d.MaxStreams)
	return c
}

// ConfigError is a bad setting; Key is the configuration key (such as
// "tor.mode") and is part of the message.
type ConfigError struct {
	Key string
	Err error
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configErr(key, format string, args ...any) error {
	return &ConfigError{Key: key, Err: fmt.Errorf(format, args...)}
}

// installHint is appended to every "tor not found" error.
const installHint = "install the Debian package: apt-get install -y tor"

// validate checks every setting that does not need tor; it expects
// withDefaults to have run.
func (c Config) validate() error {
	switch c.Mode {
	case ModeEmbedded:
		if err := checkPathValue(c.DataDir); err != nil {
			return configErr("tor.data_dir", "%w", err)
		}
		if c.ExtraTorrc != "" {
			if _, err := readExtraTorrc(c.ExtraTorrc); err != nil {
				return err
			}
		}
	case ModeControl:
		if _, _, err := parseControlAddr(c.Control); err != nil {
			return err
		}
		if strings.ContainsAny(c.ControlPassword, "\r\n") {
			return configErr("tor.control_password", "must be a single line")
		}
	default:
		return configErr("tor.mode", "unknown mode %q (want %q or %q)", c.Mode, ModeEmbedded, ModeControl)
	}
	if err := checkPathValue(c.KeyDir); err != nil {
		return configErr("tor.key_dir", "%w", err)
	}
	if c.VirtualPort < 1 || c.VirtualPort > 65535 {
		return configErr("listen.onion_port", "%d is not a port (1-65535)", c.VirtualPort)
	}
	if err := checkTarget(c.Target); err != nil {
		return configErr("target", "the daemon's unix socket %q: %w", c.Target, err)
	}
	for _, pm := range c.ExtraPorts {
		if pm.Port < 1 || pm.Port > 65535 || pm.Port == c.VirtualPort {
			return configErr("web.onion_port", "%d is not a port (1-65535) other than listen.onion_port", pm.Port)
		}
		if err := checkTarget(pm.Target); err != nil {
			return configErr("target", "the daemon's unix socket %q: %w", pm.Target, err)
		}
	}
	const maxInt32 = 1<<31 - 1
	for _, b := range []struct {
		key       string
		v, lo, hi int
	}{
		{"tor.intro_dos_rate", c.IntroDoSRatePerSec, 1, maxInt32},
		{"tor.intro_dos_burst", c.IntroDoSBurstPerSec, c.IntroDoSRatePerSec, maxInt32},
		{"tor.pow_queue_rate", c.PoWQueueRate, 1, maxInt32},
		{"tor.pow_queue_burst", c.PoWQueueBurst, c.PoWQueueRate, maxInt32},
		{"tor.max_streams", c.MaxStreams, 0, 65535},
	} {
		if b.v < b.lo || b.v > b.hi {
			return configErr(b.key, "%d is out of range (%d-%d)", b.v, b.lo, b.hi)
		}
	}
	return nil
}

// checkPathValue refuses empty paths and characters a torrc line cannot hold.
func checkPathValue(p string) error {
	if p == "" {
		return errors.New("must not be empty")
	}
	if strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '"' || r == '\\' }) {
		return fmt.Errorf("%q contains a control character, quote or backslash", p)
	}
	return nil
}

// checkTarget checks the unix socket path the onion port forwards to: tor
// needs it absolute, without spaces (ADD_ONION cannot quote it), and short
// enough for a unix socket.
func checkTarget(p string) error {
	if p == "" {
		return errors.New("must not be empty")
	}
	if !filepath.IsAbs(p) {
		return errors.New("must be an absolute path")
	}
	if strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '"' || r == '\\' || r == ',' }) {
		return errors.New("must not contain spaces, control characters, quotes, backslashes or commas")
	}
	if len(p) >= 108 {
		return fmt.Errorf("is %d bytes; unix socket paths must be shorter than 108", len(p))
	}
	return nil
}

// maxExtraTorrc bounds the size of tor.extra_torrc.
const maxExtraTorrc = 64 << 10

// readExtraTorrc reads and checks the tor.extra_torrc file.
func readExtraTorrc(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, configErr("tor.extra_torrc", "%w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxExtraTorrc+1))
	if err != nil {
		return nil, configErr("tor.extra_torrc", "read %s: %w", path, err)
	}
	if len(b) > maxExtraTorrc {
		return nil, configErr("tor.extra_torrc", "%s is larger than %d bytes", path, maxExtraTorrc)
	}
	if strings.ContainsRune(string(b), 0) {
		return nil, configErr("tor.extra_torrc", "%s contains a NUL byte", path)
	}
	return b, nil
}

// parseControlAddr parses tor.control: "unix:/path" or "host:port".
func parseControlAddr(s string) (network, addr string, err error) {
	if p, ok := strings.CutPrefix(s, "unix:"); ok {
		if !filepath.IsAbs(p) || len(p) >= 108 {
			return "", "", configErr("tor.control", "%q: want unix:/absolute/path (shorter than 108 bytes)", s)
		}
		return "unix", p, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", "", configErr("tor.control", "%q: want host:port or unix:/path: %w", s, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
		return "", "", configErr("tor.control", "%q: want host:port with a port 1-65535", s)
	}
	return "tcp", s, nil
}

// lookTor finds the tor executable for tor.binary.
func lookTor(bin string) (string, error) {
	p, err := exec.LookPath(bin)
	if err != nil {
		return "", configErr("tor.binary", "%q not found (%v): %s", bin, err, installHint)
	}
	return p, nil
}

// PortMap is one virtual port of the onion service and the unix socket it
// forwards to.
type PortMap struct {
	Port   int
	Target string
}
