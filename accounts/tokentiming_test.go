package accounts_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTokenLoginTimingHidesTokenIDs: a PLAIN login with an unknown token
// ID, or for an unknown account, takes as long as one with a real token ID
// and a wrong secret (one bcrypt compare of the same cost), so timing does
// not tell which token IDs exist. Each kind is tried on fresh connections
// over the socket and the fastest of three is compared.
func TestTokenLoginTimingHidesTokenIDs(t *testing.T) {
	e := startEnv(t, envOptions{})
	alice := key("alice")
	acct := accountOf(t, alice)
	if _, _, err := e.db.LoginAccount(pub33(alice), acct, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	tok, err := e.svc.NewToken(acct, "laptop", 0)
	if err != nil {
		t.Fatal(err)
	}
	tid, secret, _ := strings.Cut(strings.TrimPrefix(tok, "thc_"), "_")
	wrong := "thc_" + tid + "_" + strings.Repeat("a", len(secret))
	unknownID := "thc_" + strings.Repeat("b", len(tid)) + "_" + secret

	attempt := func(authcid, pass string) time.Duration {
		c := e.dial(t)
		c.capSASL()
		c.send("AUTHENTICATE PLAIN")
		c.expect("AUTHENTICATE", nil)
		payload := base64.StdEncoding.EncodeToString([]byte("\x00" + authcid + "\x00" + pass))
		start := time.Now()
		c.send("AUTHENTICATE " + payload)
		msgs := c.readUntil(saslEnd...)
		d := time.Since(start)
		if end := msgs[len(msgs)-1]; end.Command != "904" {
			t.Fatalf("PLAIN %s: %v", authcid, end)
		}
		c.conn.Close()
		return d
	}
	fastest := func(authcid, pass string) time.Duration {
		var ds []time.Duration
		for range 3 {
			ds = append(ds, attempt(authcid, pass))
		}
		return slices.Min(ds)
	}
	known := fastest(acct, wrong)
	for _, tc := range []struct {
		name, authcid, pass string
	}{
		{"unknown token ID", acct, unknownID},
		{"unknown account", accountOf(t, key("nobody")), unknownID},
	} {
		got := fastest(tc.authcid, tc.pass)
		if got < known/2 {
			t.Errorf("%s: %v, a known ID with a wrong secret: %v", tc.name, got, known)
		}
	}
}
