package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/thorchat/thorchat/client"
	"github.com/thorchat/thorchat/client/clienttest"
	"github.com/thorchat/thorchat/ircd"
)

// setupSection returns the lines of the printed section whose header
// starts with "== "+name, up to the blank line.
func setupSection(out, name string) []string {
	var lines []string
	in := false
	for l := range strings.SplitSeq(out, "\n") {
		switch {
		case strings.HasPrefix(l, "== "+name):
			in = true
		case in && l == "":
			return lines
		case in:
			lines = append(lines, l)
		}
	}
	return lines
}

// deviceLogin logs in with ECDSA-NIST256P-CHALLENGE as weechat does and
// returns the final numeric (903 or 904).
func deviceLogin(t *testing.T, addr, account string, k *ecdsa.PrivateKey) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(15 * time.Second))
	fmt.Fprintf(nc, "CAP REQ :sasl\r\nNICK dev%d\r\nUSER dev 0 * :dev\r\nAUTHENTICATE %s\r\n", time.Now().UnixNano()%10000, client.MechECDSA)
	sc := bufio.NewScanner(nc)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 2 && f[0] == "AUTHENTICATE" && f[1] == "+":
			fmt.Fprintf(nc, "AUTHENTICATE %s\r\n", base64.StdEncoding.EncodeToString([]byte(account+"\x00"+account)))
		case len(f) >= 2 && f[0] == "AUTHENTICATE":
			ch, err := base64.StdEncoding.DecodeString(f[1])
			if err != nil {
				t.Fatalf("challenge %q: %v", f[1], err)
			}
			sig, err := client.SignDeviceChallenge(k, ch)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(nc, "AUTHENTICATE %s\r\n", base64.StdEncoding.EncodeToString(sig))
		case len(f) >= 2 && (f[1] == "903" || f[1] == "904"):
			return f[1]
		}
	}
	t.Fatalf("no SASL result: %v", sc.Err())
	return ""
}

func plainLogin(addr, account, token string) (string, error) {
	c, err := client.Dial(context.Background(), client.Config{Addr: addr, Mechanism: "PLAIN", PlainUser: account, PlainPass: token, Timeout: 10 * time.Second})
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.Account(), nil
}

var tokenRE = regexp.MustCompile(`-sasl_password (thc_[a-z2-7]+_[a-z2-7]+) `)

