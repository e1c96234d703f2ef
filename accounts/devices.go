package accounts

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/sasl"
	"github.com/thorchat/thorchat/store"
)

// MechECDSA is weechat's (and Atheme's) device-key mechanism.
const MechECDSA = "ECDSA-NIST256P-CHALLENGE"

// Credential bounds.
const (
	maxCredentials = 20
	maxLabelLen    = 32
	tokenCost      = 10 // bcrypt cost of token hashes
	tokenPrefix    = "thc_"
	// dummyTokenHash is compared when no token matches, at tokenCost like
	// real token hashes (a bcrypt of a secret never issued).
	dummyTokenHash = "$2a$10$ZBFT6H03z8g9X.G4Vt0RDOlfzi/MBj4vB9KdX0cbYd4ydNn9bM.k6"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func validLabel(l string) bool {
	if l == "" || len(l) > maxLabelLen {
		return false
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// ParseDeviceKey accepts a P-256 public key as weechat's documentation
// prints it (base64 of the compressed point), or hex, compressed or not.
func ParseDeviceKey(s string) ([]byte, error) {
	var raw []byte
	if b, err := hex.DecodeString(s); err == nil {
		raw = b
	} else if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		raw = b
	} else {
		return nil, errors.New("the key must be base64 or hex of a P-256 public point")
	}
	// weechat (GnuTLS) prints X with a leading zero byte when its top bit
	// is set: 02|03, 00, 32 bytes.
	if len(raw) == 34 && (raw[0] == 2 || raw[0] == 3) && raw[1] == 0 {
		raw = append([]byte{raw[0]}, raw[2:]...)
	}
	var x, y = elliptic.UnmarshalCompressed(elliptic.P256(), raw)
	if x == nil {
		x, y = elliptic.Unmarshal(elliptic.P256(), raw) //nolint:staticcheck // point validation
	}
	if x == nil {
		return nil, errors.New("not a valid P-256 public key")
	}
	return elliptic.MarshalCompressed(elliptic.P256(), x, y), nil
}

func p256Key(compressed []byte) *ecdsa.PublicKey {
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), compressed)
	if x == nil {
		return nil
	}
	return &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
}

// AddDevice implements ircd.Backend.
func (s *Service) AddDevice(account, label, key string, ttl time.Duration) error {
	cs := s.cfg.Store
	if !validLabel(label) {
		return userErr{"labels are 1-32 letters, digits, '-', '_' or '.'"}
	}
	pub, err := ParseDeviceKey(key)
	if err != nil {
		return userErr{err.Error()}
	}
	now := s.cfg.Now()
	c := store.Credential{Account: account, Label: label, Kind: store.CredDeviceKey, PubKey: pub, Created: now}
	if ttl > 0 {
		c.Expires = now.Add(ttl)
	}
	return credErr(cs.AddCredential(c, maxCredentials))
}

// NewToken implements ircd.Backend: the secret is returned once
// and only its bcrypt hash is kept.
func (s *Service) NewToken(account, label string, ttl time.Duration) (string, error) {
	cs := s.cfg.Store
	if !validLabel(label) {
		return "", userErr{"labels are 1-32 letters, digits, '-', '_' or '.'"}
	}
	var id [6]byte
	var secret [20]byte // 160 bits
	if _, err := rand.Read(id[:]); err != nil {
		return "", fmt.Errorf("token id: %w", err)
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", fmt.Errorf("token secret: %w", err)
	}
	tid := strings.ToLower(b32.EncodeToString(id[:]))
	sec := strings.ToLower(b32.EncodeToString(secret[:]))
	hash, err := bcrypt.GenerateFromPassword([]byte(sec), tokenCost)
	if err != nil {
		return "", fmt.Errorf("hash token: %w", err)
	}
	now := s.cfg.Now()
	c := store.Credential{Account: account, Label: label, Kind: store.CredToken, TokenID: tid, Hash: hash, Created: now}
	if ttl > 0 {
		c.Expires = now.Add(ttl)
	}
	if err := credErr(cs.AddCredential(c, maxCredentials)); err != nil {
		return "", err
	}
	return tokenPrefix + tid + "_" + sec, nil
}

// ListCredentials implements ircd.Backend.
func (s *Service) ListCredentials(account string) ([]string, error) {
	cs := s.cfg.Store
	list, err := cs.Credentials(account)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	var out []string
	for _, c := range list {
		line := fmt.Sprintf("%s %s created %s", c.Label, c.Kind, c.Created.UTC().Format(time.RFC3339))
		switch {
		case c.Expired(now):
			line += ", expired"
		case !c.Expires.IsZero():
			line += ", expires " + c.Expires.UTC().Format(time.RFC3339)
		}
		if c.Kind == store.CredDeviceKey {
			line += ", key " + base64.StdEncoding.EncodeToString(c.PubKey)
		}
		out = append(out, line)
	}
	return out, nil
}

// RevokeCredential implements ircd.Backend.
func (s *Service) RevokeCredential(account, label string) error {
	err := s.cfg.Store.RevokeCredential(account, label)
	if errors.Is(err, store.ErrNotFound) {
		return userErr{"no credential labelled " + label}
	}
	return err
}

func credErr(err error) error {
	switch {
	case errors.Is(err, store.ErrExists):
		return userErr{"a credential with that label exists; revoke it first"}
	case errors.Is(err, store.ErrListFull):
		return userErr{fmt.Sprintf("an account may hold at most %d credentials", maxCredentials)}
	}
	return err
}

