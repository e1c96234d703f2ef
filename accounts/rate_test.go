package accounts_test

import (
	"fmt"
	"testing"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/accounts"
	"github.com/thorchat/thorchat/sasl"
)

// TestLoginRate drives n logins whose signature steps reach the server
// at once, against a server-wide budget of rate logins/s (burst 1).
func TestLoginRate(t *testing.T) {
	cases := []struct {
		name    string
		rate    float64
		wait    time.Duration
		n       int
		allPass bool // the budget refills well within wait
	}{
		{"queued logins all succeed", 50, 5 * time.Second, 10, true},
		{"logins over budget fail within LoginWait", 0.2, 300 * time.Millisecond, 6, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnv(t, envOptions{noSync: true, acfg: func(c *accounts.Config) {
				c.LoginRate, c.LoginBurst, c.LoginWait = tc.rate, 1, tc.wait
			}})
			conns := make([]*client, tc.n)
			clis := make([]*sasl.Secp256k1Client, tc.n)
			sigs := make([][]byte, tc.n)
			for i := range conns {
				c := e.dial(t)
				c.nick = fmt.Sprintf("r%d", i)
				c.capSASL()
				c.begin()
				priv := key(c.nick)
				clis[i] = sasl.NewSecp256k1Client(e.ep, sasl.NewKeySigner(priv), nil)
				first, err := clis[i].Next(nil)
				if err != nil {
					t.Fatal(err)
				}
				c.sendPayload(first)
				conns[i] = c
			}
			for i, c := range conns {
				var msgs []*irc.Message
				ch, ok := c.readChallenge(&msgs)
				if !ok {
					t.Fatalf("%s: no challenge: %v", c.nick, msgs)
				}
				sig, err := clis[i].Next(ch)
				if err != nil {
					t.Fatal(err)
				}
				sigs[i] = sig
			}
			start := time.Now()
			for i, c := range conns {
				c.sendPayload(sigs[i])
			}
			ok := 0
			for _, c := range conns {
				msgs := c.readUntil(saslEnd...)
				switch last := msgs[len(msgs)-1].Command; last {
				case "903":
					ok++
				case "904":
				default:
					t.Fatalf("%s: login ended with %s: %v", c.nick, last, msgs)
				}
			}
			elapsed := time.Since(start)
			if elapsed > tc.wait+2*time.Second {
				t.Fatalf("logins took %v with LoginWait %v", elapsed, tc.wait)
			}
			if tc.allPass && ok != tc.n {
				t.Fatalf("%d of %d logins succeeded, want all", ok, tc.n)
			}
			if limit := 1 + int(elapsed.Seconds()*tc.rate); ok < 1 || ok > limit {
				t.Fatalf("%d logins succeeded in %v at %v/s burst 1, want 1..%d", ok, elapsed, tc.rate, limit)
			}
		})
	}
}
