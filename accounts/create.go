package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/thorchat/thorchat/ircd"
)

// creationRefused carries why a first login may not create its account,
// through the store, back to the SASL step.
type creationRefused struct{ err error }

func (e creationRefused) Error() string { return e.err.Error() }

// mayCreate decides whether a first login may create its account, on a
// connection logged in as current (""): not when the connection is
// already logged in to another account (it would end in 907 anyway), and
// not over the server-wide creation budget.
func (s *Service) mayCreate(current string) error {
	if current != "" {
		return creationRefused{fmt.Errorf("new account on a logged-in connection: %w", ircd.ErrAlreadyLoggedIn)}
	}
	if s.create != nil && !s.create.Allow() {
		return creationRefused{userErr{"too many new accounts are being created; try again in a few minutes"}}
	}
	return nil
}

// RunExpiry deletes unused accounts (Config.ExpireUnused) until ctx ends:
// every ExpireEvery it examines the next ExpireBatch accounts, going
// round the whole store over successive passes. Accounts that are tagged
// (node operator, staff) or listed as opers are kept. It returns at once
// when ExpireUnused is 0.
func (s *Service) RunExpiry(ctx context.Context) {
	if s.cfg.ExpireUnused <= 0 {
		return
	}
	t := time.NewTicker(s.cfg.ExpireEvery)
	defer t.Stop()
	after := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		after = s.expirePass(after)
	}
}

// expirePass runs one bounded sweep from after and returns where the next
// one starts.
func (s *Service) expirePass(after string) string {
	p := s.policy.Load()
	keep := func(name string) bool {
		return p.Operators != nil && p.Operators.Contains(name) || p.Staff[name] || p.Opers[name]
	}
	n, next, err := s.cfg.Store.ExpireAccounts(s.cfg.Now().Add(-s.cfg.ExpireUnused), after, s.cfg.ExpireBatch, keep)
	if err != nil {
		s.log.Error("expire unused accounts", "err", err)
		return ""
	}
	if n > 0 {
		s.log.Info("unused accounts expired", "count", n)
	}
	return next
}
