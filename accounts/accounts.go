// Package accounts joins the pieces of pubkey identity for the IRC server:
// it implements ircd.Authenticator with the SASL mechanisms of package sasl,
// the account store of package store, and the node-operator allowlist of
// package identity.
package accounts

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/thorchat/thorchat/identity"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/sasl"
	"github.com/thorchat/thorchat/store"
)

// Store is the part of the database this package needs.
type Store interface {
	LoginAccountIf(pub33 []byte, name string, now time.Time, mayCreate func() error) (store.Account, bool, error)
	ExpireAccounts(before time.Time, after string, max int, keep func(name string) bool) (int, string, error)
	SetAccountFlags(name string, set, clear uint32) (store.Account, error)
	NickOwner(folded string) (string, bool, error)
	ClaimNick(folded, account string) error
	ReleaseNick(folded, account string) error
}

// Policy says who is tagged and privileged. It is replaced as a whole on
// reload (SIGHUP).
type Policy struct {
	Operators     *identity.Allowlist // node operators (may be nil)
	Staff         map[string]bool     // accounts of core community members
	Opers         map[string]bool     // accounts with IRC operator privileges
	OperPasswords map[string]string   // classic OPER name → bcrypt hash
	// OperClasses limits classic OPER to sessions of these classes
	// ("operator", "staff", "user"); empty: every key login.
	OperClasses []string

	operDummy []byte // the costliest of OperPasswords (set by New, SetPolicy)
}

// Config configures a Service.
type Config struct {
	HRP         string // account bech32 prefix, "thor"
	Store       Store
	Policy      Policy
	RequireSASL bool
	// LoginRate and LoginBurst bound signature verifications server-wide.
	LoginRate  float64
	LoginBurst int
	// CreateRate (accounts per second) and CreateBurst bound first-time
	// account creation server-wide; a first login over it is refused with
	// 904 and writes nothing. Returning logins never consult it.
	// CreateRate ≤ 0: unbounded.
	CreateRate  float64
	CreateBurst int
	// ExpireUnused is how long an account that holds nothing (see
	// store.DB.ExpireAccounts; tagged and oper accounts are kept) lives
	// after its last login; 0 keeps every account. RunExpiry sweeps every
	// ExpireEvery (default 1 min), at most ExpireBatch accounts a pass
	// (default 1000).
	ExpireUnused time.Duration
	ExpireEvery  time.Duration
	ExpireBatch  int
	// LoginWait is the longest a login waits for the rate budget before
	// it fails (default 5 s).
	LoginWait time.Duration
	// OperRate (checks per second), OperBurst and OperSlots (checks at
	// once) bound classic OPER server-wide; attempts over either are
	// refused with 263. Defaults DefaultOperRate, DefaultOperBurst,
	// DefaultOperSlots.
	OperRate  float64
	OperBurst int
	OperSlots int
	// KeyCache is how many parsed public keys of recent logins are kept
	// in memory (0: DefaultKeyCache; negative: none); see keyCache.
	KeyCache int
	Logger   *slog.Logger
	Now      func() time.Time
}

// Service implements ircd.Authenticator.
type Service struct {
	cfg     Config
	policy  atomic.Pointer[Policy]
	limiter *rate.Limiter
	create  *rate.Limiter // nil: account creation is not rate limited
	keys    *keyCache
	oper    *operGate
	log     *slog.Logger
}

