package identity

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decred/dcrd/bech32"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

func TestParseEntryKinds(t *testing.T) {
	pub := mustHex(t, vecPub)
	tests := []struct {
		name  string
		entry string
		kind  EntryKind
	}{
		{"hex", vecPub, KindHexKey},
		{"hex upper", strings.ToUpper(vecPub), KindHexKey},
		{"hex with spaces", "  " + vecPub + "\t", KindHexKey},
		{"thorpub", EncodePubKey("thorpub", pub), KindPubKey},
		{"thorpub upper", strings.ToUpper(EncodePubKey("thorpub", pub)), KindPubKey},
		{"address", vecAccount, KindAddress},
		{"address upper", strings.ToUpper(vecAccount), KindAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct, kind, err := ParseEntry("thor", tt.entry)
			if err != nil || acct != vecAccount || kind != tt.kind {
				t.Fatalf("ParseEntry = %q, %v, %v; want %s, %v", acct, kind, err, vecAccount, tt.kind)
			}
		})
	}
}

func TestParseEntryRejects(t *testing.T) {
	pub := mustHex(t, vecPub)
	enc := func(hrp string, data []byte) string {
		s, err := bech32.EncodeFromBase256(hrp, data)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	uncompressedHex := func() string {
		pk, _ := secp256k1.ParsePubKey(pub)
		return hex.EncodeToString(pk.SerializeUncompressed())
	}()
	tests := []struct {
		name  string
		entry string
		want  error
	}{
		{"empty", "", ErrBadEncoding},
		{"blank", "   ", ErrBadEncoding},
		{"hex too short", vecPub[:64], ErrBadEncoding},
		{"hex uncompressed", uncompressedHex, ErrBadEncoding},
		{"hex 0x04 prefix", "04" + vecPub[2:], ErrBadKey},
		{"hex off curve", hex.EncodeToString(offCurveKey(t)), ErrBadKey},
		{"hex with junk", vecPub[:65] + "g", ErrBadEncoding},
		{"other chain address", enc("cosmos", make([]byte, 20)), ErrWrongHRP},
		{"validator cons key", enc("thorcpub", append([]byte{0x16, 0x24, 0xde, 0x64, 0x20}, make([]byte, 32)...)), ErrWrongHRP},
		{"ed25519 thorpub", enc("thorpub", append([]byte{0x16, 0x24, 0xde, 0x64, 0x20}, make([]byte, 32)...)), ErrBadEncoding},
		{"32-byte address", enc("thor", make([]byte, 32)), ErrBadEncoding},
		{"bad checksum", vecAccount[:len(vecAccount)-1] + "q", ErrBadEncoding},
		{"nonsense", "alice", ErrBadEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct, _, err := ParseEntry("thor", tt.entry)
			if !errors.Is(err, tt.want) || acct != "" {
				t.Fatalf("ParseEntry(%q) = %q, %v; want %v", tt.entry, acct, err, tt.want)
			}
		})
	}
}

