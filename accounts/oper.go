package accounts

import (
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/store"
)

// Defaults of the classic OPER bounds (Config.OperRate, OperBurst, OperSlots).
const (
	DefaultOperRate  = 0.1 // checks per second, server-wide
	DefaultOperBurst = 3
	DefaultOperSlots = 1
)

// operGate bounds classic OPER password checks: a server-wide token
// bucket and a few slots of their own, so that a flood of OPER neither
// burns the CPU nor takes the places of logins. Both refuse at once
// instead of queueing.
type operGate struct {
	limiter *rate.Limiter
	slots   chan struct{}
}

func newOperGate(perSecond float64, burst, slots int) *operGate {
	if perSecond <= 0 {
		perSecond = DefaultOperRate
	}
	if burst <= 0 {
		burst = DefaultOperBurst
	}
	if slots <= 0 {
		slots = DefaultOperSlots
	}
	return &operGate{limiter: rate.NewLimiter(rate.Limit(perSecond), burst), slots: make(chan struct{}, slots)}
}

// acquire takes a slot and one check from the budget, or refuses; release
// returns the slot.
func (g *operGate) acquire() (release func(), err error) {
	select {
	case g.slots <- struct{}{}:
	default:
		return nil, operErr{"other OPER checks are running; try again in a moment", ircd.ErrTryAgain}
	}
	if !g.limiter.Allow() {
		<-g.slots
		return nil, operErr{"too many OPER attempts on this server; try again later", ircd.ErrTryAgain}
	}
	return func() { <-g.slots }, nil
}

// operErr is an OPER refusal with a reason for the user.
type operErr struct {
	msg  string
	kind error // ircd.ErrOperNotAllowed or ircd.ErrTryAgain
}

func (e operErr) Error() string       { return e.msg }
func (e operErr) UserMessage() string { return e.msg }
func (e operErr) Unwrap() error       { return e.kind }

// errBadOperPassword is a wrong OPER name or password (464).
var errBadOperPassword = errors.New("OPER: password incorrect")

// operClass names a session's class as [opers] oper_classes does.
func operClass(class string) string {
	if class == "" {
		return "user"
	}
	return class
}

// CheckOperPassword implements ircd.Backend: classic OPER against a
// bcrypt hash from the configuration. It is refused without hashing when
// no passwords are configured, to guests and credential (device key,
// token) sessions, to classes not in Policy.OperClasses, and when the
// server-wide OPER budget or its slots are spent.
func (s *Service) CheckOperPassword(who ircd.Login, name, password string) error {
	p := s.policy.Load()
	switch {
	case len(p.OperPasswords) == 0:
		return operErr{"classic OPER is not enabled on this server", ircd.ErrOperNotAllowed}
	case who.Account == "" || who.Kind != ircd.LoginKey:
		return operErr{"log in with your account's own key (THORCHAT-SECP256K1) to use OPER", ircd.ErrOperNotAllowed}
	case len(p.OperClasses) > 0 && !slices.Contains(p.OperClasses, operClass(who.Class)):
		return operErr{"OPER is not open to your account on this server", ircd.ErrOperNotAllowed}
	}
	release, err := s.oper.acquire()
	if err != nil {
		return err
	}
	defer release()
	hash, ok := p.OperPasswords[name]
	if !ok {
		// spend the same time as a real check (the costliest configured
		// hash), so that names are not probed
		bcrypt.CompareHashAndPassword(p.operDummy, []byte(password))
		return errBadOperPassword
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return errBadOperPassword
	}
	return nil
}

// costliestHash returns the configured OPER hash of the highest bcrypt
// cost: an unknown name is checked against it, so it costs as much as
// the slowest known one.
func costliestHash(hashes map[string]string) []byte {
	var best []byte
	bestCost := -1
	for _, h := range hashes {
		if c, err := bcrypt.Cost([]byte(h)); err == nil && c > bestCost {
			best, bestCost = []byte(h), c
		}
	}
	return best
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
