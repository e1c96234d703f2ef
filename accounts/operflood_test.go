package accounts_test

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/accounts"
)

// operReplies are the numerics that answer OPER.
var operReplies = []string{"381", "464", "491", "263"}

// oper sends OPER and returns the numeric that answers it.
func (c *client) oper(name, pass string) *irc.Message {
	c.t.Helper()
	c.send("OPER " + name + " :" + pass)
	msgs := c.readUntil(operReplies...)
	return msgs[len(msgs)-1]
}

// operHash is a configured OPER password hash of a cost other than the
// 10 the old dummy hash had, so that a dummy of another cost shows.
func operHash(t testing.TB, pass string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), 6)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// TestOperRefusedWithoutHashing: OPER is answered 491 at once, with no
// bcrypt run, when no passwords are configured, to guests, to token
// sessions and to classes not allowed; only a key login may try.
func TestOperRefusedWithoutHashing(t *testing.T) {
	boss := key("oper-boss")
	withPw := accounts.Policy{OperPasswords: map[string]string{"admin": operHash(t, "secret")}}
	staffOnly := withPw
	staffOnly.OperClasses = []string{"staff"}
	cases := []struct {
		name   string
		policy accounts.Policy
		priv   bool   // log in with the key
		token  bool   // log in with a token
		want   string // numeric for a wrong password
	}{
		{"no passwords, guest", accounts.Policy{}, false, false, "491"},
		{"no passwords, key login", accounts.Policy{}, true, false, "491"},
		{"guest", withPw, false, false, "491"},
		{"token login", withPw, false, true, "491"},
		{"class not allowed", staffOnly, true, false, "491"},
		{"key login", withPw, true, false, "464"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnv(t, envOptions{noSync: true, policy: tc.policy, acfg: func(c *accounts.Config) { c.OperBurst = 100 }})
			var c *client
			switch {
			case tc.token:
				tok := e.connect(t, "owner", boss).newToken("bot")
				c = e.dial(t)
				c.capSASL()
				if got := saslNumerics(c.plainLogin(accountOf(t, boss), tok)); !slices.Equal(got, []string{"900", "903"}) {
					t.Fatalf("token login: %v", got)
				}
				c.register("u")
			case tc.priv:
				c = e.connect(t, "u", boss)
			default:
				c = e.connect(t, "u", nil)
			}
			n := 10
			if tc.want == "464" {
				n = 2 // the third failure disconnects
			}
			cpu := processCPU()
			for range n {
				if m := c.oper("admin", "wrong"); m.Command != tc.want {
					t.Fatalf("OPER: %v, want %s", m, tc.want)
				}
			}
			if tc.want == "491" {
				// ten refusals cost less CPU than one bcrypt of cost 10
				// (about 90 ms here; seconds under -race)
				if used := processCPU() - cpu; used > 80*time.Millisecond {
					t.Fatalf("10 refused OPERs used %v of CPU: something hashed", used)
				}
				return
			}
			if m := c.oper("admin", "secret"); m.Command != "381" {
				t.Fatalf("OPER with the password: %v", m)
			}
		})
	}
}

// TestOperUnknownNameSameCost: an unknown OPER name costs the same bcrypt
// work as a known one (the costliest configured hash), so names cannot be
// probed by timing. Measured as process CPU, which a loaded machine does
// not inflate the way it does wall time.
func TestOperUnknownNameSameCost(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true,
		policy: accounts.Policy{OperPasswords: map[string]string{"admin": operHash(t, "secret")}},
		acfg:   func(c *accounts.Config) { c.OperBurst = 100 }})
	var known, unknown time.Duration
	for i := range 3 {
		for _, name := range []string{"admin", "nosuchoper"} {
			c := e.connect(t, fmt.Sprintf("u%s%d", name[:2], i), key(fmt.Sprintf("cost-%s-%d", name, i)))
			cpu := processCPU()
			if m := c.oper(name, "wrong"); m.Command != "464" {
				t.Fatalf("OPER %s: %v", name, m)
			}
			used := processCPU() - cpu
			if name == "admin" {
				known += used
			} else {
				unknown += used
			}
		}
	}
	if r := float64(unknown) / float64(known); r < 0.5 || r > 2 {
		t.Fatalf("CPU for 3 OPERs: unknown name %v, known name %v (ratio %.2f): the costs differ", unknown, known, r)
	}
}

// TestOperBudget: OPER checks have their own slots and server-wide
// bucket, and attempts over either are refused at once with 263.
func TestOperBudget(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true,
		policy: accounts.Policy{OperPasswords: map[string]string{"admin": operHash(t, "secret")}},
		acfg:   func(c *accounts.Config) { c.OperRate, c.OperBurst, c.OperSlots = 0.001, 2, 1 }})
	const n = 6
	cs := make([]*client, n)
	for i := range cs {
		cs[i] = e.connect(t, fmt.Sprintf("b%d", i), key(fmt.Sprintf("budget-%d", i)))
	}
	for _, c := range cs {
		c.send("OPER admin :wrong")
	}
	got := map[string]int{}
	for _, c := range cs {
		msgs := c.readUntil(operReplies...)
		got[msgs[len(msgs)-1].Command]++
	}
	if got["464"] < 1 || got["464"] > 2 || got["263"] != n-got["464"] {
		t.Fatalf("replies %v: want at most the burst (2) checked, the rest 263", got)
	}
}

// TestOperFloodDoesNotDelayLogin: many guests and logged-in users sending
// OPER at once do not delay a concurrent login much: guests are refused
// without hashing, and the few checks allowed run on OPER's own slots.
// Before, every OPER ran a cost-10 bcrypt on the slots logins use.
func TestOperFloodDoesNotDelayLogin(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true,
		policy: accounts.Policy{OperPasswords: map[string]string{"admin": operHash(t, "secret")}}})
	loginTime := func(i int) time.Duration {
		c := e.dial(t)
		c.capSASL()
		start := time.Now()
		c.login(key(fmt.Sprintf("latency-%d", i)))
		return time.Since(start)
	}
	median := func(d []time.Duration) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2]
	}
	var base []time.Duration
	for i := range 5 {
		base = append(base, loginTime(i))
	}
	// a user's third wrong password would disconnect it: users send two
	const guests, users = 30, 6
	var flood []*client
	for i := range guests {
		flood = append(flood, e.connect(t, fmt.Sprintf("g%d", i), nil))
	}
	for i := range users {
		flood = append(flood, e.connect(t, fmt.Sprintf("k%d", i), key(fmt.Sprintf("flood-%d", i))))
	}
	each := func(i int) int { return 3 - i/guests }
	for i, c := range flood {
		for j := range each(i) {
			c.send(fmt.Sprintf("OPER %s :guess", []string{"admin", "root", "oper"}[j]))
		}
	}
	var during []time.Duration
	for i := range 3 {
		during = append(during, loginTime(100+i))
	}
	b, d := median(base), median(during)
	if bound := 2*b + 200*time.Millisecond; d > bound {
		t.Fatalf("login during an OPER flood took %v (median of 3), without %v: over %v", d, b, bound)
	}
	for i, c := range flood {
		for range each(i) {
			msgs := c.readUntil(append(operReplies, "ERROR")...)
			if last := msgs[len(msgs)-1].Command; last == "381" || last == "ERROR" {
				t.Fatalf("%s: %v", c.nick, msgs)
			}
		}
	}
	t.Logf("login median %v without, %v during an OPER flood", b, d)
}