func TestParseAllowlist(t *testing.T) {
	pub := mustHex(t, vecPub)
	other, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	otherPub := other.PubKey().SerializeCompressed()
	otherAcct, err := AccountAddress("thor", otherPub)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAllowlist("thor", []string{vecPub, EncodePubKey("thorpub", pub), vecAccount, hex.EncodeToString(otherPub)})
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != 2 {
		t.Fatalf("Len = %d, want 2 (three spellings of one account + one other)", a.Len())
	}
	for _, acct := range []string{vecAccount, strings.ToUpper(vecAccount), otherAcct} {
		if !a.Contains(acct) {
			t.Errorf("Contains(%s) = false", acct)
		}
	}
	if a.Contains("thor1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnrql8a") || a.Contains("") || a.Contains(vecPub) {
		t.Error("Contains matched an unlisted account or a raw key")
	}
	var nilList *Allowlist
	if nilList.Contains(vecAccount) || nilList.Len() != 0 {
		t.Error("nil Allowlist is not empty")
	}

	_, err = ParseAllowlist("thor", []string{vecAccount, vecPub, "thor1bogus"})
	if err == nil || !strings.Contains(err.Error(), "entry 2") || !errors.Is(err, ErrBadEncoding) {
		t.Fatalf("bad entry error = %v, want it to name entry 2", err)
	}
	if _, err := ParseAllowlist("", nil); !errors.Is(err, ErrBadEncoding) {
		t.Fatalf("empty hrp: %v", err)
	}
	if _, err := ParseAllowlist("thor", make([]string, MaxAllowlistEntries+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too many entries: %v", err)
	}
}

func TestAllowlistFileRoundTrip(t *testing.T) {
	pub := mustHex(t, vecPub)
	path := filepath.Join(t.TempDir(), "operators.txt")
	entries := []AllowEntry{
		{Entry: EncodePubKey("thorpub", pub), NodeAddress: vecAccount, Status: "Active"},
		{Entry: "thor1203t8nrc2kn9crrgk2l7harc2x2gk34lknz3ea", NodeAddress: "evil\nnode # x", Status: "Ready\r"},
		{Entry: "03" + strings.Repeat("", 0) + "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"},
	}
	if err := WriteAllowlistFile(path, entries); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode = %v, want 0644", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	text := string(raw)
	if !strings.Contains(text, "# node "+vecAccount+" status Active\n") || !strings.Contains(text, "# node evilnode  x status Ready\n") {
		t.Fatalf("comments missing or unsanitized:\n%s", text)
	}
	if n := strings.Count(text, "\n"); n != 5 {
		t.Fatalf("file has %d lines, want 2 header + 3 entries:\n%s", n, text)
	}
	a, err := LoadAllowlistFile("thor", path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != 3 || !a.Contains(vecAccount) || !a.Contains("thor1203t8nrc2kn9crrgk2l7harc2x2gk34lknz3ea") {
		t.Fatalf("loaded %v", a.Accounts())
	}
	// Overwrite: the rename replaces the file, no temporary is left behind.
	if err := WriteAllowlistFile(path, entries[:1]); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(filepath.Dir(path))
	if len(left) != 1 {
		t.Fatalf("directory holds %d files after rewrite", len(left))
	}
	if a, err := LoadAllowlistFile("thor", path); err != nil || a.Len() != 1 {
		t.Fatalf("reloaded: %v, %v", a.Accounts(), err)
	}
	// Invalid entries are refused before anything is written.
	for _, bad := range []string{"", "thor1bogus", vecAccount + " #", "alice"} {
		err := WriteAllowlistFile(path, []AllowEntry{{Entry: bad}})
		if err == nil || !strings.Contains(err.Error(), "entry 0") {
			t.Errorf("WriteAllowlistFile(%q) = %v, want an entry 0 error", bad, err)
		}
	}
	if a, err := LoadAllowlistFile("thor", path); err != nil || a.Len() != 1 {
		t.Fatalf("failed writes changed the file: %v, %v", a.Accounts(), err)
	}
}

func TestReadAllowlistFormat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		n       int
		wantErr string
	}{
		{"comments and blanks", "# header\n\n   \n" + vecAccount + "   # trailing\n\t" + vecPub + "\n", 1, ""},
		{"crlf", vecAccount + "\r\n" + vecPub + "\r\n", 1, ""},
		{"empty", "", 0, ""},
		{"only comments", "# a\n#b\n", 0, ""},
		{"bad line named", "# ok\n" + vecAccount + "\nthor1bogus\n", 0, "line 3"},
		{"line too long", strings.Repeat("a", 5000) + "\n", 0, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ReadAllowlist("thor", strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || a.Len() != tt.n {
				t.Fatalf("Len = %d, %v; want %d", a.Len(), err, tt.n)
			}
		})
	}
	if _, err := LoadAllowlistFile("thor", filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}
