package accounts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/accounts"
	"github.com/thorchat/thorchat/identity"
	"github.com/thorchat/thorchat/ircd"
)

const opChan = "#node-operators"

func operatorPolicy(t testing.TB, ops []*secp256k1.PrivateKey, staff []*secp256k1.PrivateKey) accounts.Policy {
	t.Helper()
	var entries []string
	for _, k := range ops {
		entries = append(entries, hexPub(k))
	}
	al, err := identity.ParseAllowlist("thor", entries)
	if err != nil {
		t.Fatal(err)
	}
	p := accounts.Policy{Operators: al, Staff: map[string]bool{}}
	for _, k := range staff {
		p.Staff[accountOf(t, k)] = true
	}
	return p
}

func speakChannel(c *ircd.Config) {
	c.Channels = []ircd.ChannelSpec{{Name: opChan, SpeakOperators: true}}
}

// isMode matches "MODE #node-operators <sign> <nick>".
func isMode(sign, nick string) func(*irc.Message) bool {
	return func(m *irc.Message) bool {
		return m.Param(0) == opChan && m.Param(1) == sign && m.Param(2) == nick
	}
}

// say sends a channel message and returns the 404 in reply, or nil.
func (c *client) say(text string) *irc.Message {
	c.t.Helper()
	c.send("PRIVMSG " + opChan + " :" + text)
	return find(c.collect(), "404", nil)
}

func TestSpeakOperatorsChannel(t *testing.T) {
	op, staff, member := key("op"), key("staff"), key("member")
	e := startEnv(t, envOptions{
		noSync: true,
		policy: operatorPolicy(t, []*secp256k1.PrivateKey{op}, []*secp256k1.PrivateKey{staff}),
		icfg:   speakChannel,
	})
	watcher := e.connect(t, "watcher", nil)
	watcher.join(opChan)
	watcher.send("MODE " + opChan)
	if m := watcher.expect("324", nil); !strings.Contains(m.Param(2), "m") {
		t.Fatalf("%s modes %q, want +m", opChan, m.Param(2))
	}

	cases := []struct {
		nick  string
		priv  *secp256k1.PrivateKey
		voice bool
	}{
		{"op", op, true},
		{"staffer", staff, true},
		{"member", member, false},
		{"anon", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.nick, func(t *testing.T) {
			c := e.connect(t, tc.nick, tc.priv)
			names := c.join(opChan)
			nm := find(names, "353", nil)
			if nm == nil {
				t.Fatalf("no NAMES: %v", names)
			}
			hasVoice := strings.Contains(" "+nm.Trailing()+" ", " +"+tc.nick+" ")
			if hasVoice != tc.voice {
				t.Fatalf("NAMES %q: voiced %v, want %v", nm.Trailing(), hasVoice, tc.voice)
			}
			watcher.expect("JOIN", isJoinOf(tc.nick))
			text := "status from " + tc.nick
			if tc.voice {
				watcher.expect("MODE", isMode("+v", tc.nick))
				if m := c.say(text); m != nil {
					t.Fatalf("voiced user cannot speak: %v", m)
				}
				watcher.expect("PRIVMSG", func(m *irc.Message) bool { return m.Trailing() == text })
				return
			}
			m := c.say(text)
			if m == nil {
				t.Fatalf("%s spoke in %s", tc.nick, opChan)
			}
			mustContain(t, "404", m.Trailing(), "node operators")
			for _, w := range watcher.collect() {
				if w.Command == "PRIVMSG" || w.Command == "MODE" {
					t.Fatalf("watcher got %v", w)
				}
			}
		})
	}
}

