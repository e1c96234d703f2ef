package accounts_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/accounts"
)

// newToken enrols a PLAIN token through NickServ on c (logged in with the
// account's key) and returns its secret.
func (c *client) newToken(label string) string {
	c.t.Helper()
	got := c.nickServ("PRIVMSG NickServ :TOKEN NEW " + label)
	f := strings.Fields(got)
	if len(f) != 3 || f[0] != "TOKEN" || f[1] != label {
		c.t.Fatalf("TOKEN NEW: %q", got)
	}
	c.expect("NOTICE", func(m *irc.Message) bool { return strings.Contains(m.Trailing(), "shown once") })
	return f[2]
}

// addDevice enrols a new P-256 device key through NickServ on c and
// returns its private half.
func (c *client) addDevice(label string) *ecdsa.PrivateKey {
	c.t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		c.t.Fatal(err)
	}
	pub := base64.StdEncoding.EncodeToString(elliptic.MarshalCompressed(elliptic.P256(), k.X, k.Y))
	mustContain(c.t, "DEVICE ADD", c.nickServ("PRIVMSG NickServ :DEVICE ADD "+label+" "+pub), "added")
	return k
}

// plainLogin runs SASL PLAIN with a token and returns the messages up to
// the end of the attempt.
func (c *client) plainLogin(account, token string) []*irc.Message {
	c.t.Helper()
	c.send("AUTHENTICATE PLAIN")
	c.expect("AUTHENTICATE", func(m *irc.Message) bool { return m.Param(0) == "+" })
	c.sendPayload([]byte("\x00" + account + "\x00" + token))
	return c.readUntil(saslEnd...)
}

// deviceLogin runs SASL ECDSA-NIST256P-CHALLENGE with k and returns the
// messages up to the end of the attempt.
func (c *client) deviceLogin(account string, k *ecdsa.PrivateKey) []*irc.Message {
	c.t.Helper()
	return c.deviceLoginSigning(account, k, func(ch []byte) []byte { return ch })
}

// deviceLoginSigning is deviceLogin signing digest(challenge) as the
// ECDSA digest.
func (c *client) deviceLoginSigning(account string, k *ecdsa.PrivateKey, digest func([]byte) []byte) []*irc.Message {
	c.t.Helper()
	c.send("AUTHENTICATE " + accounts.MechECDSA)
	c.expect("AUTHENTICATE", func(m *irc.Message) bool { return m.Param(0) == "+" })
	c.sendPayload([]byte(account))
	var msgs []*irc.Message
	ch, ok := c.readChallenge(&msgs)
	if !ok {
		c.t.Fatalf("no device challenge: %v", msgs)
	}
	sig, err := ecdsa.SignASN1(rand.Reader, k, digest(ch))
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendPayload(sig)
	return append(msgs, c.readUntil(saslEnd...)...)
}

