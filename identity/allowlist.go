package identity

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/decred/dcrd/bech32"
)

// MaxAllowlistEntries bounds the entries of one allowlist.
const MaxAllowlistEntries = 100_000

// ErrTooLarge reports input over one of this package's bounds.
var ErrTooLarge = errors.New("identity: input too large")

// Allowlist is a set of operator accounts. Keys given as hex or bech32
// pubkeys are reduced to their account address. It is immutable after
// ParseAllowlist and safe for concurrent reads.
type Allowlist struct {
	accounts map[string]struct{}
}

// EntryKind is what an allowlist entry was written as.
type EntryKind uint8

// Kinds of allowlist entries.
const (
	KindHexKey  EntryKind = iota + 1 // 66 hex digits, a compressed key
	KindPubKey                       // bech32 pubkey, hrp = account hrp + "pub"
	KindAddress                      // bech32 account address
)

// ParseEntry resolves one allowlist entry (hex compressed key, bech32
// pubkey with hrp hrp+"pub", or bech32 account with hrp) to its account
// address.
func ParseEntry(hrp, entry string) (account string, kind EntryKind, err error) {
	if err := checkHRP(hrp); err != nil {
		return "", 0, err
	}
	e := strings.TrimSpace(entry)
	if e == "" {
		return "", 0, fmt.Errorf("empty entry: %w", ErrBadEncoding)
	}
	if len(e) == 2*PubKeyLen && isHex(e) {
		pub, _ := hex.DecodeString(e)
		acct, err := AccountAddress(hrp, pub)
		if err != nil {
			return "", 0, err
		}
		return acct, KindHexKey, nil
	}
	got, _, err := bech32.Decode(e)
	if err != nil {
		return "", 0, fmt.Errorf("%q is neither a hex key nor bech32: %w: %w", clip(e), ErrBadEncoding, err)
	}
	switch got {
	case hrp + "pub":
		_, pub, err := DecodePubKey(e)
		if err != nil {
			return "", 0, err
		}
		acct, err := AccountAddress(hrp, pub)
		if err != nil {
			return "", 0, err
		}
		return acct, KindPubKey, nil
	case hrp:
		acct, err := ParseAccount(hrp, e)
		if err != nil {
			return "", 0, err
		}
		return acct, KindAddress, nil
	default:
		return "", 0, fmt.Errorf("%q: hrp %q, want %q or %q: %w", clip(e), got, hrp, hrp+"pub", ErrWrongHRP)
	}
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// ParseAllowlist builds an Allowlist from entries; an error names the index
// (0-based) of the first bad entry.
func ParseAllowlist(hrp string, entries []string) (*Allowlist, error) {
	if err := checkHRP(hrp); err != nil {
		return nil, fmt.Errorf("allowlist: %w", err)
	}
	if len(entries) > MaxAllowlistEntries {
		return nil, fmt.Errorf("allowlist: %d entries over %d: %w", len(entries), MaxAllowlistEntries, ErrTooLarge)
	}
	a := &Allowlist{accounts: make(map[string]struct{}, len(entries))}
	for i, e := range entries {
		acct, _, err := ParseEntry(hrp, e)
		if err != nil {
			return nil, fmt.Errorf("allowlist entry %d: %w", i, err)
		}
		a.accounts[acct] = struct{}{}
	}
	return a, nil
}

// Contains reports whether account (a bech32 address, any case) is listed.
// A nil Allowlist contains nothing.
func (a *Allowlist) Contains(account string) bool {
	if a == nil {
		return false
	}
	_, ok := a.accounts[strings.ToLower(account)]
	return ok
}

// Len returns the number of distinct accounts.
func (a *Allowlist) Len() int {
	if a == nil {
		return 0
	}
	return len(a.accounts)
}

// Accounts returns the listed accounts, sorted.
func (a *Allowlist) Accounts() []string {
	if a == nil {
		return nil
	}
	out := make([]string, 0, len(a.accounts))
	for k := range a.accounts {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