// TestEnroll enrols a new weechat key and a token, checks the printed
// set-ups and that both credentials log in, re-runs with the same key
// (nothing new enrolled), then revokes both.
func TestEnroll(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	keyPath, keyHex, account := keygen(t)
	wkey := filepath.Join(t.TempDir(), "weechat.pem")
	code, out, errOut := runCLI("enroll", "-key", keyPath, "-addr", srv.Addr, "-weechat-key", wkey,
		"-token", "irssi", "-nick", "alice", "-ttl", "30d", "-timeout", "20s")
	if code != 0 {
		t.Fatalf("enroll: %d %s", code, errOut)
	}
	if !strings.Contains(errOut, "wrote a new P-256 device key to "+wkey) {
		t.Errorf("stderr %q does not say the key file was written", errOut)
	}
	fi, err := os.Stat(wkey)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("weechat key: %v %v", fi, err)
	}
	dk, err := client.LoadDeviceKeyFile(wkey)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(srv.Addr)
	wantWeechat := []string{
		fmt.Sprintf("/server add thorchat %s/%s -notls -nossl", host, port),
		"/set irc.server.thorchat.nicks alice",
		"/set irc.server.thorchat.sasl_mechanism ecdsa-nist256p-challenge",
		"/set irc.server.thorchat.sasl_username " + account,
		"/set irc.server.thorchat.sasl_key " + wkey,
		"/connect thorchat",
	}
	if got := commands(setupSection(out, "weechat")); strings.Join(got, "\n") != strings.Join(wantWeechat, "\n") {
		t.Errorf("weechat set-up:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantWeechat, "\n"))
	}
	m := tokenRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no token in the output:\n%s", out)
	}
	token := m[1]
	wantIrssi := []string{
		fmt.Sprintf("/network add -sasl_mechanism PLAIN -sasl_username %s -sasl_password %s -nick alice thorchat", account, token),
		fmt.Sprintf("/server add -auto -notls -network thorchat %s %s", host, port),
		"/connect thorchat",
	}
	if got := commands(setupSection(out, "irssi")); strings.Join(got, "\n") != strings.Join(wantIrssi, "\n") {
		t.Errorf("irssi set-up:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantIrssi, "\n"))
	}
	if bot := setupSection(out, "bot"); len(bot) == 0 ||
		bot[0] != fmt.Sprintf("thorchat-bot -addr %s -token-user %s -token %s -channel '#CHANNEL'", srv.Addr, account, token) {
		t.Errorf("bot set-up: %q", bot)
	}
	if got := deviceLogin(t, srv.Addr, account, dk); got != "903" {
		t.Fatalf("login with the enrolled device key: %s", got)
	}
	if got, err := plainLogin(srv.Addr, account, token); err != nil || got != account {
		t.Fatalf("login with the token: %q %v", got, err)
	}

	// Again with the same key file, by -sign-cmd: nothing new, same set-up.
	code, out2, errOut := runCLI("enroll", "-sign-cmd", signCmd(t, "good", keyHex), "-addr", srv.Addr,
		"-weechat-key", wkey, "-list", "-timeout", "20s")
	if code != 0 || !strings.Contains(errOut, "enrolled already, as weechat") {
		t.Fatalf("second enroll: %d %q", code, errOut)
	}
	list := setupSection(out2, "credentials")
	if len(list) != 2 || !strings.HasPrefix(list[0], "irssi token created ") ||
		!strings.HasPrefix(list[1], "weechat device created ") || !strings.Contains(list[1], ", expires ") {
		t.Fatalf("credentials listed: %q", list)
	}
	if len(setupSection(out2, "irssi")) != 0 {
		t.Errorf("a run without -token printed an irssi set-up")
	}

	// A different key under a taken label is refused, with a hint.
	other := filepath.Join(t.TempDir(), "other.pem")
	code, _, errOut = runCLI("enroll", "-key", keyPath, "-addr", srv.Addr, "-weechat-key", other, "-timeout", "20s")
	if code != 1 || !strings.Contains(errOut, "exists") || !strings.Contains(errOut, "-label NAME") {
		t.Fatalf("enroll a second key as weechat: %d %q", code, errOut)
	}

	// Revoke both; the next logins are refused.
	for _, l := range []string{"weechat", "irssi"} {
		if code, _, errOut := runCLI("enroll", "-key", keyPath, "-addr", srv.Addr, "-revoke", l, "-timeout", "20s"); code != 0 {
			t.Fatalf("revoke %s: %d %q", l, code, errOut)
		}
	}
	if got := deviceLogin(t, srv.Addr, account, dk); got != "904" {
		t.Fatalf("login with a revoked device key: %s, want 904", got)
	}
	if _, err := plainLogin(srv.Addr, account, token); err == nil || !strings.Contains(err.Error(), "904") {
		t.Fatalf("login with a revoked token: %v, want 904", err)
	}
}

// commands keeps the lines that start with "/".
func commands(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, "/") {
			out = append(out, l)
		}
	}
	return out
}

// TestEnrollSocks enrols through a SOCKS5 proxy to an "onion" listener:
// the printed set-ups carry the proxy.
func TestEnrollSocks(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	const onion = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeAs(ln, ircd.Listener{Kind: "onion", Host: onion, Port: 6667})
	px := startSocks(t, ln.Addr().String())
	keyPath, _, account := keygen(t)
	wkey := filepath.Join(t.TempDir(), "w.pem")
	code, out, errOut := runCLI("enroll", "-key", keyPath, "-addr", onion+":6667", "-socks", px.addr(),
		"-weechat-key", wkey, "-token", "bot", "-timeout", "20s")
	if code != 0 {
		t.Fatalf("enroll via socks: %d %q", code, errOut)
	}
	sh, sp, _ := net.SplitHostPort(px.addr())
	wee := commands(setupSection(out, "weechat"))
	proxyRE := regexp.MustCompile(`^/proxy add thorchat-tor socks5 ` + regexp.QuoteMeta(sh+" "+sp) + ` (weechat-[0-9a-f]{8}) (weechat-[0-9a-f]{8})$`)
	if len(wee) < 2 || proxyRE.FindStringSubmatch(wee[0]) == nil ||
		wee[1] != "/server add thorchat "+onion+"/6667 -notls -nossl -proxy=thorchat-tor" {
		t.Errorf("weechat set-up through tor: %q", wee)
	}
	irssi := commands(setupSection(out, "irssi"))
	wantHeader := fmt.Sprintf("start it as: torsocks -i -a %s -P %s irssi", sh, sp)
	wantMap := fmt.Sprintf("echo 'MapAddress 10.40.40.40 %s' | sudo tee -a /etc/tor/torrc", onion)
	if !strings.Contains(out, wantHeader) || !strings.Contains(out, wantMap) || len(irssi) < 2 ||
		irssi[1] != "/server add -auto -notls -network thorchat 10.40.40.40 6667" {
		t.Errorf("irssi set-up through tor (want %q, %q):\n%s", wantHeader, wantMap, out)
	}
	if bot := setupSection(out, "bot"); len(bot) == 0 || !strings.Contains(bot[0], "-addr "+onion+":6667 -socks "+px.addr()+" -token-user "+account) {
		t.Errorf("bot set-up: %q", bot)
	}
}

func TestEnrollUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"enroll", "-key", "k"}, 2, "-addr HOST:PORT is required"},
		{[]string{"enroll", "-key", "k", "-addr", "x:1"}, 2, "nothing to do"},
		{[]string{"enroll", "-addr", "x:1", "-token", "t"}, 2, "-key FILE or -sign-cmd CMD is required"},
		{[]string{"enroll", "-key", "k", "-addr", "x:1", "-token", "bad label"}, 2, "labels are"},
		{[]string{"enroll", "-key", "k", "-addr", "x:1", "-token", "a", "-ttl", "soon"}, 2, "-ttl"},
		{[]string{"enroll", "-key", "k", "-addr", "x:1", "-token", "a", "-ttl", "0d"}, 2, "-ttl"},
		{[]string{"enroll", "-key", "k", "-addr", "x:1", "-token", "a", "-nick", "1bad"}, 2, "-nick"},
		{[]string{"enroll", "-key", "k", "-addr", "x:1", "-weechat-key", "w", "-token", "weechat"}, 2, "must differ"},
		{[]string{"enroll", "-key", "k", "-addr", "x:1", "-weechat-key", "w", "-label", ""}, 2, "-label"},
		{[]string{"enroll", "-key", "k", "-addr", "x:1", "-token", "a", "extra"}, 2, "unexpected argument"},
		{[]string{"enroll", "-key", "k", "-addr", "x:1", "-token", "a", "-port", "70000"}, 2, "not in 0..65535"},
		{[]string{"enroll", "-key", "/nonexistent/k", "-addr", "x:1", "-token", "a"}, 1, "no such file"},
		{[]string{"enroll", "-key", "k", "-addr", "x:1", "-token", "a", "-map-ip", "127.1.2.3"}, 2, "-map-ip"},
		{[]string{"enroll", "-key", "k", "-addr", "abc.onion:6667", "-token", "a"}, 2, "give -socks"},
		{[]string{"enroll", "-key", "k", "-addr", "x:1", "-token", "a", "-map-ip", "::1"}, 2, "-map-ip"},
	}
	for _, tc := range tests {
		code, _, errOut := runCLI(tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: %d %q; want %d %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

// TestEnrollRefused: a wrong signature binding is a 904 with the hint, and
// no key file is left half-made when the file cannot be written.
func TestEnrollRefused(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	keyPath, _, _ := keygen(t)
	code, _, errOut := runCLI("enroll", "-key", keyPath, "-addr", srv.Addr, "-host", "wrong.example", "-token", "a", "-timeout", "20s")
	if code != 1 || !strings.Contains(errOut, "904") || !strings.Contains(errOut, `host "wrong.example"`) {
		t.Fatalf("wrong host: %d %q", code, errOut)
	}
	bad := filepath.Join(t.TempDir(), "missing-dir", "w.pem")
	code, _, errOut = runCLI("enroll", "-key", keyPath, "-addr", srv.Addr, "-weechat-key", bad)
	if code != 1 || !strings.Contains(errOut, "no such file") {
		t.Fatalf("unwritable key path: %d %q", code, errOut)
	}
}

// TestEnrollUnix enrols over the daemon's unix socket (on the server's
// machine): no client set-up is printed, the credential works.
func TestEnrollUnix(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	dir, err := os.MkdirTemp("", "tcu")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "irc.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeUnix(ln, "irc.test")
	keyPath, _, account := keygen(t)
	wkey := filepath.Join(t.TempDir(), "w.pem")
	code, out, errOut := runCLI("enroll", "-key", keyPath, "-addr", "unix:"+sock, "-host", "irc.test", "-weechat-key", wkey, "-timeout", "20s")
	if code != 0 || !strings.Contains(out, "# enrolled over unix:") || strings.Contains(out, "== weechat") {
		t.Fatalf("enroll over unix: %d %q %q", code, out, errOut)
	}
	dk, err := client.LoadDeviceKeyFile(wkey)
	if err != nil {
		t.Fatal(err)
	}
	if got := deviceLogin(t, srv.Addr, account, dk); got != "903" {
		t.Fatalf("device login: %s", got)
	}
}