// TestCredentialLoginIsOrdinaryUser: an account listed in [opers]
// accounts is an IRC operator only when its own key signed; a device key
// or token login to it is an ordinary user (no 381/+o, 481 on KILL, no
// BAN), also after a policy reload, and WHOIS and NickServ INFO say which
// kind of login the session has.
func TestCredentialLoginIsOrdinaryUser(t *testing.T) {
	boss := key("boss")
	acct := accountOf(t, boss)
	e := startEnv(t, envOptions{noSync: true, policy: accounts.Policy{Opers: map[string]bool{acct: true}}})
	owner := e.connect(t, "owner", boss)
	token := owner.newToken("laptop")
	dev := owner.addDevice("phone")
	victim := e.connect(t, "victim", nil)

	cases := []struct {
		nick  string
		login func(c *client) []*irc.Message
		oper  bool
		kind  string
	}{
		{"bykey", func(c *client) []*irc.Message { return c.authenticate(boss, e.ep) }, true, "the account's own key"},
		{"bytoken", func(c *client) []*irc.Message { return c.plainLogin(acct, token) }, false, "a token"},
		{"bydevice", func(c *client) []*irc.Message { return c.deviceLogin(acct, dev) }, false, "a device key"},
	}
	for _, tc := range cases {
		t.Run(tc.nick, func(t *testing.T) {
			c := e.dial(t)
			c.nick = tc.nick
			c.capSASL()
			if got := saslNumerics(tc.login(c)); !slices.Equal(got, []string{"900", "903"}) {
				t.Fatalf("login: %v", got)
			}
			c.send("CAP END")
			c.send("NICK " + tc.nick)
			c.send("USER u 0 * :u")
			reg := c.readUntil("376")
			reg = append(reg, c.collect()...)
			if got := find(reg, "381", nil) != nil; got != tc.oper {
				t.Fatalf("381 at registration: %v, want %v; %v", got, tc.oper, reg)
			}
			// a policy reload (REHASH, SIGHUP) must not make a credential
			// session an operator either
			if err := e.srv.Do(context.Background(), e.srv.Reclassify); err != nil {
				t.Fatal(err)
			}
			c.send("WHOIS " + tc.nick)
			w := c.readUntil("318")
			if got := find(w, "313", nil) != nil; got != tc.oper {
				t.Fatalf("WHOIS 313: %v, want %v; %v", got, tc.oper, w)
			}
			// WHOIS marks credential sessions (a key login is the norm)
			want := "is logged in with " + tc.kind
			if got := find(w, "320", func(m *irc.Message) bool { return m.Trailing() == want }) != nil; got == tc.oper {
				t.Fatalf("WHOIS 320 %q: %v, want %v; %v", want, got, !tc.oper, w)
			}
			c.nickServ("PRIVMSG NickServ :INFO") // whether the nick is claimed
			info := c.expect("NOTICE", func(m *irc.Message) bool { return m.Name == "NickServ" }).Trailing()
			if wantInfo := tc.nick + " is logged in as " + acct + " with " + tc.kind + "."; info != wantInfo {
				t.Fatalf("NickServ INFO: %q, want %q", info, wantInfo)
			}
			// the operator, and only the operator, sees how others logged in
			owner.send("WHOIS " + tc.nick)
			if got := find(owner.readUntil("318"), "320", func(m *irc.Message) bool { return m.Trailing() == want }) != nil; got == tc.oper {
				t.Fatalf("operator's WHOIS of %s: 320 %q %v", tc.nick, want, got)
			}
			victim.send("WHOIS " + tc.nick)
			if m := find(victim.readUntil("318"), "320", func(m *irc.Message) bool { return strings.Contains(m.Trailing(), "logged in with") }); m != nil {
				t.Fatalf("another user sees the login kind: %v", m)
			}

			if tc.oper {
				guest := e.connect(t, "guest"+tc.nick, nil)
				c.send("KILL guest" + tc.nick + " :x")
				guest.expectClosed()
				return
			}
			c.send("KILL victim :x")
			c.expect("481", nil)
			mustContain(t, "BAN", c.nickServ("PRIVMSG NickServ :BAN victim"), "Only IRC operators")
			mustContain(t, "TOKEN NEW", c.nickServ("PRIVMSG NickServ :TOKEN NEW again"), "own key")
		})
	}
}

// TestDeviceSignatureForms: ECDSA-NIST256P-CHALLENGE accepts a signature
// over the raw challenge (weechat) and over its SHA-256 (WebCrypto, which
// always hashes), as Atheme does, and nothing else.
func TestDeviceSignatureForms(t *testing.T) {
	boss := key("forms")
	acct := accountOf(t, boss)
	e := startEnv(t, envOptions{noSync: true})
	owner := e.connect(t, "owner", boss)
	dev := owner.addDevice("browser")
	for _, tc := range []struct {
		name   string
		digest func([]byte) []byte
		want   []string
	}{
		{"raw challenge", func(ch []byte) []byte { return ch }, []string{"900", "903"}},
		{"sha256 of the challenge", func(ch []byte) []byte { h := sha256.Sum256(ch); return h[:] }, []string{"900", "903"}},
		{"sha512 of the challenge", func(ch []byte) []byte { h := sha512.Sum512(ch); return h[:32] }, []string{"904"}},
		{"sha256 twice", func(ch []byte) []byte { h := sha256.Sum256(ch); h = sha256.Sum256(h[:]); return h[:] }, []string{"904"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial(t)
			c.capSASL()
			if got := saslNumerics(c.deviceLoginSigning(acct, dev, tc.digest)); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
