package ircd

import (
	"strconv"
	"strings"
	"time"
)

// parseTTL reads "30d", "12h", "90m" or "0"/"never".
func parseTTL(s string) (time.Duration, bool) {
	if s == "" || s == "0" || strings.EqualFold(s, "never") {
		return 0, true
	}
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n <= 0 || n > 3650 {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, false
	}
	return d, true
}

// nickServCredentials handles DEVICE ADD, TOKEN NEW, LIST and REVOKE.
// Only a session logged in with the account's own key may use them.
func (s *Server) nickServCredentials(c *Client, f []string, say func(string)) {
	cm := s.be
	if !s.has(FeatureCredentials) {
		say("Device credentials are not enabled on this server.")
		return
	}
	if c.account == "" || !c.loginKind.fullPower() {
		say("Log in with your account's own key (THORCHAT-SECP256K1) to manage device credentials.")
		return
	}
	acct := c.account
	usage := "Usage: DEVICE ADD <label> <p256-pubkey> [ttl] | TOKEN NEW <label> [ttl] | LIST | REVOKE <label>   (ttl like 30d or 12h)"
	switch strings.ToUpper(f[0]) {
	case "DEVICE":
		if len(f) < 4 || strings.ToUpper(f[1]) != "ADD" {
			say(usage)
			return
		}
		label, key := f[2], f[3]
		ttl, ok := parseTTL(optArg(f, 4))
		if !ok {
			say("Bad ttl: use e.g. 30d or 12h.")
			return
		}
		s.async(c, func() func() {
			err := cm.AddDevice(acct, label, key, ttl)
			return func() {
				if err != nil {
					say("DEVICE ADD failed: " + userError(err))
					return
				}
				say("Device key " + label + " added to " + acct + ". Log in with SASL ECDSA-NIST256P-CHALLENGE, username " + acct + ".")
			}
		})
	case "TOKEN":
		if len(f) < 3 || strings.ToUpper(f[1]) != "NEW" {
			say(usage)
			return
		}
		label := f[2]
		ttl, ok := parseTTL(optArg(f, 3))
		if !ok {
			say("Bad ttl: use e.g. 30d or 12h.")
			return
		}
		s.async(c, func() func() {
			secret, err := cm.NewToken(acct, label, ttl)
			return func() {
				if err != nil {
					say("TOKEN NEW failed: " + userError(err))
					return
				}
				say("TOKEN " + label + " " + secret)
				say("This token is shown once. Use it as the SASL PLAIN password with username " + acct + ".")
			}
		})
	case "LIST":
		s.async(c, func() func() {
			lines, err := cm.ListCredentials(acct)
			return func() {
				if err != nil {
					say("LIST failed: " + userError(err))
					return
				}
				for _, l := range lines {
					say("CREDENTIAL " + l)
				}
				say("End of credentials (" + strconv.Itoa(len(lines)) + ").")
			}
		})
	case "REVOKE":
		if len(f) < 2 {
			say(usage)
			return
		}
		label := f[1]
		s.async(c, func() func() {
			err := cm.RevokeCredential(acct, label)
			return func() {
				if err != nil {
					say("REVOKE failed: " + userError(err))
					return
				}
				say("Credential " + label + " revoked.")
			}
		})
	}
}

func optArg(f []string, i int) string {
	if i < len(f) {
		return f[i]
	}
	return ""
}
