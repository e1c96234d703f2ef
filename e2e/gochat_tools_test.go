package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cretz/bine/control"
	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/client"
	"github.com/thorchat/thorchat/torsvc/tortest"
)

// enrollBudget bounds one run of thorchat enroll (a login through Tor and
// a few NickServ round trips).
const enrollBudget = 90 * time.Second

// goChatTools are the CLI and the example bot, built for one test.
type goChatTools struct {
	thorchat, bot string
}

// buildGoChatTools builds ./cmd/thorchat and ./cmd/thorchat-bot into the
// test's temporary directory (with -race when the test binary has it).
func buildGoChatTools(t *testing.T) goChatTools {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	defer func() { t.Logf("TIMING build thorchat and thorchat-bot: %.1fs", time.Since(start).Seconds()) }()
	dir := t.TempDir()
	tools := goChatTools{thorchat: filepath.Join(dir, "thorchat"), bot: filepath.Join(dir, "thorchat-bot")}
	for _, b := range []struct{ out, pkg string }{{tools.thorchat, "./cmd/thorchat"}, {tools.bot, "./cmd/thorchat-bot"}} {
		args := []string{"build", "-o", b.out}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, b.pkg)...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return tools
}

// cli runs the thorchat CLI, bounded, and returns its standard output;
// a non-zero exit fails the test with its standard error.
func (g goChatTools) cli(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := g.cliResult(args...)
	if err != nil {
		t.Fatalf("thorchat %s: %v\nstderr:\n%s", strings.Join(redactArgs(args), " "), err, errOut)
	}
	return out
}

// cliResult runs the thorchat CLI, bounded by enrollBudget.
func (g goChatTools) cliResult(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), enrollBudget)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.thorchat, args...)
	cmd.Env = append(baseEnv(), "GORACE=atexit_sleep_ms=0")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// redactArgs hides key material in a command line quoted in a failure.
func redactArgs(args []string) []string {
	out := append([]string(nil), args...)
	for i := range out {
		if strings.HasPrefix(out[i], "thc_") {
			out[i] = "thc_…"
		}
	}
	return out
}