var _ ircd.Authenticator = (*Service)(nil)

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("accounts: a store is required")
	}
	if cfg.HRP == "" {
		cfg.HRP = "thor"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.KeyCache == 0 {
		cfg.KeyCache = DefaultKeyCache
	}
	if cfg.LoginWait <= 0 {
		cfg.LoginWait = 5 * time.Second
	}
	if cfg.ExpireEvery <= 0 {
		cfg.ExpireEvery = time.Minute
	}
	if cfg.ExpireBatch <= 0 {
		cfg.ExpireBatch = 1000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	lim := rate.NewLimiter(rate.Inf, 0)
	if cfg.LoginRate > 0 {
		lim = rate.NewLimiter(rate.Limit(cfg.LoginRate), max(cfg.LoginBurst, 1))
	}
	s := &Service{
		cfg: cfg, limiter: lim, keys: newKeyCache(cfg.KeyCache), log: cfg.Logger,
		oper: newOperGate(cfg.OperRate, cfg.OperBurst, cfg.OperSlots),
	}
	if cfg.CreateRate > 0 {
		s.create = rate.NewLimiter(rate.Limit(cfg.CreateRate), max(cfg.CreateBurst, 1))
	}
	s.SetPolicy(cfg.Policy)
	return s, nil
}

// SetPolicy replaces the operator/staff/oper policy (on reload); the
// caller then asks the IRC server to Reclassify connected users.
func (s *Service) SetPolicy(p Policy) {
	p.operDummy = costliestHash(p.OperPasswords)
	s.policy.Store(&p)
}

// Mechanisms implements ircd.Authenticator.
func (s *Service) Mechanisms() []string {
	if _, ok := s.cfg.Store.(CredStore); ok {
		return []string{sasl.MechSecp256k1, MechECDSA, sasl.MechPlain}
	}
	return []string{sasl.MechSecp256k1}
}

// RequireLogin implements ircd.Authenticator.
func (s *Service) RequireLogin() bool { return s.cfg.RequireSASL }

// ISupport implements ircd.Authenticator.
func (s *Service) ISupport() []string { return nil }

// NickOwner implements ircd.Authenticator.
func (s *Service) NickOwner(folded string) (string, bool) {
	acct, ok, err := s.cfg.Store.NickOwner(folded)
	if err != nil {
		s.log.Error("nick owner lookup", "err", err)
		return "", false
	}
	return acct, ok
}

// ClaimNick implements ircd.Authenticator.
func (s *Service) ClaimNick(folded, account string) error {
	err := s.cfg.Store.ClaimNick(folded, account)
	switch {
	case errors.Is(err, store.ErrNickTaken):
		return fmt.Errorf("claim: %w", ircd.ErrNickTaken)
	case errors.Is(err, store.ErrTooManyNicks):
		return userErr{"your account already claims the most nicks allowed; release one first"}
	}
	return err
}

// ReleaseNick implements ircd.Authenticator.
func (s *Service) ReleaseNick(folded, account string) error {
	return s.cfg.Store.ReleaseNick(folded, account)
}

type userErr struct{ msg string }

func (e userErr) Error() string       { return e.msg }
func (e userErr) UserMessage() string { return e.msg }

// Classify implements ircd.Authenticator: the tag, privileges and cloak of
// an account under the current policy.
func (s *Service) Classify(account string) ircd.Login {
	p := s.policy.Load()
	l := ircd.Login{Account: account}
	switch {
	case s.isOperator(p, account):
		l.Class = "operator"
		l.Host = "node-operator/" + account
	case p.Staff[account]:
		l.Class = "staff"
		l.Host = "staff/" + account
	default:
		l.Host = "account/" + account
	}
	l.Oper = p.Opers[account]
	return l
}

// Start implements ircd.Authenticator.
func (s *Service) Start(mech string, l ircd.Listener, current string) (ircd.SASLSession, bool) {
	switch mech {
	case sasl.MechSecp256k1:
		ep := sasl.Endpoint{Host: strings.ToLower(l.Host), Port: uint16(l.Port)}
		srv := sasl.NewSecp256k1Server(ep, nil)
		if s.keys != nil {
			srv.SetKeyParser(s.keys.parse)
		}
		return &secpSession{svc: s, srv: srv, current: current}, true
	case MechECDSA, sasl.MechPlain:
		if _, ok := s.cfg.Store.(CredStore); !ok {
			return nil, false
		}
		if mech == MechECDSA {
			return &ecdsaSession{svc: s}, true
		}
		return &plainSession{svc: s}, true
	}
	return nil, false
}

type secpSession struct {
	svc     *Service
	srv     *sasl.Secp256k1Server
	current string // the account the connection is logged in as, or ""
	steps   int
}

// Step runs off the IRC processing goroutine: the signature check and the
// account write happen here.
func (x *secpSession) Step(resp []byte) ([]byte, bool, ircd.Login, error) {
	s := x.svc
	x.steps++
	if x.steps == 2 {
		// the signature check is the expensive step: wait for the
		// server-wide login budget
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.LoginWait)
		err := s.limiter.Wait(ctx)
		cancel()
		if err != nil {
			return nil, false, ircd.Login{}, errors.New("login rate limit: try again later")
		}
	}
	ch, done, err := x.srv.Next(resp)
	if err != nil || !done {
		return ch, false, ircd.Login{}, err
	}
	pub := x.srv.PublicKey()
	s.keys.add(pub, x.srv.Key())
	name, err := identity.AccountAddressOf(s.cfg.HRP, x.srv.Key())
	if err != nil {
		return nil, false, ircd.Login{}, fmt.Errorf("derive account: %w", err)
	}
	acct, created, err := s.loginKey(pub, name, func() error {
		return s.mayCreate(x.current)
	})
	var refused creationRefused
	if errors.As(err, &refused) {
		return nil, false, ircd.Login{}, refused.err
	}
	if errors.Is(err, store.ErrKeyUnlinked) {
		return nil, false, ircd.Login{}, errors.New("this key was unlinked from its account")
	}
	if err != nil {
		// the client only sees 904: say what broke here
		s.log.Error("login: account store", "err", err)
		return nil, false, ircd.Login{}, fmt.Errorf("account store: %w", err)
	}
	if acct.Flags&store.FlagBanned != 0 {
		return nil, false, ircd.Login{}, fmt.Errorf("this key is banned from the server: %w", ircd.ErrBanned)
	}
	if created {
		s.log.Info("account created")
	}
	l := s.Classify(acct.Name)
	l.Kind = ircd.LoginKey
	l.Key = hex.EncodeToString(pub)
	l.Modes = acct.UModes
	l.Created = acct.Created
	return nil, true, l, nil
}
