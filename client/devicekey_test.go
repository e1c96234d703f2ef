package client

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDeviceKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "weechat.pem")
	k, err := GenerateDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteDeviceKeyFile(path, k); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	data, _ := os.ReadFile(path)
	if !bytes.HasPrefix(data, []byte("-----BEGIN EC PRIVATE KEY-----\n")) {
		t.Fatalf("file starts %q", data[:min(len(data), 40)])
	}
	got, err := LoadDeviceKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(k) {
		t.Fatal("loaded key differs from the written one")
	}
	if err := WriteDeviceKeyFile(path, k); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("overwrite: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
		t.Fatal("the existing file changed")
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDeviceKeyFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("load 0640: %v", err)
	}

	// The compressed public key, and a challenge signature that verifies.
	pub, err := DevicePublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(pub)
	if err != nil || len(raw) != 33 {
		t.Fatalf("public key %q: %v", pub, err)
	}
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), raw)
	want, _ := k.PublicKey.Bytes()
	if x == nil || !bytes.Equal(elliptic.Marshal(elliptic.P256(), x, y), want) { //nolint:staticcheck // test oracle
		t.Fatal("compressed public key does not decode to the key's point")
	}
	ch := make([]byte, 32)
	rand.Read(ch)
	sig, err := SignDeviceChallenge(k, ch)
	if err != nil || !ecdsa.VerifyASN1(&k.PublicKey, ch, sig) {
		t.Fatalf("challenge signature does not verify (%v)", err)
	}
}

func TestParseDeviceKeyPEMErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "no PEM"},
		{"certificate only", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "no PEM"},
		{"garbage EC block", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n", "EC PRIVATE KEY block"},
		{"garbage PKCS8 block", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "PRIVATE KEY block"},
	}
	for _, tc := range tests {
		if _, err := ParseDeviceKeyPEM([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// requireClientsEnv makes a missing client-side tool a test failure instead
// of a skip (CI sets it to 1; the e2e tests read the same variable).
const requireClientsEnv = "THORCHAT_REQUIRE_CLIENTS"

// TestDeviceKeyOpenSSL cross-checks with OpenSSL, independently of Go's
// crypto: keys OpenSSL generates (the commands weechat's documentation
// gives) load, with the public key OpenSSL derives, and OpenSSL reads the
// file WriteDeviceKeyFile writes and verifies a signature made with it.
// Without openssl it skips, or fails with THORCHAT_REQUIRE_CLIENTS=1.
func TestDeviceKeyOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		msg := "openssl not found in PATH: install the Debian package \"openssl\" (apt-get install -y openssl)"
		if os.Getenv(requireClientsEnv) == "1" {
			t.Fatalf("%s; %s=1 forbids skipping", msg, requireClientsEnv)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	run := func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command(openssl, args...).Output()
		if err != nil {
			t.Fatalf("openssl %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	// openssl's compressed public key in base64, as weechat's docs derive it
	pubOf := func(path string) string {
		der := run("ec", "-in", path, "-pubout", "-outform", "DER", "-conv_form", "compressed")
		return base64.StdEncoding.EncodeToString(der[len(der)-33:])
	}
	tests := []struct {
		name string
		args []string
		want string // error substring, or "" to succeed
	}{
		{"ecparam (EC PARAMETERS + EC PRIVATE KEY)", []string{"ecparam", "-genkey", "-name", "prime256v1"}, ""},
		{"ecparam -noout", []string{"ecparam", "-genkey", "-noout", "-name", "prime256v1"}, ""},
		{"genpkey PKCS #8", []string{"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"}, ""},
		{"secp384r1", []string{"ecparam", "-genkey", "-noout", "-name", "secp384r1"}, "not a P-256"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "k"+string(rune('0'+i))+".pem")
			if err := os.WriteFile(path, run(tc.args...), 0o600); err != nil {
				t.Fatal(err)
			}
			k, err := LoadDeviceKeyFile(path)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("load: %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := DevicePublicKey(&k.PublicKey); got != pubOf(path) {
				t.Fatalf("public key %s, openssl says %s", got, pubOf(path))
			}
		})
	}
	// OpenSSL reads ours, and verifies a signature made with it.
	k, err := GenerateDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ours.pem")
	if err := WriteDeviceKeyFile(path, k); err != nil {
		t.Fatal(err)
	}
	want, err := DevicePublicKey(&k.PublicKey)
	if err != nil || pubOf(path) != want {
		t.Fatalf("openssl reads public key %s from our file, want %s (%v)", pubOf(path), want, err)
	}
	msg := []byte("challenge")
	digest := sha256.Sum256(msg)
	sig, err := SignDeviceChallenge(k, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sigPath, msgPath := filepath.Join(dir, "sig"), filepath.Join(dir, "msg")
	if err := os.WriteFile(sigPath, sig, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(msgPath, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	if out := run("dgst", "-sha256", "-prverify", path, "-signature", sigPath, msgPath); !bytes.Contains(out, []byte("Verified OK")) {
		t.Fatalf("openssl dgst -verify: %s", out)
	}
}