func TestReclassifyOnPolicyReload(t *testing.T) {
	op, promoted := key("op"), key("promoted")
	e := startEnv(t, envOptions{
		noSync: true,
		policy: operatorPolicy(t, []*secp256k1.PrivateKey{op}, nil),
		icfg:   speakChannel,
	})
	watcher := e.connect(t, "watcher", nil, "chghost")
	watcher.join(opChan)
	opc := e.connect(t, "op", op)
	opc.join(opChan)
	watcher.expect("MODE", isMode("+v", "op"))
	pc := e.connect(t, "promoted", promoted)
	pc.join(opChan)
	if m := pc.say("before"); m == nil {
		t.Fatal("non-operator spoke before the reload")
	}

	e.svc.SetPolicy(operatorPolicy(t, []*secp256k1.PrivateKey{promoted}, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Do(ctx, e.srv.Reclassify); err != nil {
		t.Fatal(err)
	}

	got := watcher.collect()
	if find(got, "MODE", isMode("-v", "op")) == nil || find(got, "MODE", isMode("+v", "promoted")) == nil {
		t.Fatalf("watcher after reload: %v, want MODE -v op and MODE +v promoted", got)
	}
	chg := find(got, "CHGHOST", func(m *irc.Message) bool { return m.Name == "op" })
	if chg == nil || chg.Param(1) != "account/"+accountOf(t, op) {
		t.Fatalf("no CHGHOST of op to account/: %v", got)
	}
	chg = find(got, "CHGHOST", func(m *irc.Message) bool { return m.Name == "promoted" })
	if chg == nil || chg.Param(1) != "node-operator/"+accountOf(t, promoted) {
		t.Fatalf("no CHGHOST of promoted to node-operator/: %v", got)
	}
	if m := opc.say("after"); m == nil {
		t.Fatal("revoked operator still speaks")
	}
	if m := pc.say("after"); m != nil {
		t.Fatalf("new operator cannot speak: %v", m)
	}
	watcher.expect("PRIVMSG", func(m *irc.Message) bool { return m.Name == "promoted" })

	// an unchanged policy changes nothing
	if err := e.srv.Do(ctx, e.srv.Reclassify); err != nil {
		t.Fatal(err)
	}
	for _, m := range watcher.collect() {
		if m.Command == "MODE" || m.Command == "CHGHOST" {
			t.Fatalf("second Reclassify sent %v", m)
		}
	}
}

// opersOnline returns the count in LUSERS 252.
func (c *client) opersOnline() string {
	c.t.Helper()
	c.send("LUSERS")
	return find(c.readUntil("266"), "252", nil).Param(1)
}

func TestOpers(t *testing.T) {
	oper := key("oper")
	pol := accounts.Policy{Opers: map[string]bool{accountOf(t, oper): true}}
	e := startEnv(t, envOptions{noSync: true, policy: pol})
	watcher := e.connect(t, "watcher", nil)
	watcher.join("#c")

	cases := []struct {
		name   string
		nick   string
		reauth bool // log in after registration
	}{
		{"login before registration", "oper1", false},
		{"login after registration", "oper2", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nick := tc.nick
			c := e.dial(t)
			c.nick = nick
			c.capSASL()
			var msgs []*irc.Message
			if tc.reauth {
				c.register(nick)
				msgs = append(c.authenticate(oper, e.ep), c.collect()...)
			} else {
				c.login(oper)
				msgs = append(c.register(nick), c.collect()...)
			}
			if find(msgs, "381", nil) == nil {
				t.Fatalf("no 381: %v", msgs)
			}
			if n := watcher.opersOnline(); n != "1" {
				t.Fatalf("LUSERS opers %s, want 1", n)
			}
			c.join("#c")
			watcher.send("WHO #c")
			who := find(watcher.readUntil("315"), "352", func(m *irc.Message) bool { return m.Param(5) == nick })
			if who == nil || !strings.Contains(who.Param(6), "*") {
				t.Fatalf("WHO flags of oper: %v", who)
			}
			watcher.send("WHOIS " + nick)
			if find(watcher.readUntil("318"), "313", nil) == nil {
				t.Fatal("no WHOIS 313 for oper")
			}
			c.send("QUIT")
			c.expectClosed()
			watcher.expect("QUIT", isJoinOf(nick))
			if n := watcher.opersOnline(); n != "0" {
				t.Fatalf("LUSERS opers %s after the oper quit, want 0", n)
			}
		})
	}
	watcher.send("WHOIS watcher")
	if find(watcher.readUntil("318"), "313", nil) != nil {
		t.Fatal("WHOIS 313 for a non-oper")
	}
}
