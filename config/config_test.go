package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestExampleConfigIsValidAndComplete(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("config.example.toml", raw)
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if !c.Listen.Onion || len(c.Listen.DevTCP) != 0 {
		t.Fatalf("example must publish the onion service and keep dev listeners off: %+v", c.Listen)
	}
	// every key of the Config struct is documented in the example
	// (written, or commented out as "# key =")
	text := string(raw)
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			tag := strings.Split(f.Tag.Get("toml"), ",")[0]
			if tag == "-" {
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
				ft = ft.Elem()
			}
			if f.Anonymous {
				walk(prefix, ft)
				continue
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(Duration{}) {
				walk(prefix+tag+".", ft)
				continue
			}
			if !strings.Contains(text, "\n"+tag+" =") && !strings.Contains(text, "# "+tag+" =") && !strings.Contains(text, "."+tag+"]") {
				t.Errorf("key %s%s is not documented in config.example.toml", prefix, tag)
			}
		}
	}
	walk("", reflect.TypeOf(Config{}))
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, toml string
		key        string
		line       int
		msg        string
	}{
		{"non-loopback dev_tcp", "[listen]\ndev_tcp = [\"0.0.0.0:6667\"]\n", "listen.dev_tcp[0]", 2, "not a loopback"},
		{"public ipv6 dev_tcp", "[listen]\ndev_tcp = [\"127.0.0.1:1\", \"[2001:db8::1]:6667\"]\n", "listen.dev_tcp[1]", 2, "not a loopback"},
		{"hostname dev_tcp", "[listen]\ndev_tcp = [\"example.com:6667\"]\n", "listen.dev_tcp[0]", 2, "not a loopback"},
		{"unknown key", "[server]\nnmae = \"x\"\n", "server.nmae", 2, "unknown key"},
		{"unknown table", "\n[sever]\nname = \"x.y\"\n", "sever", 0, "unknown key"},
		{"bad tor mode", "[tor]\nmode = \"bridge\"\n", "tor.mode", 2, "embedded"},
		{"bad duration", "[limits]\nping_interval = \"often\"\n", "", 0, "duration"},
		{"limit out of range", "[limits]\n\nnick_len = 500\n", "limits.nick_len", 3, "between"},
		{"bad server name", "[server]\nname = \"no spaces allowed\"\n", "server.name", 2, "host-like"},
		{"bad flood", "[flood]\nburst = 0\n", "flood", 1, "burst"},
		{"negative key cache", "[accounts]\nkey_cache = -1\n", "accounts.key_cache", 2, "0..1000000"},
		{"bad channel", "[[channel]]\nname = \"nohash\"\n", "channel[0].name", 0, "invalid channel"},
		{"bidi in channel name", "[[channel]]\nname = \"#node\u202eoperators\"\n", "channel[0].name", 0, "bidi control"},
		{"zero-width in channel name", "[[channel]]\nname = \"#node\u200boperators\"\n", "channel[0].name", 0, "invisible"},
		{"look-alike channels", "[[channel]]\nname = \"#node-operators\"\n[[channel]]\nname = \"#n\u043ede-operators\"\n", "channel[1].name", 0, "looks like"},
		{"chanserv limit", "[chanserv]\nmax_per_account = 0\n", "chanserv.max_per_account", 2, "between"},
		{"bad speak", "[[channel]]\nname = \"#a\"\nspeak = \"all\"\n", "channel[0].speak", 0, "operators"},
		{"syntax", "[server]\nname = x\"\n", "", 2, "expected"},
		{"whowas length", "[whowas]\nlength = 0\n", "whowas.length", 2, "between 1 and 100000"},
		{"whowas ttl", "[whowas]\nttl = \"0s\"\n", "whowas.ttl", 2, "between 1s and 720h"},
		{"no oper rate", "[opers]\noper_rate = 0.0\n", "opers.oper_rate", 2, "per minute"},
		{"no oper slots", "[opers]\noper_slots = 0\n", "opers.oper_slots", 2, "between"},
		{"bad oper class", "[opers]\noper_classes = [\"everyone\"]\n", "opers.oper_classes[0]", 2, "user"},
		{"non-loopback web dev_tcp", "[web]\ndev_tcp = [\"0.0.0.0:8080\"]\n", "web.dev_tcp[0]", 2, "not a loopback"},
		{"web port is the IRC port", "[web]\nonion_port = 6667\n", "web.onion_port", 2, "differ"},
		{"web port out of range", "[web]\nonion_port = 0\n", "web.onion_port", 2, "1..65535"},
		{"bad web channel", "[web]\ndefault_channels = [\"thorchat\"]\n", "web.default_channels[0]", 2, "invalid channel"},
		{"malformed oper hash", "[opers.passwords]\nadmin = \"$2a$12$short\"\n", "opers.passwords.admin", 0, "bcrypt"},
		{"negative history expire", "[history]\nexpire = \"-1h\"\n", "history.expire", 2, "negative"},
		{"negative private expire", "[history]\nprivate_expire = \"-1s\"\n", "history.private_expire", 2, "negative"},
		{"no history per target", "[history]\nmax_per_target = 0\n", "history.max_per_target", 2, "between 1 and"},
		{"history max_query 0", "[history]\nmax_query = 0\n", "history.max_query", 2, "between 1 and 10000"},
		{"history max_query too big", "[history]\nmax_query = 10001\n", "history.max_query", 2, "between 1 and 10000"},
		{"replay above max_query", "[history]\nmax_query = 10\nreplay_lines = 11\n", "history.replay_lines", 3, "max_query"},
		{"negative replay", "[history]\nreplay_lines = -1\n", "history.replay_lines", 2, "0 (off)"},
		{"unknown history key", "[history]\nreplay = 5\n", "history.replay", 2, "unknown key"},
		{"bad channel history", "[[channel]]\nname = \"#a\"\nhistory = \"all\"\n", "channel[0].history", 0, "joined"},
		{"multiline bytes", "[limits]\nmultiline_max_bytes = 70000\n", "limits.multiline_max_bytes", 2, "between 512 and 65536"},
		{"multiline lines", "[limits]\nmultiline_max_lines = 0\n", "limits.multiline_max_lines", 2, "between 2 and 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("test.toml", []byte(tt.toml))
			if err == nil {
				t.Fatal("accepted")
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("not a *config.Error: %v", err)
			}
			if ce.Key != tt.key || (tt.line != 0 && ce.Line != tt.line) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got key %q line %d: %v", ce.Key, ce.Line, err)
			}
			if tt.line != 0 && !strings.HasPrefix(err.Error(), "test.toml:") {
				t.Fatalf("message has no file:line: %v", err)
			}
		})
	}
}

