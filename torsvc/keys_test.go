package torsvc

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/thorchat/thorchat/torsvc/tortest"
)

func TestOnionAddressFromKeyStable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "key")
	first, err := OnionAddressFromKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 62 || !strings.HasSuffix(first, ".onion") || strings.ToLower(first) != first {
		t.Fatalf("address %q is not a v3 onion address", first)
	}
	for range 3 {
		again, err := OnionAddressFromKey(dir)
		if err != nil || again != first {
			t.Fatalf("second call = %q, %v; want %q", again, err, first)
		}
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("key dir mode = %v, %v; want 0700", st.Mode(), err)
	}
	st, err = os.Stat(filepath.Join(dir, secretKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 || st.Size() != 96 {
		t.Fatalf("secret key = %v, %v; want 96 bytes 0600", st, err)
	}
	host, err := os.ReadFile(filepath.Join(dir, hostnameFile))
	if err != nil || string(host) != first+"\n" {
		t.Fatalf("hostname = %q, %v", host, err)
	}
	// another directory gives another address
	other, err := OnionAddressFromKey(filepath.Join(t.TempDir(), "key"))
	if err != nil || other == first {
		t.Fatalf("fresh key dir gave %q, %v", other, err)
	}
}

func TestOnionAddressFromKeyFixes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "key")
	addr, err := OnionAddressFromKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	// loose permissions are tightened, a lost hostname rewritten
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, secretKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, hostnameFile)); err != nil {
		t.Fatal(err)
	}
	if again, err := OnionAddressFromKey(dir); err != nil || again != addr {
		t.Fatalf("= %q, %v; want %q", again, err, addr)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", st.Mode().Perm())
	}
	if st, _ := os.Stat(filepath.Join(dir, secretKeyFile)); st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", st.Mode().Perm())
	}
}

func TestOnionAddressFromKeyRejects(t *testing.T) {
	good := make([]byte, 96)
	copy(good, secretKeyHeader)
	good[32+31] = 0x40 // clamped scalar
	tests := []struct {
		name   string
		secret []byte
		public []byte
	}{
		{"truncated key", good[:95], nil},
		{"wrong header", append([]byte("== something else =="), make([]byte, 76)...), nil},
		{"unclamped scalar", func() []byte { b := bytes.Clone(good); b[32] = 7; return b }(), nil},
		{"mismatched public key", good, append(bytes.Clone(publicKeyHeader), make([]byte, 32)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, secretKeyFile), tt.secret, 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.public != nil {
				if err := os.WriteFile(filepath.Join(dir, publicKeyFile), tt.public, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if addr, err := OnionAddressFromKey(dir); !isConfigErr(err, "tor.key_dir") {
				t.Fatalf("= %q, %v; want a tor.key_dir error", addr, err)
			}
		})
	}
}

// TestServiceIDKnownAnswer uses the vector of tor's own unit test
// (test_hs_common.c, test_build_address): the RFC 8032 test 1 public key.
func TestServiceIDKnownAnswer(t *testing.T) {
	pub, err := hex.DecodeString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
	if err != nil {
		t.Fatal(err)
	}
	const want = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid"
	if got := serviceIDFromPublic(pub); got != want {
		t.Fatalf("serviceIDFromPublic = %s, want %s", got, want)
	}
}

// TestOnionAddressMatchesTor runs tor on a key made by OnionAddressFromKey
// and on a key made by tor, and checks tor's hostname file agrees both ways.
func TestOnionAddressMatchesTor(t *testing.T) {
	tortest.Require(t)
	ours := filepath.Join(shortDir(t), "key")
	want, err := OnionAddressFromKey(ours)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(ours, hostnameFile)); err != nil {
		t.Fatal(err)
	}
	theirs := filepath.Join(shortDir(t), "key")
	runTorOnKey(t, ours)
	runTorOnKey(t, theirs)
	if got := readHostname(t, ours); got != want {
		t.Errorf("tor says our key is %s, OnionAddressFromKey said %s", got, want)
	}
	torMade := readHostname(t, theirs)
	if got, err := OnionAddressFromKey(theirs); err != nil || got != torMade {
		t.Errorf("OnionAddressFromKey(tor's key) = %s, %v; tor says %s", got, err, torMade)
	}
}

// runTorOnKey starts tor offline with HiddenServiceDir keyDir until it wrote
// the hostname file.
func runTorOnKey(t *testing.T, keyDir string) {
	t.Helper()
	data := shortDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "tor", "--defaults-torrc", os.DevNull, "--ignore-missing-torrc", "-f", os.DevNull,
		"--DataDirectory", data, "--DisableNetwork", "1", "--SocksPort", "0",
		"--GeoIPFile", "", "--GeoIPv6File", "", "--Log", "err stdout",
		"--HiddenServiceDir", keyDir, "--HiddenServicePort", "6667 unix:"+filepath.Join(data, "x.sock"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	for {
		if _, err := os.Stat(filepath.Join(keyDir, hostnameFile)); err == nil {
			time.Sleep(100 * time.Millisecond) // let tor finish the write
			return
		}
		if ctx.Err() != nil {
			t.Fatal("tor wrote no hostname file")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readHostname(t *testing.T, dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, hostnameFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
