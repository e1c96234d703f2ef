package tortest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recordTB records how Require ended the test instead of ending it.
type recordTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordTB) Helper()           {}
func (r *recordTB) Skip(args ...any)  { r.skipped = strings.TrimSpace(fmtArgs(args)) }
func (r *recordTB) Fatal(args ...any) { r.failed = strings.TrimSpace(fmtArgs(args)) }
func fmtArgs(args []any) (s string) {
	for _, a := range args {
		s += a.(string) + " "
	}
	return s
}

func TestRequire(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		name, path, env string
		skip, fail      bool
	}{
		{"tor missing: skip", empty, "", true, false},
		{"tor missing, CI: fail", empty, "1", false, true},
		{"tor missing, env 0: skip", empty, "0", true, false},
		{"tor installed", os.Getenv("PATH"), "1", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.skip && !tt.fail {
				Require(t) // this case needs tor: skip, or fail under CI
			}
			t.Setenv("PATH", tt.path)
			t.Setenv(RequireEnv, tt.env)
			r := &recordTB{TB: t}
			Require(r)
			if (r.skipped != "") != tt.skip || (r.failed != "") != tt.fail {
				t.Fatalf("skipped %q, failed %q; want skip=%v fail=%v", r.skipped, r.failed, tt.skip, tt.fail)
			}
			for _, msg := range []string{r.skipped, r.failed} {
				if msg != "" && !strings.Contains(msg, "tor not installed: apt-get install -y tor") {
					t.Errorf("message %q lacks the install hint", msg)
				}
			}
		})
	}
}

func TestTorrcs(t *testing.T) {
	auths := []authority{
		{name: "auth0", orPort: 5000, dirPort: 5001, v3ident: "AAAA", relayFP: "BBBB"},
		{name: "auth1", orPort: 5002, dirPort: 5003, v3ident: "CCCC", relayFP: "DDDD"},
	}
	snip := snippet(auths)
	tests := []struct {
		name      string
		got       string
		want      []string
		forbidden []string
	}{
		{"snippet", snip, []string{
			"TestingTorNetwork 1",
			"DirAuthority auth0 orport=5000 v3ident=AAAA 127.0.0.1:5001 BBBB",
			"DirAuthority auth1 orport=5002 v3ident=CCCC 127.0.0.1:5003 DDDD",
			"UseDefaultFallbackDirs 0",
		}, []string{"0.0.0.0"}},
		{"authority", nodeTorrc(nodeAuthority, "auth0", "/n/auth0", "/n/snippet.torrc", torrcNode{orPort: 5000, dirPort: 5001}, 9), []string{
			"DataDirectory /n/auth0",
			"__OwningControllerProcess 9",
			"%include /n/snippet.torrc",
			"ORPort 127.0.0.1:5000",
			"ExitPolicy reject *:*",
			"DirPort 127.0.0.1:5001",
			"V3AuthoritativeDirectory 1",
			"TestingDirAuthVoteHSDir *",
		}, []string{"DisableNetwork", "SocksPort 127"}},
		{"relay", nodeTorrc(nodeRelay, "relay0", "/n/relay0", "/n/s", torrcNode{orPort: 5004}, 9), []string{
			"ORPort 127.0.0.1:5004", "AssumeReachable 1",
		}, []string{"DirPort", "Authoritative", "DisableNetwork"}},
		{"client", nodeTorrc(nodeClient, "client", "/n/client", "/n/s", torrcNode{socksPort: 5005}, 9), []string{
			"DisableNetwork 1",
			"SocksPort 127.0.0.1:5005 ExtendedErrors",
			"ControlPort auto",
			"ControlPortWriteToFile /n/client/control.port",
			"CookieAuthentication 1",
		}, []string{"ORPort", "DirPort"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := strings.Split(tt.got, "\n")
			at := 0
			for _, w := range tt.want {
				i := indexOf(lines[at:], w)
				if i < 0 {
					t.Fatalf("line %q missing or out of order in:\n%s", w, tt.got)
				}
				at += i + 1
			}
			for _, f := range tt.forbidden {
				if strings.Contains(tt.got, f) {
					t.Errorf("contains %q:\n%s", f, tt.got)
				}
			}
		})
	}
}

func indexOf(lines []string, s string) int {
	for i, l := range lines {
		if l == s {
			return i
		}
	}
	return -1
}

func TestCountLinesAndPhase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "consensus")
	body := "network-status-version 3 microdesc\nr a\ns Fast Guard HSDir Running\nr b\ns Fast Running\nr c\ns HSDir\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		prefix string
		words  []string
		want   int
	}{
		{"r ", nil, 3}, {"s ", []string{"HSDir"}, 2}, {"s ", []string{"HSDir", "Guard"}, 1}, {"x ", nil, 0},
	} {
		if got := countLines(path, tt.prefix, tt.words...); got != tt.want {
			t.Errorf("countLines(%q, %v) = %d, want %d", tt.prefix, tt.words, got, tt.want)
		}
	}
	if got := countLines(filepath.Join(t.TempDir(), "missing"), "r "); got != 0 {
		t.Errorf("missing file counted %d", got)
	}
	for _, tt := range []struct{ in, progress, summary string }{
		{`NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"`, "100", "Done"},
		{`NOTICE BOOTSTRAP PROGRESS=30 TAG=loading_status SUMMARY="Loading networkstatus consensus"`, "30", "Loading networkstatus consensus"},
		{`garbage`, "", ""},
	} {
		p, s := bootstrapPhase(tt.in)
		if p != tt.progress || s != tt.summary {
			t.Errorf("bootstrapPhase(%q) = %q %q", tt.in, p, s)
		}
	}
}

func TestReservePortsDistinct(t *testing.T) {
	ps, err := reservePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.release()
	seen := map[int]bool{}
	for i := range 20 {
		p := ps.port(i)
		if p <= 0 || seen[p] {
			t.Fatalf("port %d repeated or invalid", p)
		}
		seen[p] = true
	}
}
