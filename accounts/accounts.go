// Package accounts is the host side of ircd's seam: Service implements
// ircd.Backend, the one interface through which the IRC state machine
// reaches everything outside it. It joins the SASL mechanisms of package
// sasl, the bbolt store of package store (accounts, nick claims, device
// credentials, accept lists, kept user modes, registered channels) and the
// node-operator allowlist of package identity.
package accounts

import (
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

// Policy says who is tagged and privileged. It is replaced as a whole on
// reload (SIGHUP).
type Policy struct {
	Operators     *identity.Allowlist // node operators (may be nil)
	Staff         map[string]bool     // accounts of core community members
	Opers         map[string]bool     // accounts with IRC operator privileges
	OperPasswords map[string]string   // classic OPER name → bcrypt hash
}

// Config configures a Service.
type Config struct {
	HRP         string // account bech32 prefix, "thor"
	Store       *store.DB
	Policy      Policy
	RequireSASL bool
	// LoginRate and LoginBurst bound signature verifications server-wide.
	LoginRate  float64
	LoginBurst int
	// LoginWait is the longest a login waits for the rate budget before
	// it fails (default 5 s).
	LoginWait time.Duration
	// KeyCache is how many parsed public keys of recent logins are kept
	// in memory (0: DefaultKeyCache; negative: none); see keyCache.
	KeyCache int
	// Reload re-reads the policy (REHASH); nil turns REHASH off.
	Reload func() (Policy, error)
	Logger *slog.Logger
	Now    func() time.Time
}

// Service implements ircd.Backend.
type Service struct {
	cfg     Config
	policy  atomic.Pointer[Policy]
	limiter *rate.Limiter
	keys    *keyCache
	nicks   nickTable
	log     *slog.Logger
}

var _ ircd.Backend = (*Service)(nil)

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
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	lim := rate.NewLimiter(rate.Inf, 0)
	if cfg.LoginRate > 0 {
		lim = rate.NewLimiter(rate.Limit(cfg.LoginRate), max(cfg.LoginBurst, 1))
	}
	s := &Service{cfg: cfg, limiter: lim, keys: newKeyCache(cfg.KeyCache), log: cfg.Logger}
	if err := s.nicks.load(cfg.Store); err != nil {
		return nil, err
	}
	p := cfg.Policy
	s.policy.Store(&p)
	return s, nil
}

// SetPolicy replaces the operator/staff/oper policy (on reload); the
// caller then asks the IRC server to Reclassify connected users.
func (s *Service) SetPolicy(p Policy) { s.policy.Store(&p) }

// Features implements ircd.Backend: everything, REHASH when a Reload is
// configured.
func (s *Service) Features() ircd.Features {
	f := ircd.FeatureAccounts | ircd.FeatureCredentials | ircd.FeatureOpers | ircd.FeatureChannels
	if s.cfg.Reload != nil {
		f |= ircd.FeatureRehash
	}
	return f
}

// Rehash implements ircd.Backend: the policy is read again.
func (s *Service) Rehash() error {
	if s.cfg.Reload == nil {
		return ircd.ErrNotEnabled
	}
	p, err := s.cfg.Reload()
	if err != nil {
		return err
	}
	s.SetPolicy(p)
	return nil
}

// Mechanisms implements ircd.Backend.
func (s *Service) Mechanisms() []string {
	return []string{sasl.MechSecp256k1, MechECDSA, sasl.MechPlain}
}

// RequireLogin implements ircd.Backend.
func (s *Service) RequireLogin() bool { return s.cfg.RequireSASL }

type userErr struct{ msg string }

func (e userErr) Error() string       { return e.msg }
func (e userErr) UserMessage() string { return e.msg }

// Classify implements ircd.Backend: the tag, privileges and cloak of
// an account under the current policy.
func (s *Service) Classify(account string) ircd.Login {
	p := s.policy.Load()
	l := ircd.Login{Account: account}
	switch {
	case p.Operators != nil && p.Operators.Contains(account):
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

// Start implements ircd.Backend.
func (s *Service) Start(mech string, l ircd.Listener) (ircd.SASLSession, bool) {
	switch mech {
	case sasl.MechSecp256k1:
		ep := sasl.Endpoint{Host: strings.ToLower(l.Host), Port: uint16(l.Port)}
		srv := sasl.NewSecp256k1Server(ep, nil)
		if s.keys != nil {
			srv.SetKeyParser(s.keys.parse)
		}
		return &secpSession{svc: s, srv: srv}, true
	case MechECDSA:
		return &ecdsaSession{svc: s}, true
	case sasl.MechPlain:
		return &plainSession{svc: s}, true
	}
	return nil, false
}

type secpSession struct {
	svc *Service
	srv *sasl.Secp256k1Server
}

// Step runs off the IRC processing goroutine: the signature check and the
// account write happen here.
func (x *secpSession) Step(resp []byte) ([]byte, bool, ircd.Login, error) {
	s := x.svc
	if x.srv.WantsSignature() {
		// the signature check is the expensive step: wait for the
		// server-wide login budget
		if err := s.waitBudget(); err != nil {
			return nil, false, ircd.Login{}, err
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
	acct, created, err := s.cfg.Store.LoginAccount(pub, name, s.cfg.Now())
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
	l, err := s.loginOf(acct)
	if err != nil {
		return nil, false, ircd.Login{}, err
	}
	l.KeyLogin = true
	return nil, true, l, nil
}
