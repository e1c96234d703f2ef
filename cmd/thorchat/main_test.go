package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/thorchat/thorchat/client"
	"github.com/thorchat/thorchat/client/clienttest"
	"github.com/thorchat/thorchat/identity"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/sasl"
)

// The test binary doubles as a -sign-cmd (THORCHAT_TEST_SIGNER=good or
// wrongkey, key in THORCHAT_TEST_KEY).
func TestMain(m *testing.M) {
	if mode := os.Getenv("THORCHAT_TEST_SIGNER"); mode != "" {
		os.Exit(testSigner(mode))
	}
	if os.Getenv("THORCHAT_TEST_CLI") == "1" { // the CLI itself, e.g. thorchat sign
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func testSigner(mode string) int {
	raw, err := hex.DecodeString(os.Getenv("THORCHAT_TEST_KEY"))
	if err != nil || len(raw) != 32 {
		return 2
	}
	key := secp256k1.PrivKeyFromBytes(raw)
	if os.Getenv("THORCHAT_SIGN") == "pubkey" {
		fmt.Printf("%x\n", key.PubKey().SerializeCompressed())
		return 0
	}
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	msg, err := hex.DecodeString(strings.TrimSpace(line))
	if err != nil {
		return 2
	}
	if mode == "wrongkey" {
		key = secp256k1.PrivKeyFromBytes(raw[:31])
	}
	fmt.Printf("%x\n", sasl.Sign(key, msg))
	return 0
}

func signCmd(t *testing.T, mode, keyHex string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// GORACE drops the race detector's 1 s pause at exit.
	return fmt.Sprintf("exec env GORACE=atexit_sleep_ms=0 THORCHAT_TEST_SIGNER=%s THORCHAT_TEST_KEY=%s '%s'", mode, keyHex, exe)
}

// cliCmd is a shell command that runs this CLI (the test binary) with
// args, each single-quoted.
func cliCmd(t *testing.T, args ...string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := fmt.Sprintf("exec env GORACE=atexit_sleep_ms=0 THORCHAT_TEST_CLI=1 '%s'", exe)
	for _, a := range args {
		cmd += " '" + a + "'"
	}
	return cmd
}

// runCLI runs the CLI and returns its exit code and output.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// keygen makes a key file and returns its path, key hex and account.
func keygen(t *testing.T) (path, keyHex, account string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "key")
	code, out, errOut := runCLI("keygen", "-out", path)
	if code != 0 {
		t.Fatalf("keygen: %d %s", code, errOut)
	}
	k, err := client.LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	account, err = identity.AccountAddress("thor", k.PubKey().SerializeCompressed())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "account  "+account+"\n") {
		t.Fatalf("keygen printed %q, want account %s", out, account)
	}
	return path, hex.EncodeToString(k.Serialize()), account
}

