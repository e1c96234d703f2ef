package ircd

import (
	"strconv"
	"strings"
	"time"
)

// linkChallengeTTL is how long a KEY LINK challenge may be answered.
const linkChallengeTTL = 5 * time.Minute

// LinkChallenge is a pending KEY LINK: the new key (in the Login.Key
// form), what to show of it, and the server nonce (opaque to ircd).
type LinkChallenge struct {
	NewKey  string
	Display string
	Nonce   string
	Expires time.Time
}

// nickServKey handles KEY LINK, KEY LIST and KEY UNLINK. Only a session
// logged in with one of the account's own keys may use them.
func (s *Server) nickServKey(c *Client, f []string, say func(string)) {
	if !s.has(FeatureKeyLinks) {
		say("Linked keys are not enabled on this server.")
		return
	}
	kl := s.be
	if c.account == "" || !c.loginKind.fullPower() || c.loginKey == "" {
		say("Log in with one of your account's keys (THORCHAT-SECP256K1) to manage its keys.")
		return
	}
	acct, sessKey, l := c.account, c.loginKey, *c.listener
	usage := "Usage: KEY LINK <new-key> | KEY LINK <new-key> <old-key-signature> <new-key-signature> | KEY LIST | KEY UNLINK <key> [REVOKE]"
	sub := ""
	if len(f) > 1 {
		sub = strings.ToUpper(f[1])
	}
	switch {
	case sub == "LINK" && len(f) == 3:
		newKey := f[2]
		s.async(c, func() func() {
			ch, err := kl.LinkChallenge(l, acct, sessKey, newKey)
			return func() {
				if err != nil {
					say("KEY LINK failed: " + userError(err))
					return
				}
				ch.Expires = s.clock.Now().Add(linkChallengeTTL)
				c.keyLink = &ch
				say("KEY LINK CHALLENGE " + ch.Display + " " + ch.Nonce)
				say("Sign the THORCHAT-LINK/1 message with this nonce by both keys (docs/sasl.md; thorchat link does it) and send within " +
					strconv.Itoa(int(linkChallengeTTL/time.Minute)) + " minutes: KEY LINK " + ch.Display + " <old-key-signature> <new-key-signature>")
			}
		})
	case sub == "LINK" && len(f) == 5:
		ch := c.keyLink
		c.keyLink = nil // one answer per challenge, right or wrong
		if ch == nil || s.clock.Now().After(ch.Expires) {
			say("KEY LINK failed: no challenge is pending (or it expired); send KEY LINK <new-key> first.")
			return
		}
		sigOld, sigNew := f[3], f[4]
		s.async(c, func() func() {
			// the signatures bind the challenged key; the key typed again
			// is only a reminder to the user
			err := kl.LinkKey(l, acct, sessKey, *ch, sigOld, sigNew)
			return func() {
				if err != nil {
					say("KEY LINK failed: " + userError(err))
					return
				}
				say("Key " + ch.Display + " is linked to " + acct + ": a login with it lands in this account.")
				s.Reclassify()
			}
		})
	case sub == "LIST" && len(f) == 2:
		s.async(c, func() func() {
			lines, err := kl.ListKeys(acct, sessKey)
			return func() {
				if err != nil {
					say("KEY LIST failed: " + userError(err))
					return
				}
				for _, ln := range lines {
					say("KEY " + ln)
				}
				say("End of keys (" + strconv.Itoa(len(lines)) + ").")
			}
		})
	case sub == "UNLINK" && (len(f) == 3 || len(f) == 4 && strings.EqualFold(f[3], "REVOKE")):
		key, revoke := f[2], len(f) == 4
		s.async(c, func() func() {
			removed, n, err := kl.UnlinkKey(acct, sessKey, key, revoke)
			return func() {
				if err != nil {
					say("KEY UNLINK failed: " + userError(err))
					return
				}
				msg := "Key " + key + " is unlinked from " + acct + "; it can no longer log in to it."
				if revoke {
					msg += " " + strconv.Itoa(n) + " device credential(s) revoked."
				}
				say(msg)
				s.dropKeySessions(acct, removed)
				s.Reclassify()
			}
		})
	default:
		say(usage)
	}
}

// dropKeySessions disconnects the sessions logged in to account with key,
// a key just unlinked from it.
func (s *Server) dropKeySessions(account, key string) {
	for c := range s.st.all {
		if c.account == account && c.loginKey == key && !c.gone {
			s.kill(c, "Key unlinked from the account")
		}
	}
}
