package accounts

import (
	"fmt"

	"github.com/thorchat/thorchat/identity"
)

// PolicyConfig is what the configuration says about operators, staff and
// opers.
type PolicyConfig struct {
	HRP           string
	OperatorKeys  []string // hex keys, thorpub1… keys or thor1… addresses
	OperatorsFile string   // allowlist file written by import-nodes
	Staff         []string // accounts
	Opers         []string // accounts
	OperPasswords map[string]string
	OperClasses   []string // "operator", "staff", "user"
}

// LoadPolicy builds a Policy, reading the allowlist file when one is set.
func LoadPolicy(pc PolicyConfig) (Policy, error) {
	entries := append([]string(nil), pc.OperatorKeys...)
	if pc.OperatorsFile != "" {
		fileList, err := identity.LoadAllowlistFile(pc.HRP, pc.OperatorsFile)
		if err != nil {
			return Policy{}, fmt.Errorf("operators.file: %w", err)
		}
		entries = append(entries, fileList.Accounts()...)
	}
	ops, err := identity.ParseAllowlist(pc.HRP, entries)
	if err != nil {
		return Policy{}, fmt.Errorf("operators.keys: %w", err)
	}
	p := Policy{Operators: ops, Staff: map[string]bool{}, Opers: map[string]bool{}, OperPasswords: pc.OperPasswords, OperClasses: pc.OperClasses}
	for i, a := range pc.Staff {
		acct, err := identity.ParseAccount(pc.HRP, a)
		if err != nil {
			return Policy{}, fmt.Errorf("staff.accounts[%d]: %w", i, err)
		}
		p.Staff[acct] = true
	}
	for i, a := range pc.Opers {
		acct, err := identity.ParseAccount(pc.HRP, a)
		if err != nil {
			return Policy{}, fmt.Errorf("opers.accounts[%d]: %w", i, err)
		}
		p.Opers[acct] = true
	}
	return p, nil
}
