package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	key := newKey(t)
	if err := WriteKeyFile(path, key); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o, want 600", fi.Mode().Perm())
	}
	got, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.PubKey().IsEqual(key.PubKey()) {
		t.Fatal("loaded a different key")
	}
	before, _ := os.ReadFile(path)
	err = WriteKeyFile(path, newKey(t))
	if err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("overwrite: err = %v", err)
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Fatal("existing key file changed")
	}
}

func TestLoadKeyFileRefuses(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
	}{
		{"group readable", strings.Repeat("11", 32), 0o640, "chmod 600"},
		{"world readable", strings.Repeat("11", 32), 0o604, "chmod 600"},
		{"not hex", "hello", 0o600, "does not hold a private key"},
		{"short", strings.Repeat("11", 31), 0o600, "does not hold a private key"},
		{"zero", strings.Repeat("00", 32), 0o600, "not a valid secp256k1 private key"},
		{"over n", strings.Repeat("ff", 32), 0o600, "not a valid secp256k1 private key"},
		{"huge", strings.Repeat("1", 5000), 0o600, "not a key file"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "k"+string(rune('a'+i)))
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadKeyFile(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if len(tc.content) >= 10 && strings.Contains(err.Error(), tc.content[:10]) {
				t.Fatalf("error quotes the file content: %v", err)
			}
		})
	}
	if _, err := LoadKeyFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory: err = %v", err)
	}
	if _, err := LoadKeyFile(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file loaded")
	}
}