// waitBudget takes one verification from the server-wide login budget.
func (s *Service) waitBudget() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.LoginWait)
	defer cancel()
	if err := s.limiter.Wait(ctx); err != nil {
		return errors.New("login rate limit: try again later")
	}
	return nil
}

// credLogin finishes a device-credential login of the given kind for
// account. The IRC server gives such a session no operator privileges:
// they need the account's own key (ircd.LoginKey).
func (s *Service) credLogin(account string, kind ircd.LoginKind) (ircd.Login, error) {
	acct, err := s.cfg.Store.GetAccount(account)
	if err != nil {
		return ircd.Login{}, fmt.Errorf("unknown account: %w", sasl.ErrMalformed)
	}
	if acct.Flags&store.FlagBanned != 0 {
		return ircd.Login{}, fmt.Errorf("this account is banned from the server: %w", ircd.ErrBanned)
	}
	return s.loginOf(acct, kind)
}

// ecdsaSession is ECDSA-NIST256P-CHALLENGE: the client sends its account
// (authcid, optional \0authzid), the server 32 random bytes, the client a
// DER ECDSA signature over them: taken as the digest (what weechat and
// most clients sign) or, as Atheme also accepts, over their SHA-256 (what
// WebCrypto signs, as it always hashes the message).
type ecdsaSession struct {
	svc       *Service
	account   string
	challenge []byte
	step      int
}

func (x *ecdsaSession) Step(resp []byte) ([]byte, bool, ircd.Login, error) {
	s := x.svc
	x.step++
	switch x.step {
	case 1:
		authcid, authzid, _ := bytes.Cut(resp, []byte{0})
		if len(authcid) == 0 || len(authcid) > 256 || len(authzid) > 0 && !bytes.Equal(authzid, authcid) {
			return nil, false, ircd.Login{}, fmt.Errorf("%s: bad account name: %w", MechECDSA, sasl.ErrMalformed)
		}
		x.account = strings.ToLower(string(authcid))
		x.challenge = make([]byte, 32)
		if _, err := rand.Read(x.challenge); err != nil {
			return nil, false, ircd.Login{}, fmt.Errorf("challenge: %w", err)
		}
		return append([]byte(nil), x.challenge...), false, ircd.Login{}, nil
	case 2:
		if err := s.waitBudget(); err != nil {
			return nil, false, ircd.Login{}, err
		}
		list, err := s.cfg.Store.Credentials(x.account)
		if err != nil {
			return nil, false, ircd.Login{}, fmt.Errorf("%s: %w", MechECDSA, sasl.ErrBadSignature)
		}
		now := s.cfg.Now()
		hashed := sha256.Sum256(x.challenge)
		for _, c := range list {
			if c.Kind != store.CredDeviceKey || c.Expired(now) {
				continue
			}
			pk := p256Key(c.PubKey)
			if pk != nil && (ecdsa.VerifyASN1(pk, x.challenge, resp) || ecdsa.VerifyASN1(pk, hashed[:], resp)) {
				l, err := s.credLogin(x.account, ircd.LoginDevice)
				return nil, err == nil, l, err
			}
		}
		return nil, false, ircd.Login{}, fmt.Errorf("%s: no enrolled device key verifies: %w", MechECDSA, sasl.ErrBadSignature)
	}
	return nil, false, ircd.Login{}, sasl.ErrState
}

// plainSession is PLAIN with a device token as the password and the
// account as authcid.
type plainSession struct{ svc *Service }

func (x *plainSession) Step(resp []byte) ([]byte, bool, ircd.Login, error) {
	s := x.svc
	authzid, authcid, pass, err := sasl.ParsePlain(resp)
	if err != nil {
		return nil, false, ircd.Login{}, err
	}
	account := strings.ToLower(authcid)
	if authzid != "" && strings.ToLower(authzid) != account {
		return nil, false, ircd.Login{}, fmt.Errorf("PLAIN: authzid must be empty or the account: %w", sasl.ErrMalformed)
	}
	tid, secret, ok := strings.Cut(strings.TrimPrefix(pass, tokenPrefix), "_")
	if !strings.HasPrefix(pass, tokenPrefix) || !ok {
		return nil, false, ircd.Login{}, fmt.Errorf("PLAIN: not a ThorChat token: %w", sasl.ErrMalformed)
	}
	if err := s.waitBudget(); err != nil {
		return nil, false, ircd.Login{}, err
	}
	// Exactly one bcrypt compare of tokenCost per attempt, whether the
	// account, the token ID or an unexpired token exists or not, so the
	// time taken tells nothing about which IDs are real.
	hash, found := []byte(dummyTokenHash), false
	if list, err := s.cfg.Store.Credentials(account); err == nil {
		now := s.cfg.Now()
		for _, c := range list {
			if c.Kind == store.CredToken && c.TokenID == tid && !c.Expired(now) {
				hash, found = c.Hash, true
				break
			}
		}
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(secret)) == nil && found {
		l, err := s.credLogin(account, ircd.LoginToken)
		return nil, err == nil, l, err
	}
	return nil, false, ircd.Login{}, fmt.Errorf("PLAIN: token not valid: %w", sasl.ErrBadSignature)
}
