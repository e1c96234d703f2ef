package accounts

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/thorchat/thorchat/identity"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/sasl"
	"github.com/thorchat/thorchat/store"
)

// maxLinkedKeys bounds the keys of one account.
const maxLinkedKeys = 8

// linkTable is the memory copy of the keys of accounts with linked keys,
// as the account addresses of those keys. Classify runs on ircd's event
// loop (again at every REHASH and KEY LINK/UNLINK) and asks whether any
// key of an account is on the operator allowlist, so the answer comes
// from memory: loaded at start, kept in step by LinkKey and UnlinkKey
// (the store is this process's alone).
type linkTable struct {
	mu    sync.RWMutex
	addrs map[string][]string // account → addresses of its keys; accounts with links only
}

func (t *linkTable) load(db *store.DB, hrp string) error {
	links, err := db.AllKeyLinks()
	if err != nil {
		return fmt.Errorf("accounts: load linked keys: %w", err)
	}
	addrs := map[string][]string{}
	for _, l := range links {
		a, err := identity.AccountAddress(hrp, l.PubKey)
		if err != nil {
			return fmt.Errorf("accounts: load linked keys of %q: %w", l.Account, err)
		}
		addrs[l.Account] = append(addrs[l.Account], a)
	}
	t.mu.Lock()
	t.addrs = addrs
	t.mu.Unlock()
	return nil
}

// addresses returns the addresses of account's keys; ok is false for an
// account without linked keys (its one key's address is its name).
func (t *linkTable) addresses(account string) (addrs []string, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	addrs, ok = t.addrs[account]
	return addrs, ok
}

// refreshLinks reads account's keys again after a link or an unlink.
func (s *Service) refreshLinks(account string) {
	keys, err := s.cfg.Store.AccountKeys(account)
	if err != nil {
		s.log.Error("linked keys: reload an account's keys", "err", err)
		return
	}
	var addrs []string
	for _, k := range keys {
		if a, err := identity.AccountAddress(s.cfg.HRP, k.PubKey); err == nil {
			addrs = append(addrs, a)
		}
	}
	s.links.mu.Lock()
	defer s.links.mu.Unlock()
	s.links.addrs[account] = addrs
}

// loginKey records a key login: a linked key logs in to the account it is
// linked to.
func (s *Service) loginKey(pub33 []byte, name string, mayCreate func() error) (store.Account, bool, error) {
	return s.cfg.Store.LoginKey(pub33, name, s.cfg.Now(), mayCreate)
}

// isOperator reports whether account is a node operator under p: whether
// any key that logs in to it is on the allowlist. It answers from memory
// (linkTable): ircd calls Classify on its event loop.
func (s *Service) isOperator(p *Policy, account string) bool {
	if p.Operators == nil || p.Operators.Len() == 0 {
		return false
	}
	addrs, linked := s.links.addresses(account)
	if !linked {
		return p.Operators.Contains(account)
	}
	for _, a := range addrs {
		if p.Operators.Contains(a) {
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

// LinkChallenge implements ircd.Backend.
func (s *Service) LinkChallenge(l ircd.Listener, account, sessionKey, newKey string) (ircd.LinkChallenge, error) {
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

// LinkKey implements ircd.Backend: both signatures over the link message
// (sasl.LinkMessage) bound to the listener's endpoint, the account, the
// session's key, the new key and the challenge's nonce.
func (s *Service) LinkKey(l ircd.Listener, account, sessionKey string, ch ircd.LinkChallenge, sigOld, sigNew string) error {
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
	err = s.cfg.Store.LinkKey(account, oldPub, newPub, newName, maxLinkedKeys, s.cfg.Now())
	switch {
	case err == nil:
		s.refreshLinks(account)
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

// ListKeys implements ircd.Backend.
func (s *Service) ListKeys(account, sessionKey string) ([]string, error) {
	keys, err := s.cfg.Store.AccountKeys(account)
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

// UnlinkKey implements ircd.Backend. With revoke, every device
// credential of the account is revoked too: whoever holds a compromised
// key could have enrolled any of them.
func (s *Service) UnlinkKey(account, sessionKey, key string, revoke bool) (string, int, error) {
	pub, err := parseUserKey(key)
	if err != nil {
		return "", 0, err
	}
	by, err := hex.DecodeString(sessionKey)
	if err != nil {
		return "", 0, fmt.Errorf("unlink key: %w", err)
	}
	err = s.cfg.Store.UnlinkKey(account, pub, by)
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
	s.refreshLinks(account)
	s.log.Info("key unlinked from an account", "revoke", revoke)
	n := 0
	if revoke {
		if n, err = s.cfg.Store.RevokeAllCredentials(account); err != nil {
			return "", 0, fmt.Errorf("key unlinked, but revoking credentials failed: %w", err)
		}
	}
	return hex.EncodeToString(pub), n, nil
}
