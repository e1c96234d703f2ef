package accounts

import (
	"errors"
	"fmt"
	"sync"

	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/record"
	"github.com/thorchat/thorchat/store"
)

// nickTable is the memory copy of the nick claims: ircd asks who owns a
// nick on its event loop (at every NICK and registration), so the answer
// comes from memory, loaded from the store at start and kept in step by
// ClaimNick and ReleaseNick (the store is this process's alone).
type nickTable struct {
	mu     sync.RWMutex
	owners map[string]string // folded nick → account
}

func (t *nickTable) load(db *store.DB) error {
	owners, err := db.AllNicks()
	if err != nil {
		return fmt.Errorf("accounts: load nick claims: %w", err)
	}
	t.mu.Lock()
	t.owners = owners
	t.mu.Unlock()
	return nil
}

func (t *nickTable) owner(folded string) (string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	acct, ok := t.owners[folded]
	return acct, ok
}

func (t *nickTable) set(folded, account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if account == "" {
		delete(t.owners, folded)
	} else {
		t.owners[folded] = account
	}
}

// NickOwner implements ircd.Backend, from memory.
func (s *Service) NickOwner(folded string) (string, bool) {
	return s.nicks.owner(folded)
}

// ClaimNick implements ircd.Backend.
func (s *Service) ClaimNick(folded, account string) error {
	err := s.cfg.Store.ClaimNick(folded, account)
	switch {
	case errors.Is(err, store.ErrNickTaken):
		return fmt.Errorf("claim: %w", ircd.ErrNickTaken)
	case errors.Is(err, store.ErrTooManyNicks):
		return userErr{"your account already claims the most nicks allowed; release one first"}
	case err != nil:
		return err
	}
	s.nicks.set(folded, account)
	return nil
}

// ReleaseNick implements ircd.Backend.
func (s *Service) ReleaseNick(folded, account string) error {
	if err := s.cfg.Store.ReleaseNick(folded, account); err != nil {
		return err
	}
	s.nicks.set(folded, "")
	return nil
}

// loginOf is the login of a stored account under the current policy, as
// a session of kind proved it, with what the account keeps (user modes,
// accept list) and when it was created. It runs off the IRC event loop,
// in the SASL step.
func (s *Service) loginOf(acct store.Account, kind ircd.LoginKind) (ircd.Login, error) {
	l := s.Classify(acct.Name)
	l.Kind = kind
	l.Modes = acct.UModes
	l.Created = acct.Created
	list, err := s.cfg.Store.AcceptList(acct.Name)
	if err != nil {
		s.log.Error("login: accept list", "err", err)
		return ircd.Login{}, fmt.Errorf("accept list: %w", err)
	}
	l.Accept = list
	return l, nil
}

// AcceptAdd implements ircd.Backend: the store's bound is ircd's
// ErrAcceptFull.
func (s *Service) AcceptAdd(account, entry string, max int) error {
	err := s.cfg.Store.AcceptAdd(account, entry, max)
	if errors.Is(err, store.ErrListFull) {
		return fmt.Errorf("%w: %w", ircd.ErrAcceptFull, err)
	}
	return err
}

// AcceptDel implements ircd.Backend.
func (s *Service) AcceptDel(account, entry string) error {
	return s.cfg.Store.AcceptDel(account, entry)
}

// SetUserModes implements ircd.Backend.
func (s *Service) SetUserModes(account, modes string) error {
	return s.cfg.Store.SetUserModes(account, modes)
}

// LoadChannels implements ircd.Backend.
func (s *Service) LoadChannels() ([]record.Channel, error) {
	return s.cfg.Store.ListChannels()
}

// SaveChannels implements ircd.Backend: one durable transaction.
func (s *Service) SaveChannels(recs []record.Channel) error {
	return s.cfg.Store.PutChannels(recs)
}

// DropChannel implements ircd.Backend.
func (s *Service) DropChannel(folded string) error {
	err := s.cfg.Store.DeleteChannel(folded)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