func TestKeygenWhoami(t *testing.T) {
	path, keyHex, account := keygen(t)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	k, _ := hex.DecodeString(keyHex)
	pub := secp256k1.PrivKeyFromBytes(k).PubKey().SerializeCompressed()
	want := fmt.Sprintf("pubkey   %x\nthorpub  %s\naccount  %s\n", pub, identity.EncodePubKey("thorpub", pub), account)

	code, out, errOut := runCLI("whoami", "-key", path)
	if code != 0 || out != want {
		t.Fatalf("whoami -key: %d %q %q; want %q", code, out, errOut, want)
	}
	code, out, errOut = runCLI("whoami", "-sign-cmd", signCmd(t, "good", keyHex))
	if code != 0 || out != want {
		t.Fatalf("whoami -sign-cmd: %d %q %q; want %q", code, out, errOut, want)
	}

	before, _ := os.ReadFile(path)
	code, _, errOut = runCLI("keygen", "-out", path)
	after, _ := os.ReadFile(path)
	if code != 1 || !strings.Contains(errOut, "refusing to overwrite") || !bytes.Equal(before, after) {
		t.Fatalf("keygen over an existing file: %d %q", code, errOut)
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI("whoami", "-key", path)
	if code != 1 || !strings.Contains(errOut, "chmod 600") {
		t.Fatalf("whoami with a 0644 key: %d %q", code, errOut)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage:"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"help"}, 0, ""},
		{[]string{"keygen"}, 2, "-out FILE is required"},
		{[]string{"whoami"}, 2, "-key FILE or -sign-cmd CMD is required"},
		{[]string{"whoami", "-key", "a", "-sign-cmd", "b"}, 2, "not both"},
		{[]string{"login", "-key", "a"}, 2, "-addr HOST:PORT is required"},
		{[]string{"login", "-key", "a", "-addr", "x:1", "-port", "70000"}, 2, "not in 0..65535"},
		{[]string{"login", "-bogus"}, 2, "flag provided but not defined"},
		{[]string{"login", "-key", "a", "-addr", "x:1", "extra"}, 2, "unexpected argument"},
	}
	for _, tc := range tests {
		code, _, errOut := runCLI(tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: %d %q; want %d %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

func TestLogin(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	path, keyHex, account := keygen(t)
	port := fmt.Sprint(srv.Port)
	tests := []struct {
		name    string
		args    []string
		code    int
		stdout  string
		stderrs []string
	}{
		{"key", []string{"-key", path}, 0, account + "\n", nil},
		{"sign-cmd", []string{"-sign-cmd", signCmd(t, "good", keyHex)}, 0, account + "\n", nil},
		{"thorchat sign", []string{"-sign-cmd", cliCmd(t, "sign", "-key", path)}, 0, account + "\n", nil},
		{"thorchat sign for this host", []string{"-sign-cmd", cliCmd(t, "sign", "-key", path, "-host", "127.0.0.1")}, 0, account + "\n", nil},
		{"thorchat sign for other hosts", []string{"-sign-cmd", cliCmd(t, "sign", "-key", path, "-host", "x.onion")}, 1, "", []string{`host "127.0.0.1" is not one this signer signs for`}},
		{"explicit host and port", []string{"-key", path, "-host", "127.0.0.1", "-port", port, "-nick", "me"}, 0, account + "\n", nil},
		{"bad signer", []string{"-sign-cmd", signCmd(t, "wrongkey", keyHex)}, 1, "", []string{"does not verify against its public key"}},
		{"wrong host", []string{"-key", path, "-host", "wrong.example"}, 1, "", []string{"904 SASL authentication failed", `host "wrong.example"`}},
		{"wrong port", []string{"-key", path, "-port", "1"}, 1, "", []string{"904 ", "port 1;"}},
		{"missing key file", []string{"-key", path + ".nope"}, 1, "", []string{"no such file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"login", "-addr", srv.Addr, "-timeout", "20s"}, tc.args...)
			code, out, errOut := runCLI(args...)
			if code != tc.code || out != tc.stdout {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q", code, out, errOut, tc.code, tc.stdout)
			}
			for _, w := range tc.stderrs {
				if !strings.Contains(errOut, w) {
					t.Fatalf("stderr %q lacks %q", errOut, w)
				}
			}
		})
	}
	// Refused by a closed port: a connection error, exit 1.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	if code, _, errOut := runCLI("login", "-key", path, "-addr", closed); code != 1 || !strings.Contains(errOut, "connect to") {
		t.Fatalf("closed port: %d %q", code, errOut)
	}
}

// TestLoginSocks logs in to an "onion" listener through a SOCKS5 proxy,
// as through Tor: the name goes to the proxy unresolved, and the
// signature binds the onion name and virtual port by default.
func TestLoginSocks(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	const onion = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeAs(ln, ircd.Listener{Kind: "onion", Host: onion, Port: 6667})
	px := startSocks(t, ln.Addr().String())
	path, _, account := keygen(t)

	code, out, errOut := runCLI("login", "-key", path, "-addr", onion+":6667", "-socks", px.addr(), "-timeout", "20s")
	if code != 0 || out != account+"\n" {
		t.Fatalf("login via socks: %d %q %q", code, out, errOut)
	}
	if got := px.requested(); len(got) != 1 || got[0] != onion+":6667" {
		t.Fatalf("proxy was asked for %q, want the onion name unresolved", got)
	}
	code, _, errOut = runCLI("login", "-key", path, "-addr", onion+":6667", "-port", "6668", "-socks", px.addr())
	if code != 1 || !strings.Contains(errOut, "904") {
		t.Fatalf("wrong virtual port: %d %q", code, errOut)
	}
}

// socks5 is a minimal SOCKS5 proxy (no auth, CONNECT to a domain name)
// that sends every connection to one upstream, recording the names asked.
type socks5 struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	names    []string
}

func startSocks(t *testing.T, upstream string) *socks5 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &socks5{ln: ln, upstream: upstream}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.handle(c)
		}
	}()
	return p
}

func (p *socks5) addr() string { return p.ln.Addr().String() }

func (p *socks5) requested() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.names...)
}

func (p *socks5) handle(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(r, hdr); err != nil || hdr[0] != 5 {
		return
	}
	if _, err := io.ReadFull(r, make([]byte, hdr[1])); err != nil {
		return
	}
	c.Write([]byte{5, 0})
	req := make([]byte, 4)
	if _, err := io.ReadFull(r, req); err != nil || req[1] != 1 || req[3] != 3 {
		c.Write([]byte{5, 8, 0, 1, 0, 0, 0, 0, 0, 0}) // only CONNECT to a name
		return
	}
	n, err := r.ReadByte()
	if err != nil {
		return
	}
	name := make([]byte, int(n)+2)
	if _, err := io.ReadFull(r, name); err != nil {
		return
	}
	port := binary.BigEndian.Uint16(name[n:])
	p.mu.Lock()
	p.names = append(p.names, fmt.Sprintf("%s:%d", name[:n], port))
	p.mu.Unlock()
	u, err := net.Dial("tcp", p.upstream)
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	defer u.Close()
	c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 0})
	go func() { io.Copy(u, r); u.Close() }()
	io.Copy(c, u)
}

func TestSignUsage(t *testing.T) {
	path, _, _ := keygen(t)
	tests := []struct {
		name string
		args []string
		env  string
		code int
		want string
	}{
		{"no key", []string{"sign"}, "pubkey", 2, "-key FILE is required"},
		{"no THORCHAT_SIGN", []string{"sign", "-key", path}, "", 2, "THORCHAT_SIGN is not set"},
		{"unknown operation", []string{"sign", "-key", path}, "decrypt", 1, "want pubkey or sign"},
		{"not a login message", []string{"sign", "-key", path}, "sign", 1, "sign request refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o, e bytes.Buffer
			getenv := func(k string) string {
				if k == client.EnvSign {
					return tt.env
				}
				return ""
			}
			code := cmdSign(tt.args[1:], strings.NewReader(hex.EncodeToString([]byte("hello"))), getenv, &o, &e)
			if code != tt.code || !strings.Contains(e.String(), tt.want) || o.Len() != 0 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d and %q", code, o.String(), e.String(), tt.code, tt.want)
			}
		})
	}
}
