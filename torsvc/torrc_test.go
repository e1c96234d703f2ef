package torsvc

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/thorchat/thorchat/torsvc/tortest"
)

func TestEmbeddedTorrc(t *testing.T) {
	all := hardeningOptions(DefaultConfig())
	tests := []struct {
		name      string
		p         torrcParams
		want      []string // lines that must appear, in this order
		forbidden []string
	}{
		{
			name: "unix control socket, all hardening",
			p: torrcParams{DataDir: "/var/lib/thorchat/tor", ControlSocket: "/var/lib/thorchat/tor/control.sock",
				OwnerPID: 42, KeyDir: "/var/lib/thorchat/onion", Port: 6667, Target: "/run/thorchat/irc.sock", Options: all},
			want: []string{
				"DataDirectory /var/lib/thorchat/tor",
				"SocksPort 0",
				"ControlSocket /var/lib/thorchat/tor/control.sock",
				"CookieAuthentication 1",
				"__OwningControllerProcess 42",
				"HiddenServiceDir /var/lib/thorchat/onion",
				"HiddenServiceVersion 3",
				"HiddenServicePort 6667 unix:/run/thorchat/irc.sock",
				"HiddenServiceEnableIntroDoSDefense 1",
				"HiddenServiceEnableIntroDoSRatePerSec 25",
				"HiddenServiceEnableIntroDoSBurstPerSec 200",
				"HiddenServicePoWDefensesEnabled 1",
				"HiddenServicePoWQueueRate 250",
				"HiddenServicePoWQueueBurst 2500",
				"HiddenServiceMaxStreams 8",
				"HiddenServiceMaxStreamsCloseCircuit 1",
				"HiddenServiceExportCircuitID haproxy",
			},
			forbidden: []string{"ControlPort", "SocksPort 9050"},
		},
		{
			name: "control port fallback, extra lines before the service",
			p: torrcParams{DataDir: "/d/with space", ControlPortFile: "/d/with space/control.port", OwnerPID: 7,
				Extra: []byte("TestingTorNetwork 1\nDirAuthority a b\n"), ExtraName: "net.torrc",
				KeyDir: "/k", Port: 7000, Target: "/s"},
			want: []string{
				`DataDirectory "/d/with space"`,
				"ControlPort auto",
				`ControlPortWriteToFile "/d/with space/control.port"`,
				"# from tor.extra_torrc net.torrc",
				"TestingTorNetwork 1",
				"DirAuthority a b",
				"HiddenServiceDir /k",
				"HiddenServicePort 7000 unix:/s",
			},
			forbidden: []string{"ControlSocket", "HiddenServicePoW", "HiddenServiceExportCircuitID"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := embeddedTorrc(tt.p)
			lines := strings.Split(got, "\n")
			at := 0
			for _, w := range tt.want {
				i := slices.Index(lines[at:], w)
				if i < 0 {
					t.Fatalf("line %q missing or out of order in:\n%s", w, got)
				}
				at += i + 1
			}
			for _, f := range tt.forbidden {
				if strings.Contains(got, f) {
					t.Errorf("torrc contains %q:\n%s", f, got)
				}
			}
		})
	}
}