func TestDefaultsAndDerivedPaths(t *testing.T) {
	c, err := Parse("t.toml", []byte("[server]\ndata_dir = \"/var/lib/thorchat\"\n[listen]\ndev_tcp = [\"127.0.0.1:6667\", \"[::1]:6667\", \"localhost:6668\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Path != "/var/lib/thorchat/thorchat.db" || c.Tor.DataDir != "/var/lib/thorchat/tor" ||
		c.Tor.KeyDir != "/var/lib/thorchat/onion" || c.Listen.OnionSocket != "/var/lib/thorchat/irc.sock" {
		t.Fatalf("derived paths: %+v %+v %+v", c.Store, c.Tor, c.Listen)
	}
	if c.Flood.Rate != 2 || c.Flood.Burst != 10 || c.Flood.Excess != 40 || c.Limits.NickLen != 32 {
		t.Fatalf("defaults: %+v %+v", c.Flood, c.Limits)
	}
	if !c.Web.Enabled || c.Web.OnionPort != 80 || len(c.Web.DevTCP) != 0 || c.Web.Socket != "/var/lib/thorchat/http.sock" ||
		len(c.Web.DefaultChannels) != 1 || c.Web.DefaultChannels[0] != "#thorchat" {
		t.Fatalf("web defaults: %+v", c.Web)
	}
	if c.Limits.PingInterval.Seconds() != 30 {
		t.Fatalf("ping interval %v", c.Limits.PingInterval)
	}
}

func TestDurationRoundTrip(t *testing.T) {
	var v struct{ D Duration }
	if _, err := toml.Decode(`D = "1m30s"`, &v); err != nil || v.D.Seconds() != 90 {
		t.Fatalf("%v %v", v.D, err)
	}
}

func TestHistoryConfig(t *testing.T) {
	tests := []struct {
		name, toml string
		want       History
		chans      []string
	}{
		{"defaults", "", History{Enabled: true, Expire: Duration{720 * time.Hour}, MaxPerTarget: 100000,
			PrivateExpire: Duration{168 * time.Hour}, ReplayLines: 20, MaxQuery: 100, Queue: 16384}, nil},
		{"set", "[history]\nenabled = false\nexpire = \"0s\"\nmax_per_target = 5\nprivate = true\n" +
			"private_expire = \"1h\"\nreplay_lines = 0\nmax_query = 5\nqueue = 64\n" +
			"[[channel]]\nname = \"#w\"\nhistory = \"world\"\n[[channel]]\nname = \"#j\"\nhistory = \"joined\"\n" +
			"[[channel]]\nname = \"#o\"\nhistory = \"off\"\n[[channel]]\nname = \"#d\"\n",
			History{Expire: Duration{0}, MaxPerTarget: 5, Private: true, PrivateExpire: Duration{time.Hour}, MaxQuery: 5, Queue: 64},
			[]string{HistoryWorld, HistoryJoined, HistoryOff, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("t.toml", []byte(tt.toml))
			if err != nil {
				t.Fatal(err)
			}
			if c.History != tt.want {
				t.Fatalf("history %+v, want %+v", c.History, tt.want)
			}
			var got []string
			for _, ch := range c.Channels {
				got = append(got, ch.History)
			}
			if !reflect.DeepEqual(got, tt.chans) {
				t.Fatalf("channel policies %q, want %q", got, tt.chans)
			}
			if tt.name == "defaults" && (c.Limits.MultilineMaxBytes != 4096 || c.Limits.MultilineMaxLines != 24) {
				t.Fatalf("multiline defaults %d %d", c.Limits.MultilineMaxBytes, c.Limits.MultilineMaxLines)
			}
		})
	}
}
