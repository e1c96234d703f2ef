package identity

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Bounds of a /thorchain/nodes document.
const (
	MaxImportBytes = 64 << 20
	MaxImportNodes = 20_000
)

// DefaultStatuses are the node statuses ImportNodes keeps when given none.
var DefaultStatuses = []string{"Active", "Standby", "Ready"}

// ImportWarning is a node ImportNodes skipped for a reason worth showing the
// operator. NodeAddress is sanitized (printable ASCII, bounded).
type ImportWarning struct {
	NodeAddress string
	Reason      string
}

func (w ImportWarning) String() string { return w.NodeAddress + ": " + w.Reason }

// ImportResult is what ImportNodes kept and why it left nodes out.
type ImportResult struct {
	// Entries are the kept nodes, in input order, one per account; Entry is
	// the node's bech32 secp256k1 pubkey.
	Entries []AllowEntry
	// Warnings name nodes of a kept status that were skipped: no key, a bad
	// key, a key whose address is not node_address, a duplicate.
	Warnings []ImportWarning
	// Nodes counts the nodes read; OtherStatus those left out by status.
	Nodes       int
	OtherStatus int
}

// nodeJSON is the part of a THORChain node object ImportNodes reads.
type nodeJSON struct {
	NodeAddress string `json:"node_address"`
	Status      string `json:"status"`
	PubKeySet   struct {
		Secp256k1 string `json:"secp256k1"`
	} `json:"pub_key_set"`
}

// ImportNodes reads the JSON array served by a THORChain node's
// /thorchain/nodes endpoint and returns the secp256k1 pubkeys of the nodes
// whose status is in statuses (case-insensitive; nil or empty means
// DefaultStatuses). hrp is the account hrp; pubkeys must use hrp+"pub". A
// key whose derived address differs from node_address is reported in
// Warnings and skipped. Input is bounded by MaxImportBytes and
// MaxImportNodes.
func ImportNodes(r io.Reader, hrp string, statuses []string) (ImportResult, error) {
	return importNodes(r, hrp, statuses, MaxImportBytes, MaxImportNodes)
}

func importNodes(r io.Reader, hrp string, statuses []string, maxBytes int64, maxNodes int) (ImportResult, error) {
	var res ImportResult
	if err := checkHRP(hrp); err != nil {
		return res, fmt.Errorf("import nodes: %w", err)
	}
	if len(statuses) == 0 {
		statuses = DefaultStatuses
	}
	lr := &io.LimitedReader{R: r, N: maxBytes + 1}
	dec := json.NewDecoder(lr)
	tooBig := func(err error) error {
		if lr.N <= 0 {
			return fmt.Errorf("import nodes: over %d bytes: %w", maxBytes, ErrTooLarge)
		}
		return fmt.Errorf("import nodes: node %d: %w: %w", res.Nodes, ErrBadEncoding, err)
	}
	tok, err := dec.Token()
	if err != nil {
		return res, tooBig(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return res, fmt.Errorf("import nodes: document is not a JSON array: %w", ErrBadEncoding)
	}
	seen := make(map[string]struct{})
	for dec.More() {
		if res.Nodes >= maxNodes {
			return res, fmt.Errorf("import nodes: over %d nodes: %w", maxNodes, ErrTooLarge)
		}
		var n nodeJSON
		if err := dec.Decode(&n); err != nil {
			return res, tooBig(err)
		}
		res.Nodes++
		if !hasStatus(statuses, n.Status) {
			res.OtherStatus++
			continue
		}
		warn := func(reason string) {
			res.Warnings = append(res.Warnings, ImportWarning{NodeAddress: sanitize(n.NodeAddress), Reason: reason})
		}
		if n.PubKeySet.Secp256k1 == "" {
			warn("no secp256k1 key")
			continue
		}
		pkHRP, pub, err := DecodePubKey(n.PubKeySet.Secp256k1)
		if err != nil {
			warn("bad secp256k1 key: " + sanitize(err.Error()))
			continue
		}
		if pkHRP != hrp+"pub" {
			warn(fmt.Sprintf("secp256k1 key hrp %q, want %q", sanitize(pkHRP), hrp+"pub"))
			continue
		}
		acct, err := AccountAddress(hrp, pub)
		if err != nil {
			warn("bad secp256k1 key")
			continue
		}
		if acct != strings.ToLower(n.NodeAddress) {
			warn("secp256k1 key belongs to " + acct + ", not node_address")
			continue
		}
		if _, dup := seen[acct]; dup {
			warn("duplicate node")
			continue
		}
		seen[acct] = struct{}{}
		res.Entries = append(res.Entries, AllowEntry{
			Entry:       strings.ToLower(n.PubKeySet.Secp256k1),
			NodeAddress: acct,
			Status:      sanitize(n.Status),
		})
	}
	if _, err := dec.Token(); err != nil {
		return res, tooBig(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if lr.N <= 0 {
			return res, tooBig(err)
		}
		return res, fmt.Errorf("import nodes: data after the array: %w", ErrBadEncoding)
	}
	if lr.N <= 0 {
		return res, fmt.Errorf("import nodes: over %d bytes: %w", maxBytes, ErrTooLarge)
	}
	return res, nil
}

func hasStatus(statuses []string, s string) bool {
	for _, want := range statuses {
		if strings.EqualFold(want, s) {
			return true
		}
	}
	return false
}
