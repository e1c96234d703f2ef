// Package accounts is the host side of ircd's seam: Service implements
// ircd.Backend, the one interface through which the IRC state machine
// reaches everything outside it. It joins the SASL mechanisms of package
// sasl, the bbolt store of package store (accounts, nick claims, device
// credentials, accept lists, kept user modes, registered channels) and the
// node-operator allowlist of package identity.
package accounts

import (
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
	Store       *store.DB
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
	// Reload re-reads the policy (REHASH); nil turns REHASH off.
	Reload func() (Policy, error)
	// Observer receives the IRC server's counts (metrics); nil: none. The
	// service only hands it to ircd (Backend.Observer).
	Observer ircd.Observer
	// History configures message history (ircd.FeatureHistory).
	History HistoryConfig
	Logger  *slog.Logger
	Now     func() time.Time
}

// Service implements ircd.Backend.
type Service struct {
	cfg     Config
	policy  atomic.Pointer[Policy]
	limiter *rate.Limiter
	create  *rate.Limiter // nil: account creation is not rate limited
	keys    *keyCache
	nicks   nickTable
	links   linkTable
	oper    *operGate
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
	cfg.History.fill()
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
	if err := s.nicks.load(cfg.Store); err != nil {
		return nil, err
	}
	if err := s.links.load(cfg.Store, cfg.HRP); err != nil {
		return nil, err
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

// Features implements ircd.Backend: everything, REHASH when a Reload is
// configured.
func (s *Service) Features() ircd.Features {
	f := ircd.FeatureAccounts | ircd.FeatureCredentials | ircd.FeatureOpers | ircd.FeatureChannels | ircd.FeatureKeyLinks
	if s.cfg.History.Enabled {
		f |= ircd.FeatureHistory
	}
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

// Observer implements ircd.Backend: Config.Observer, or none.
func (s *Service) Observer() ircd.Observer { return s.cfg.Observer }

// ParseAccount implements ircd.Backend: a valid bech32 address of the
// configured prefix with a 20-byte payload, in lower case. The prefix is
// checked first so that ordinary nicks cost no bech32 decoding.
func (s *Service) ParseAccount(arg string) (string, bool) {
	prefix := s.cfg.HRP + "1"
	if len(arg) <= len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	acct, err := identity.ParseAccount(s.cfg.HRP, arg)
	return acct, err == nil
}

type userErr struct{ msg string }

func (e userErr) Error() string       { return e.msg }
func (e userErr) UserMessage() string { return e.msg }

// Classify implements ircd.Backend: the tag, privileges and cloak of
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

// Start implements ircd.Backend.
func (s *Service) Start(mech string, l ircd.Listener, current string) (ircd.SASLSession, bool) {
	switch mech {
	case sasl.MechSecp256k1:
		ep := sasl.Endpoint{Host: strings.ToLower(l.Host), Port: uint16(l.Port)}
		srv := sasl.NewSecp256k1Server(ep, nil)
		if s.keys != nil {
			srv.SetKeyParser(s.keys.parse)
		}
		return &secpSession{svc: s, srv: srv, current: current}, true
	case MechECDSA:
		return &ecdsaSession{svc: s}, true
	case sasl.MechPlain:
		return &plainSession{svc: s}, true
	}
	return nil, false
}

type secpSession struct {
	svc     *Service
	srv     *sasl.Secp256k1Server
	current string // the account the connection is logged in as, or ""
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
	l, err := s.loginOf(acct, ircd.LoginKey)
	if err != nil {
		return nil, false, ircd.Login{}, err
	}
	l.Key = hex.EncodeToString(pub)
	return nil, true, l, nil
}