func TestHardeningOptions(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"defaults", func(*Config) {}, []string{OptIntroDoSDefense, OptIntroDoSRatePerSec, OptIntroDoSBurstPerSec,
			OptPoWDefensesEnabled, OptPoWQueueRate, OptPoWQueueBurst, OptMaxStreams, OptMaxStreamsCloseCircuit, OptExportCircuitID}},
		{"all off", func(c *Config) {
			c.IntroDoSDefense, c.PoWDefenses, c.MaxStreams, c.ExportCircuitID = false, false, 0, false
		}, nil},
		{"close circuit needs max streams", func(c *Config) {
			c.IntroDoSDefense, c.PoWDefenses, c.MaxStreams, c.ExportCircuitID = false, false, 0, false
			c.MaxStreamsCloseCircuit = true
		}, nil},
		{"only pow", func(c *Config) { c.IntroDoSDefense, c.MaxStreams, c.ExportCircuitID = false, 0, false },
			[]string{OptPoWDefensesEnabled, OptPoWQueueRate, OptPoWQueueBurst}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			if got := optionNames(hardeningOptions(c)); !slices.Equal(got, tt.want) {
				t.Errorf("= %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFilterOptions(t *testing.T) {
	all := hardeningOptions(DefaultConfig())
	every := map[string]bool{}
	for _, o := range all {
		every[o.name] = true
	}
	without := func(names ...string) map[string]bool {
		m := map[string]bool{}
		for k := range every {
			if !slices.Contains(names, k) {
				m[k] = true
			}
		}
		return m
	}
	tests := []struct {
		name     string
		sup      torSupport
		rejected []string
	}{
		{"tor 0.4.9", torSupport{options: every, modules: map[string]bool{"pow": true}}, nil},
		{"no module list", torSupport{options: every}, nil},
		{"built without pow", torSupport{options: every, modules: map[string]bool{"pow": false}},
			[]string{OptPoWDefensesEnabled, OptPoWQueueRate, OptPoWQueueBurst}},
		{"tor 0.4.7 (no pow options)", torSupport{options: without(OptPoWDefensesEnabled, OptPoWQueueRate, OptPoWQueueBurst)},
			[]string{OptPoWDefensesEnabled, OptPoWQueueRate, OptPoWQueueBurst}},
		{"rate without its switch", torSupport{options: without(OptIntroDoSDefense)},
			[]string{OptIntroDoSDefense, OptIntroDoSRatePerSec, OptIntroDoSBurstPerSec}},
		{"old tor (no export)", torSupport{options: without(OptExportCircuitID)}, []string{OptExportCircuitID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc, rej := filterOptions(all, tt.sup)
			if got := optionNames(rej); !slices.Equal(got, tt.rejected) && !(len(got) == 0 && len(tt.rejected) == 0) {
				t.Errorf("rejected = %v, want %v", got, tt.rejected)
			}
			if len(acc)+len(rej) != len(all) {
				t.Errorf("%d accepted + %d rejected != %d", len(acc), len(rej), len(all))
			}
		})
	}
}

// TestDetectBinarySupport asks the installed tor, which (0.4.9, Debian
// build) knows every hardening option and has the pow module.
func TestDetectBinarySupport(t *testing.T) {
	tortest.Require(t)
	sup, err := detectBinarySupport(context.Background(), "tor")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range hardeningOptions(DefaultConfig()) {
		if !sup.options[o.name] {
			t.Errorf("tor --list-torrc-options lacks %s", o.name)
		}
	}
	if sup.modules == nil || !sup.modules["pow"] {
		t.Errorf("modules = %v, want pow: yes", sup.modules)
	}
	if _, err := detectBinarySupport(context.Background(), "/bin/true"); !isConfigErr(err, "tor.binary") {
		t.Errorf("detect on /bin/true: %v, want a tor.binary error", err)
	}
}

func TestAddOnionCommand(t *testing.T) {
	k := &onionKey{}
	cfg := DefaultConfig()
	cfg.Target = "/run/irc.sock"
	sup := torSupport{options: map[string]bool{OptMaxStreams: true, OptMaxStreamsCloseCircuit: true,
		OptPoWDefensesEnabled: true, OptPoWQueueRate: true, OptPoWQueueBurst: true}}
	acc, _ := filterOptions(hardeningOptions(cfg), sup)
	got := addOnionCommand(k, cfg, acc)
	want := "ADD_ONION ED25519-V3:" + k.addOnionBlob() +
		" PoWDefensesEnabled=1 PoWQueueRate=250 PoWQueueBurst=2500 MaxStreams=8 Flags=MaxStreamsCloseCircuit Port=6667,unix:/run/irc.sock"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestWebPort: the web client's port is a second virtual port of the same
// onion service, forwarding to its own unix socket, in both modes.
func TestWebPort(t *testing.T) {
	web := []PortMap{{Port: 80, Target: "/run/thorchat/http.sock"}}
	torrc := embeddedTorrc(torrcParams{DataDir: "/d/tor", KeyDir: "/d/onion", Port: 6667,
		Target: "/run/thorchat/irc.sock", ExtraPorts: web})
	for _, want := range []string{"HiddenServicePort 6667 unix:/run/thorchat/irc.sock\n", "HiddenServicePort 80 unix:/run/thorchat/http.sock\n"} {
		if !strings.Contains(torrc, want) {
			t.Errorf("torrc lacks %q:\n%s", want, torrc)
		}
	}
	k := &onionKey{}
	cfg := DefaultConfig()
	cfg.Target = "/run/irc.sock"
	cfg.ExtraPorts = web
	if got := addOnionCommand(k, cfg, nil); !strings.HasSuffix(got, " Port=6667,unix:/run/irc.sock Port=80,unix:/run/thorchat/http.sock") {
		t.Errorf("ADD_ONION %s: want both ports", got)
	}
	for _, bad := range []PortMap{{Port: 6667, Target: "/run/h.sock"}, {Port: 0, Target: "/run/h.sock"}, {Port: 80, Target: "rel.sock"}} {
		cfg.ExtraPorts = []PortMap{bad}
		if err := cfg.validate(); err == nil {
			t.Errorf("%+v: accepted", bad)
		}
	}
}