// keygen makes a node key with the CLI and returns its path and account.
func (g goChatTools) keygen(t *testing.T, name string) (path, account string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), name+".key")
	out := g.cli(t, "keygen", "-out", path)
	m := regexp.MustCompile(`(?m)^account  (thor1[a-z0-9]+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("thorchat keygen printed no account:\n%s", out)
	}
	return path, m[1]
}

// enrollment is the parsed output of thorchat enroll.
type enrollment struct {
	Account string
	// Sections maps a client ("weechat", "irssi", "bot") to its header
	// line and the lines under it.
	Sections map[string][]string
	Raw      string
}

// enroll runs thorchat enroll with args and parses what it printed.
func (g goChatTools) enroll(t *testing.T, args ...string) enrollment {
	t.Helper()
	start := time.Now()
	out := g.cli(t, append([]string{"enroll"}, args...)...)
	t.Logf("TIMING thorchat enroll: %.1fs", time.Since(start).Seconds())
	return parseEnrollment(t, out)
}

func parseEnrollment(t *testing.T, out string) enrollment {
	t.Helper()
	e := enrollment{Sections: map[string][]string{}, Raw: out}
	cur := ""
	for l := range strings.SplitSeq(out, "\n") {
		switch {
		case strings.HasPrefix(l, "account "):
			e.Account = strings.TrimPrefix(l, "account ")
		case strings.HasPrefix(l, "== "):
			cur, _, _ = strings.Cut(strings.TrimPrefix(l, "== "), " ")
			cur = strings.TrimRight(cur, ":")
			e.Sections[cur] = []string{l}
		case l == "":
			cur = ""
		case cur != "":
			e.Sections[cur] = append(e.Sections[cur], l)
		}
	}
	if !strings.HasPrefix(e.Account, "thor1") {
		t.Fatalf("thorchat enroll printed no account:\n%s", out)
	}
	return e
}

// commands are the lines of a section to type into the client.
func (e enrollment) commands(t *testing.T, client string) []string {
	t.Helper()
	var out []string
	for _, l := range e.Sections[client] {
		if strings.HasPrefix(l, "/") {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		t.Fatalf("thorchat enroll printed no %s set-up:\n%s", client, e.Raw)
	}
	return out
}

// irssiStart is the command the irssi section says to start irssi with,
// without the final "irssi" (e.g. ["torsocks", "-a", "127.0.0.1", "-P",
// "9050"]).
func (e enrollment) irssiStart(t *testing.T) []string {
	t.Helper()
	sec := e.Sections["irssi"]
	if len(sec) == 0 {
		t.Fatalf("no irssi set-up:\n%s", e.Raw)
	}
	m := regexp.MustCompile(`start it as: (.*?), then type`).FindStringSubmatch(sec[0])
	if m == nil {
		t.Fatalf("irssi header %q names no start command", sec[0])
	}
	f := strings.Fields(m[1])
	if len(f) == 0 || f[len(f)-1] != "irssi" {
		t.Fatalf("irssi start command %q does not end in irssi", m[1])
	}
	return f[:len(f)-1]
}

// botArgs are the arguments of the printed thorchat-bot command line, with
// '#CHANNEL' replaced by channel.
func (e enrollment) botArgs(t *testing.T, channel string) []string {
	t.Helper()
	for _, l := range e.Sections["bot"] {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "thorchat-bot" {
			args := f[1:]
			for i, a := range args {
				if a == "'#CHANNEL'" {
					args[i] = channel
				}
			}
			return args
		}
	}
	t.Fatalf("no thorchat-bot command line:\n%s", e.Raw)
	return nil
}

// weechatKeyPath is the sasl_key the weechat set-up names.
func (e enrollment) weechatKeyPath(t *testing.T) string {
	t.Helper()
	for _, l := range e.commands(t, "weechat") {
		if _, v, ok := strings.Cut(l, ".sasl_key "); ok {
			return v
		}
	}
	t.Fatalf("no sasl_key in the weechat set-up:\n%s", e.Raw)
	return ""
}

// token is the PLAIN token the irssi set-up carries.
func (e enrollment) token(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`-sasl_password (thc_\S+)`).FindStringSubmatch(strings.Join(e.Sections["irssi"], "\n"))
	if m == nil {
		t.Fatalf("no token in the irssi set-up")
	}
	return m[1]
}

// startBot runs the example bot with args; a cleanup stops it by PID and
// fails the test unless it exits 0 (under -race: without a race report).
func (g goChatTools) startBot(t *testing.T, name string, args ...string) *process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logOnFailure(t, name+" log", logPath)
	p := startProcess(t, name, logPath, []string{"GORACE=atexit_sleep_ms=0"}, append([]string{g.bot}, args...)...)
	t.Cleanup(func() {
		if _, killed := p.stop(10 * time.Second); killed {
			t.Errorf("%s did not exit within 10s of SIGTERM", name)
		} else if code := p.exitCode(); code != 0 {
			t.Errorf("%s exited with %v, want 0 after SIGTERM", name, p.waitErr)
		}
	})
	return p
}

// expectAccount asks the server (WHOIS) which account nick is logged in as.
func (c *rawClient) expectAccount(nick, account string) {
	c.t.Helper()
	c.send("WHOIS " + nick)
	c.expect(fmt.Sprintf("WHOIS %s: logged in as %s", nick, account), func(m *irc.Message) bool {
		if m.Command == "318" && strings.EqualFold(m.Param(1), nick) {
			c.t.Fatalf("WHOIS %s ended without 330: not logged in as %s", nick, account)
		}
		return m.Command == "330" && strings.EqualFold(m.Param(1), nick) && m.Param(2) == account
	})
}

// deviceLoginOver logs in on conn with ECDSA-NIST256P-CHALLENGE, as
// weechat does (authcid NUL authzid, then a DER signature over the
// challenge), and returns the final numeric: 903, or 904 when refused.
func deviceLoginOver(t *testing.T, conn net.Conn, account string, k *ecdsa.PrivateKey) string {
	t.Helper()
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(attemptBudget)); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "CAP REQ :sasl\r\nNICK devcheck%d\r\nUSER dev 0 * :dev\r\nAUTHENTICATE %s\r\n", time.Now().UnixNano()%10000, client.MechECDSA)
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 4096), maxLineBytes)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 2 && f[0] == "AUTHENTICATE" && f[1] == "+":
			fmt.Fprintf(conn, "AUTHENTICATE %s\r\n", base64.StdEncoding.EncodeToString([]byte(account+"\x00"+account)))
		case len(f) >= 2 && f[0] == "AUTHENTICATE":
			ch, err := base64.StdEncoding.DecodeString(f[1])
			if err != nil {
				t.Fatalf("challenge %q: %v", f[1], err)
			}
			sig, err := client.SignDeviceChallenge(k, ch)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "AUTHENTICATE %s\r\n", base64.StdEncoding.EncodeToString(sig))
		case len(f) >= 2 && (f[1] == "903" || f[1] == "904"):
			return f[1]
		}
	}
	t.Fatalf("device login: no 903/904: %v", sc.Err())
	return ""
}

// plainLoginOver logs in with a PLAIN token through dial and returns the
// SASL error code ("" when logged in as account).
func plainLoginOver(t *testing.T, dial func(ctx context.Context, network, addr string) (net.Conn, error), addr, account, token string) string {
	t.Helper()
	c, err := client.Dial(context.Background(), client.Config{
		Addr: addr, Dial: dial, Mechanism: "PLAIN", PlainUser: account, PlainPass: token, Timeout: attemptBudget,
	})
	if err != nil {
		if se, ok := err.(*client.SASLError); ok {
			return se.Code
		}
		t.Fatalf("PLAIN login: %v", err)
	}
	defer c.Close()
	if c.Account() != account {
		t.Fatalf("PLAIN login as %q, want %q", c.Account(), account)
	}
	return ""
}

// writeTorsocksConf writes a torsocks.conf that sends everything to the
// SOCKS port at socksAddr and maps onion names into 127.42.42.0/24, and
// returns its path (for TORSOCKS_CONF_FILE).
func writeTorsocksConf(t *testing.T, socksAddr string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(socksAddr)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "torsocks.conf")
	conf := fmt.Sprintf("TorAddress %s\nTorPort %s\nOnionAddrRange 127.42.42.0/24\n", host, port)
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mapAddressRE finds the MapAddress line an irssi set-up asks for.
var mapAddressRE = regexp.MustCompile(`MapAddress (\S+) (\S+\.onion)`)

// irssiMapAddress is the "MapAddress FROM ONION" torrc line the irssi
// set-up asks to add, or nil.
func (e enrollment) irssiMapAddress() []string {
	for _, l := range e.Sections["irssi"] {
		if m := mapAddressRE.FindStringSubmatch(l); m != nil {
			return m[1:]
		}
	}
	return nil
}

// torSetMapAddress sets the torrc option "MapAddress from to" on the
// network's client tor through its control port (SETCONF: what adding the
// line to torrc and reloading does).
func torSetMapAddress(t *testing.T, n *tortest.Network, from, to string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var nd net.Dialer
	raw, err := nd.DialContext(ctx, "tcp", n.ControlAddr)
	if err != nil {
		t.Fatalf("dial control %s: %v", n.ControlAddr, err)
	}
	defer raw.Close()
	dl, _ := ctx.Deadline()
	_ = raw.SetDeadline(dl)
	c := control.NewConn(textproto.NewConn(raw))
	if err := c.Authenticate(""); err != nil {
		t.Fatalf("control authenticate: %v", err)
	}
	if err := c.SetConf(control.KeyVals("MapAddress", from+" "+to)...); err != nil {
		t.Fatalf("SETCONF MapAddress: %v", err)
	}
}
