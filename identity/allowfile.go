package identity

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/decred/dcrd/bech32"
)

// Bounds of an allowlist file.
const (
	MaxAllowlistFileBytes = 16 << 20
	maxAllowlistLine      = 4096
)

// AllowEntry is one line of an allowlist file: the entry itself (hex key,
// bech32 pubkey or account) and, for the comment, where it came from.
type AllowEntry struct {
	Entry       string
	NodeAddress string
	Status      string
}

// LoadAllowlistFile reads an allowlist file: one entry per line, '#' starts
// a comment (whole-line or trailing), blank lines are ignored. Errors name
// the line number.
func LoadAllowlistFile(hrp, path string) (*Allowlist, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("allowlist file: %w", err)
	}
	defer f.Close()
	a, err := ReadAllowlist(hrp, f)
	if err != nil {
		return nil, fmt.Errorf("allowlist file %s: %w", filepath.Base(path), err)
	}
	return a, nil
}

// ReadAllowlist parses the allowlist file format from r.
func ReadAllowlist(hrp string, r io.Reader) (*Allowlist, error) {
	if err := checkHRP(hrp); err != nil {
		return nil, err
	}
	lr := &io.LimitedReader{R: r, N: MaxAllowlistFileBytes + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 1024), maxAllowlistLine)
	a := &Allowlist{accounts: make(map[string]struct{})}
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		acct, _, err := ParseEntry(hrp, text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		a.accounts[acct] = struct{}{}
		if len(a.accounts) > MaxAllowlistEntries {
			return nil, fmt.Errorf("line %d: over %d entries: %w", line, MaxAllowlistEntries, ErrTooLarge)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("after line %d: %w", line, err)
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("over %d bytes: %w", MaxAllowlistFileBytes, ErrTooLarge)
	}
	return a, nil
}

// validEntrySyntax accepts what some ParseEntry could accept, whatever the
// hrp: a hex compressed key, a bech32 secp256k1 pubkey, or a 20-byte bech32
// address.
func validEntrySyntax(e string) error {
	if e == "" || strings.ContainsAny(e, "# \t\r\n") {
		return fmt.Errorf("entry %q has forbidden characters: %w", clip(e), ErrBadEncoding)
	}
	if _, pub, err := DecodePubKey(e); err == nil && pub != nil {
		return nil
	}
	if len(e) == 2*PubKeyLen && isHex(e) {
		if _, _, err := ParseEntry(DefaultAccountHRP, e); err != nil {
			return err
		}
		return nil
	}
	got, _, err := bech32.Decode(e)
	if err != nil {
		return fmt.Errorf("entry %q: %w: %w", clip(e), ErrBadEncoding, err)
	}
	_, err = ParseAccount(got, e)
	return err
}

// sanitize keeps printable ASCII other than '#', bounded, for comments.
func sanitize(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 100; i++ {
		if c := s[i]; c >= 0x20 && c <= 0x7e && c != '#' {
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}

// FormatAllowlist renders entries in the allowlist file format.
func FormatAllowlist(entries []AllowEntry) ([]byte, error) {
	if len(entries) > MaxAllowlistEntries {
		return nil, fmt.Errorf("%d entries over %d: %w", len(entries), MaxAllowlistEntries, ErrTooLarge)
	}
	var buf bytes.Buffer
	buf.WriteString("# ThorChat operator allowlist: one entry per line (hex compressed\n")
	buf.WriteString("# secp256k1 key, bech32 pubkey or bech32 account); '#' starts a comment.\n")
	for i, e := range entries {
		entry := strings.TrimSpace(e.Entry)
		if err := validEntrySyntax(entry); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		buf.WriteString(entry)
		node, status := sanitize(e.NodeAddress), sanitize(e.Status)
		if node != "" || status != "" {
			buf.WriteString(" # ")
			if node != "" {
				buf.WriteString("node " + node)
			}
			if status != "" {
				if node != "" {
					buf.WriteByte(' ')
				}
				buf.WriteString("status " + status)
			}
		}
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// WriteAllowlistFile writes entries to path atomically (a temporary file in
// the same directory, synced, then renamed over path) with mode 0644 and a
// comment per entry naming its node address and status.
func WriteAllowlistFile(path string, entries []AllowEntry) (err error) {
	data, err := FormatAllowlist(entries)
	if err != nil {
		return fmt.Errorf("write allowlist: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write allowlist: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write allowlist: %w", err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write allowlist: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write allowlist: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write allowlist: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write allowlist: %w", err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
