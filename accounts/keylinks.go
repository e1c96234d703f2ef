package accounts

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/thorchat/thorchat/identity"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/sasl"
	"github.com/thorchat/thorchat/store"
)

// maxLinkedKeys bounds the keys of one account.
const maxLinkedKeys = 8

// KeyLinkStore is the part of the database linked keys need.
type KeyLinkStore interface {
	LoginKey(pub33 []byte, ownName string, now time.Time, mayCreate func() error) (store.Account, bool, error)
	AccountKeys(account string) ([]store.KeyLink, error)
	LinkKey(account string, oldPub, newPub []byte, newName string, max int, now time.Time) error
	UnlinkKey(account string, pub33, by []byte) error
}

var _ ircd.KeyLinker = (*Service)(nil)

// loginKey records a key login: with linked keys, the key logs in to the
// account it is linked to.
func (s *Service) loginKey(pub33 []byte, name string, mayCreate func() error) (store.Account, bool, error) {
	if ks, ok := s.cfg.Store.(KeyLinkStore); ok {
		return ks.LoginKey(pub33, name, s.cfg.Now(), mayCreate)
	}
	return s.cfg.Store.LoginAccountIf(pub33, name, s.cfg.Now(), mayCreate)
}

// isOperator reports whether account is a node operator under p: whether
// any key that logs in to it is on the allowlist.
func (s *Service) isOperator(p *Policy, account string) bool {
	if p.Operators == nil || p.Operators.Len() == 0 {
		return false
	}
	ks, ok := s.cfg.Store.(KeyLinkStore)
	if !ok {
		return p.Operators.Contains(account)
	}
	keys, err := ks.AccountKeys(account)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("operator check: account keys", "err", err)
		}
		return p.Operators.Contains(account)
	}
	for _, k := range keys {
		if addr, err := identity.AccountAddress(s.cfg.HRP, k.PubKey); err == nil && p.Operators.Contains(addr) {
			return true
		}
	}
	return false
}

// keyText is how keys are shown: THORChain's bech32 pubkey form.
func (s *Service) keyText(pub33 []byte) string {
	return identity.EncodePubKey(s.cfg.HRP+"pub", pub33)
}

// parseUserKey reads a secp256k1 key as typed: bech32 ("thorpub1…") or 66
// hex digits of the compressed point.
func parseUserKey(s string) ([]byte, error) {
	var pub []byte
	if b, err := hex.DecodeString(s); err == nil {
		pub = b
	} else if _, b, err := identity.DecodePubKey(s); err == nil {
		pub = b
	} else {
		return nil, userErr{"the key must be a thorpub1… key or 66 hex digits of a compressed secp256k1 key"}
	}
	if _, err := sasl.ParsePubKey(pub); err != nil {
		return nil, userErr{"that is not a compressed secp256k1 public key"}
	}
	return pub, nil
}

func endpointOf(l ircd.Listener) sasl.Endpoint {
	return sasl.Endpoint{Host: strings.ToLower(l.Host), Port: uint16(l.Port)}
}

func (s *Service) keyLinkStore() (KeyLinkStore, error) {
	ks, ok := s.cfg.Store.(KeyLinkStore)
	if !ok {
		return nil, userErr{"linked keys are not enabled on this server"}
	}
	return ks, nil
}

// LinkChallenge implements ircd.KeyLinker.
func (s *Service) LinkChallenge(l ircd.Listener, account, sessionKey, newKey string) (ircd.LinkChallenge, error) {
	if _, err := s.keyLinkStore(); err != nil {
		return ircd.LinkChallenge{}, err
	}
	pub, err := parseUserKey(newKey)
	if err != nil {
		return ircd.LinkChallenge{}, err
	}
	if hex.EncodeToString(pub) == sessionKey {
		return ircd.LinkChallenge{}, userErr{"that is the key you are logged in with"}
	}
	if err := endpointOf(l).Validate(); err != nil {
		return ircd.LinkChallenge{}, fmt.Errorf("link challenge: %w", err)
	}
	nonce := make([]byte, sasl.NonceLen)
	if _, err := rand.Read(nonce); err != nil {
		return ircd.LinkChallenge{}, fmt.Errorf("link challenge: %w", err)
	}
	return ircd.LinkChallenge{
		NewKey:  hex.EncodeToString(pub),
		Display: s.keyText(pub),
		Nonce:   base64.StdEncoding.EncodeToString(nonce),
	}, nil
}

