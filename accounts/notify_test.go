package accounts_test

import (
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/accounts"
	"github.com/thorchat/thorchat/identity"
)

// isJoinOf matches a JOIN of nick.
func isJoinOf(nick string) func(*irc.Message) bool {
	return func(m *irc.Message) bool { return m.Name == nick }
}

func TestReauthAfterRegistrationNotifiesPeers(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true})
	priv := key("late")
	acct := accountOf(t, priv)

	withCaps := e.connect(t, "watcher", nil, "account-notify", "chghost")
	plain := e.connect(t, "plain", nil)
	u := e.connect(t, "late", nil, "chghost")
	for _, c := range []*client{withCaps, plain, u} {
		c.join("#c")
	}
	withCaps.expect("JOIN", isJoinOf("late"))
	plain.expect("JOIN", isJoinOf("late"))

	u.send("WHOIS late")
	oldHost := find(u.readUntil("318"), "311", nil).Param(3)
	if strings.HasPrefix(oldHost, "account/") {
		t.Fatalf("host %q before login", oldHost)
	}

	msgs := u.authenticate(priv, e.ep)
	if got := saslNumerics(msgs); len(got) != 2 || got[0] != "900" || got[1] != "903" {
		t.Fatalf("re-authentication: %v", msgs)
	}
	cloak := "account/" + acct

	// the user learns its new host
	own := append(msgs, u.collect()...)
	if m := find(own, "396", nil); m == nil || m.Param(1) != cloak {
		t.Fatalf("no 396 %s: %v", cloak, own)
	}
	if m := find(own, "CHGHOST", nil); m == nil || m.Param(1) != cloak {
		t.Fatalf("no CHGHOST to self: %v", own)
	}

	got := withCaps.collect()
	ch := find(got, "CHGHOST", nil)
	if ch == nil || ch.Name != "late" || ch.Host != oldHost || ch.Param(0) != "~late" || ch.Param(1) != cloak {
		t.Fatalf("watcher: CHGHOST %v, want :late!~late@%s CHGHOST ~late %s; all %v", ch, oldHost, cloak, got)
	}
	an := find(got, "ACCOUNT", nil)
	if an == nil || an.Name != "late" || an.Param(0) != acct {
		t.Fatalf("watcher: ACCOUNT %v, want ACCOUNT %s; all %v", an, acct, got)
	}
	if an.Host != cloak {
		t.Errorf("ACCOUNT comes from host %q, want the new host %q", an.Host, cloak)
	}

	for _, m := range plain.collect() {
		if m.Command == "ACCOUNT" || m.Command == "CHGHOST" {
			t.Fatalf("peer without the caps got %v", m)
		}
	}
}

func TestExtendedJoinAndAccountTag(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true})
	priv := key("alice")
	acct := accountOf(t, priv)

	ext := e.connect(t, "ext", nil, "extended-join", "account-tag")
	plain := e.connect(t, "plain", nil)
	ext.join("#c")
	plain.join("#c")

	cases := []struct {
		nick string
		priv bool
		want string // account in extended JOIN and account tag ("" = none)
	}{
		{"alice", true, acct},
		{"anon", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.nick, func(t *testing.T) {
			var c *client
			if tc.priv {
				c = e.connect(t, tc.nick, priv)
			} else {
				c = e.connect(t, tc.nick, nil)
			}
			c.join("#c")
			wantAcct := tc.want
			if wantAcct == "" {
				wantAcct = "*"
			}
			j := ext.expect("JOIN", isJoinOf(tc.nick))
			if len(j.Params) != 3 || j.Param(0) != "#c" || j.Param(1) != wantAcct || j.Param(2) != "Real "+tc.nick {
				t.Fatalf("extended JOIN %q, want [#c %s Real %s]", j.Params, wantAcct, tc.nick)
			}
			pj := plain.expect("JOIN", isJoinOf(tc.nick))
			if len(pj.Params) != 1 {
				t.Fatalf("plain JOIN %q", pj.Params)
			}

			for _, target := range []string{"#c", "ext"} {
				c.send("PRIVMSG " + target + " :hi from " + tc.nick)
				m := ext.expect("PRIVMSG", isJoinOf(tc.nick))
				a, ok := m.Tags["account"]
				if tc.want == "" && ok {
					t.Fatalf("%s: account tag %q on an anonymous message", target, a)
				}
				if tc.want != "" && a != tc.want {
					t.Fatalf("%s: account tag %q, want %q", target, a, tc.want)
				}
			}
			pm := plain.expect("PRIVMSG", isJoinOf(tc.nick))
			if _, ok := pm.Tags["account"]; ok {
				t.Fatalf("account tag sent without the cap: %v", pm)
			}

			plain.send("WHOIS " + tc.nick)
			w := plain.readUntil("318")
			m330 := find(w, "330", nil)
			switch {
			case tc.want != "" && (m330 == nil || m330.Param(1) != tc.nick || m330.Param(2) != tc.want):
				t.Fatalf("WHOIS 330 %v, want %s", m330, tc.want)
			case tc.want == "" && m330 != nil:
				t.Fatalf("WHOIS 330 for an anonymous user: %v", m330)
			}
		})
	}
}

func TestCloakByClass(t *testing.T) {
	op, staff, plain := key("operator"), key("staff"), key("plain")
	ops, err := identity.ParseAllowlist("thor", []string{hexPub(op)})
	if err != nil {
		t.Fatal(err)
	}
	pol := accounts.Policy{Operators: ops, Staff: map[string]bool{accountOf(t, staff): true}}
	e := startEnv(t, envOptions{noSync: true, policy: pol})
	cases := []struct {
		nick, prefix, class string
		priv                *secp256k1.PrivateKey
	}{
		{"op", "node-operator/", "THORChain node operator", op},
		{"staffer", "staff/", "ThorChat staff member", staff},
		{"member", "account/", "", plain},
	}
	for _, tc := range cases {
		t.Run(tc.nick, func(t *testing.T) {
			priv := tc.priv
			acct := accountOf(t, priv)
			c := e.dial(t)
			c.nick = tc.nick
			c.capSASL()
			if m := c.login(priv); !strings.HasSuffix(m.Param(1), "@"+tc.prefix+acct) {
				t.Fatalf("900 mask %q, want host %s%s", m.Param(1), tc.prefix, acct)
			}
			c.register(tc.nick)
			c.send("WHOIS " + tc.nick)
			w := c.readUntil("318")
			if u := find(w, "311", nil); u == nil || u.Param(3) != tc.prefix+acct {
				t.Fatalf("WHOIS host %v, want %s%s", u, tc.prefix, acct)
			}
			m320 := find(w, "320", nil)
			if (tc.class == "") != (m320 == nil) || m320 != nil && !strings.Contains(m320.Trailing(), tc.class) {
				t.Fatalf("WHOIS 320 %v, want %q", m320, tc.class)
			}
		})
	}
}
