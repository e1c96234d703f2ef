package accounts

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"github.com/thorchat/thorchat/store"
)

// CheckOperPassword implements ircd.Backend: classic OPER against a
// bcrypt hash from the configuration (off unless configured).
func (s *Service) CheckOperPassword(name, password string) bool {
	p := s.policy.Load()
	hash, ok := p.OperPasswords[name]
	if !ok {
		// spend the same time as a real check, so names are not probed
		bcrypt.CompareHashAndPassword([]byte("$2a$10$7EqJtq98hPqEX7fNZaFWoOhi5BWX4Z3HnVkfRWhp3Eaq3zKy9mOhG"), []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// SetBanned implements ircd.Backend: a banned account's key can no longer
// log in.
func (s *Service) SetBanned(account string, banned bool) error {
	var err error
	if banned {
		_, err = s.cfg.Store.SetAccountFlags(account, store.FlagBanned, 0)
	} else {
		_, err = s.cfg.Store.SetAccountFlags(account, 0, store.FlagBanned)
	}
	if errors.Is(err, store.ErrNotFound) {
		return userErr{"no such account: " + account}
	}
	if err != nil {
		return fmt.Errorf("set account flags: %w", err)
	}
	if banned {
		// a banned key's device keys and tokens go with it
		if _, err := s.cfg.Store.RevokeAllCredentials(account); err != nil {
			return fmt.Errorf("revoke credentials: %w", err)
		}
	}
	return nil
}