// LinkKey implements ircd.KeyLinker: both signatures over the link message
// (sasl.LinkMessage) bound to the listener's endpoint, the account, the
// session's key, the new key and the challenge's nonce.
func (s *Service) LinkKey(l ircd.Listener, account, sessionKey string, ch ircd.LinkChallenge, sigOld, sigNew string) error {
	ks, err := s.keyLinkStore()
	if err != nil {
		return err
	}
	oldPub, err1 := hex.DecodeString(sessionKey)
	newPub, err2 := hex.DecodeString(ch.NewKey)
	nonce, err3 := base64.StdEncoding.DecodeString(ch.Nonce)
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("link key: %w", err)
	}
	so, err1 := base64.StdEncoding.DecodeString(sigOld)
	sn, err2 := base64.StdEncoding.DecodeString(sigNew)
	if err1 != nil || err2 != nil {
		return userErr{"the signatures must be base64 of 64 bytes (r ‖ s)"}
	}
	msg, err := sasl.LinkMessage(endpointOf(l), account, oldPub, newPub, nonce)
	if err != nil {
		return fmt.Errorf("link key: %w", err)
	}
	// two signature checks: they draw on the login budget
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.LoginWait)
	err = s.limiter.WaitN(ctx, 2)
	cancel()
	if err != nil {
		return userErr{"the server is busy; try again later"}
	}
	if err := sasl.VerifyLink(msg, so, sn); err != nil {
		if strings.HasPrefix(err.Error(), "old key") {
			return userErr{"the old key's signature does not verify"}
		}
		return userErr{"the new key's signature does not verify"}
	}
	newName, err := identity.AccountAddress(s.cfg.HRP, newPub)
	if err != nil {
		return fmt.Errorf("link key: %w", err)
	}
	err = ks.LinkKey(account, oldPub, newPub, newName, maxLinkedKeys, s.cfg.Now())
	switch {
	case err == nil:
		s.log.Info("key linked to an account")
		return nil
	case errors.Is(err, store.ErrKeyInUse):
		return userErr{"that key already logs in to an account, or its own account holds nicks, credentials, linked keys or a ban"}
	case errors.Is(err, store.ErrNotLinked):
		return userErr{"the key you are logged in with is no longer a key of this account"}
	case errors.Is(err, store.ErrListFull):
		return userErr{fmt.Sprintf("the account already has the most keys allowed (%d); unlink one first", maxLinkedKeys)}
	}
	return err
}

// ListKeys implements ircd.KeyLinker.
func (s *Service) ListKeys(account, sessionKey string) ([]string, error) {
	ks, err := s.keyLinkStore()
	if err != nil {
		return nil, err
	}
	keys, err := ks.AccountKeys(account)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		line := s.keyText(k.PubKey) + " added " + k.Added.UTC().Format(time.DateOnly)
		if hex.EncodeToString(k.PubKey) == sessionKey {
			line += " (this session)"
		}
		out = append(out, line)
	}
	return out, nil
}

// UnlinkKey implements ircd.KeyLinker. With revoke, every device
// credential of the account is revoked too: whoever holds a compromised
// key could have enrolled any of them.
func (s *Service) UnlinkKey(account, sessionKey, key string, revoke bool) (string, int, error) {
	ks, err := s.keyLinkStore()
	if err != nil {
		return "", 0, err
	}
	pub, err := parseUserKey(key)
	if err != nil {
		return "", 0, err
	}
	by, err := hex.DecodeString(sessionKey)
	if err != nil {
		return "", 0, fmt.Errorf("unlink key: %w", err)
	}
	err = ks.UnlinkKey(account, pub, by)
	switch {
	case errors.Is(err, store.ErrInvalid):
		return "", 0, userErr{"log in with another key of the account to unlink this one"}
	case errors.Is(err, store.ErrNotLinked):
		return "", 0, userErr{"that key is not a linked key of this account"}
	case errors.Is(err, store.ErrLastKey):
		return "", 0, userErr{"the last key of an account cannot be unlinked"}
	case err != nil:
		return "", 0, err
	}
	s.log.Info("key unlinked from an account", "revoke", revoke)
	n := 0
	if revoke {
		cs, ok := s.cfg.Store.(CredStore)
		if ok {
			if n, err = cs.RevokeAllCredentials(account); err != nil {
				return "", 0, fmt.Errorf("key unlinked, but revoking credentials failed: %w", err)
			}
		}
	}
	return hex.EncodeToString(pub), n, nil
}
