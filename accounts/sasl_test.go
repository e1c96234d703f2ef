package accounts_test

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/sasl"
	"github.com/thorchat/thorchat/store"
)

// saslNumerics returns the 900..908 numerics in msgs, in order.
func saslNumerics(msgs []*irc.Message) []string {
	var out []string
	for _, m := range msgs {
		if len(m.Command) == 3 && strings.HasPrefix(m.Command, "90") {
			out = append(out, m.Command)
		}
	}
	return out
}

// begin starts a THORCHAT-SECP256K1 exchange and waits for "AUTHENTICATE +".
func (c *client) begin() {
	c.t.Helper()
	c.send("AUTHENTICATE " + sasl.MechSecp256k1)
	c.expect("AUTHENTICATE", func(m *irc.Message) bool { return m.Param(0) == "+" })
}

// sendPayload frames b as AUTHENTICATE chunks.
func (c *client) sendPayload(b []byte) {
	c.t.Helper()
	for _, p := range sasl.EncodeAuthenticate(b) {
		c.send("AUTHENTICATE " + p)
	}
}

// handshake is an exchange driven by hand up to the server challenge, so
// a test can answer it with any signature.
type handshake struct {
	priv   *secp256k1.PrivateKey
	cnonce []byte
	snonce []byte
}

// toChallenge sends a valid client-first for priv and returns the state
// needed to sign; it fails the test if no challenge arrives.
func (c *client) toChallenge(priv *secp256k1.PrivateKey) *handshake {
	c.t.Helper()
	c.begin()
	h := &handshake{priv: priv, cnonce: make([]byte, sasl.NonceLen)}
	rand.Read(h.cnonce)
	first := append(append([]byte{sasl.Version}, pub33(priv)...), h.cnonce...)
	c.sendPayload(first)
	var msgs []*irc.Message
	ch, ok := c.readChallenge(&msgs)
	if !ok || len(ch) != sasl.ChallengeLen || ch[0] != sasl.Version {
		c.t.Fatalf("no valid challenge: %v %x", msgs, ch)
	}
	h.snonce = ch[1:]
	return h
}

// message returns M as bound to ep.
func (h *handshake) message(t testing.TB, ep sasl.Endpoint) []byte {
	t.Helper()
	m, err := sasl.Message(ep, pub33(h.priv), h.cnonce, h.snonce)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// answer sends sig and returns the messages up to the end of the attempt.
func (c *client) answer(sig []byte) []*irc.Message {
	c.t.Helper()
	c.sendPayload(sig)
	return c.readUntil(saslEnd...)
}

// firstPayload sends a raw client-first payload after the mechanism.
func (c *client) firstPayload(b []byte) []*irc.Message {
	c.t.Helper()
	c.begin()
	c.sendPayload(b)
	return c.readUntil(saslEnd...)
}

func TestCapLSAdvertisesSASL(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true})
	mechs := strings.Join(e.svc.Mechanisms(), ",")
	if !slices.Contains(e.svc.Mechanisms(), sasl.MechSecp256k1) {
		t.Fatalf("mechanisms %q lack %s", mechs, sasl.MechSecp256k1)
	}
	for _, tc := range []struct {
		cmd, want string
	}{
		{"CAP LS 302", "sasl=" + mechs},
		{"CAP LS", "sasl"},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			c := e.dial(t)
			c.send(tc.cmd)
			var words []string
			for {
				m := c.expect("CAP", nil)
				words = append(words, strings.Fields(m.Trailing())...)
				if m.Param(2) != "*" {
					break
				}
			}
			if !slices.Contains(words, tc.want) {
				t.Fatalf("%s: caps %q lack %q", tc.cmd, words, tc.want)
			}
		})
	}
}

func TestLoginBeforeRegistration(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true})
	priv := key("alice")
	acct := accountOf(t, priv)

	c := e.dial(t)
	c.nick = "alice"
	c.send("CAP LS 302")
	c.send("NICK alice")
	c.send("USER alice 0 * :Alice A")
	c.capSASL()
	msgs := c.authenticate(priv, e.ep)
	if got := saslNumerics(msgs); !slices.Equal(got, []string{"900", "903"}) {
		t.Fatalf("numerics %v, want [900 903]; %v", got, msgs)
	}
	m := find(msgs, "900", nil)
	wantMask := "alice!~alice@account/" + acct
	if m.Param(0) != "alice" || m.Param(1) != wantMask || m.Param(2) != acct ||
		m.Trailing() != "You are now logged in as "+acct {
		t.Fatalf("900 = %q; want alice %s %s :You are now logged in as %s", m.Params, wantMask, acct, acct)
	}
	if _, err := e.db.GetAccount(acct); err != nil {
		t.Fatalf("account not created by the first login: %v", err)
	}
	reg := c.readUntilRegistered()
	welcome := find(reg, "001", nil)
	if !strings.HasSuffix(welcome.Trailing(), " "+wantMask) {
		t.Fatalf("001 %q does not greet %s", welcome.Trailing(), wantMask)
	}
	c.send("WHOIS alice")
	w := c.readUntil("318")
	if u := find(w, "311", nil); u == nil || u.Param(3) != "account/"+acct {
		t.Fatalf("WHOIS host: %v", w)
	}
	if a := find(w, "330", nil); a == nil || a.Param(2) != acct {
		t.Fatalf("WHOIS 330: %v", w)
	}
}

// readUntilRegistered sends CAP END and waits for the end of the MOTD.
func (c *client) readUntilRegistered() []*irc.Message {
	c.t.Helper()
	c.send("CAP END")
	msgs := c.readUntil("376", "ERROR")
	if find(msgs, "001", nil) == nil {
		c.t.Fatalf("not registered: %v", msgs)
	}
	return msgs
}

func TestSASLReplies(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true, icfg: func(c *ircd.Config) { c.SASL.MaxResponse = 1024 }})
	alice := key("alice")
	other := key("mallory")
	otherEP := e.ep
	otherEP.Port++
	otherHost := e.ep
	otherHost.Host = "localhost"

	signed := func(mut func(c *client, h *handshake) []byte) func(c *client) []*irc.Message {
		return func(c *client) []*irc.Message {
			h := c.toChallenge(alice)
			return c.answer(mut(c, h))
		}
	}
	goodFirst := func() []byte {
		b := append([]byte{sasl.Version}, pub33(alice)...)
		return append(b, make([]byte, sasl.NonceLen)...)
	}
	cases := []struct {
		name string
		run  func(c *client) []*irc.Message
		want []string
	}{
		{"valid signature", signed(func(c *client, h *handshake) []byte {
			s := sasl.Sign(alice, h.message(c.t, e.ep))
			return s[:]
		}), []string{"900", "903"}},
		{"unknown mechanism", func(c *client) []*irc.Message {
			c.send("AUTHENTICATE SCRAM-SHA-256")
			msgs := c.readUntil(saslEnd...)
			if m := find(msgs, "908", nil); m == nil || !slices.Contains(strings.Split(m.Param(1), ","), sasl.MechSecp256k1) {
				c.t.Errorf("908 does not list %s: %v", sasl.MechSecp256k1, msgs)
			}
			return msgs
		}, []string{"908", "904"}},
		{"malformed base64", func(c *client) []*irc.Message {
			c.begin()
			c.send("AUTHENTICATE !!!!")
			return c.readUntil(saslEnd...)
		}, []string{"904"}},
		{"empty client-first", func(c *client) []*irc.Message { return c.firstPayload(nil) }, []string{"904"}},
		{"short client-first", func(c *client) []*irc.Message { return c.firstPayload(goodFirst()[:40]) }, []string{"904"}},
		{"wrong version byte", func(c *client) []*irc.Message {
			b := goodFirst()
			b[0] = 2
			return c.firstPayload(b)
		}, []string{"904"}},
		{"uncompressed key prefix", func(c *client) []*irc.Message {
			b := goodFirst()
			b[1] = 4
			return c.firstPayload(b)
		}, []string{"904"}},
		{"key not on the curve", func(c *client) []*irc.Message {
			b := goodFirst()
			for i := 2; i < 34; i++ {
				b[i] = 0xff
			}
			return c.firstPayload(b)
		}, []string{"904"}},
		{"signature by another key", signed(func(c *client, h *handshake) []byte {
			s := sasl.Sign(other, h.message(c.t, e.ep))
			return s[:]
		}), []string{"904"}},
		{"signature with a flipped bit", signed(func(c *client, h *handshake) []byte {
			s := sasl.Sign(alice, h.message(c.t, e.ep))
			s[20] ^= 0x10
			return s[:]
		}), []string{"904"}},
		{"high-S signature", signed(func(c *client, h *handshake) []byte {
			s := sasl.Sign(alice, h.message(c.t, e.ep))
			var n secp256k1.ModNScalar
			n.SetByteSlice(s[32:])
			n.Negate()
			n.PutBytesUnchecked(s[32:])
			return s[:]
		}), []string{"904"}},
		{"short signature", signed(func(c *client, h *handshake) []byte {
			s := sasl.Sign(alice, h.message(c.t, e.ep))
			return s[:63]
		}), []string{"904"}},
		{"empty signature", signed(func(c *client, h *handshake) []byte { return nil }), []string{"904"}},
		{"signature bound to another port", signed(func(c *client, h *handshake) []byte {
			s := sasl.Sign(alice, h.message(c.t, otherEP))
			return s[:]
		}), []string{"904"}},
		{"signature bound to another host", signed(func(c *client, h *handshake) []byte {
			s := sasl.Sign(alice, h.message(c.t, otherHost))
			return s[:]
		}), []string{"904"}},
		{"chunk over 400 bytes", func(c *client) []*irc.Message {
			c.begin()
			c.send("AUTHENTICATE " + strings.Repeat("A", 404))
			return c.readUntil(saslEnd...)
		}, []string{"905"}},
		{"payload over the response bound", func(c *client) []*irc.Message {
			c.begin()
			for range 4 {
				c.send("AUTHENTICATE " + strings.Repeat("A", 400))
			}
			return c.readUntil(saslEnd...)
		}, []string{"905"}},
		{"400-byte chunk waits for more, + ends it", func(c *client) []*irc.Message {
			c.begin()
			c.send("AUTHENTICATE " + strings.Repeat("A", 400))
			if got := saslNumerics(c.collect()); len(got) != 0 {
				c.t.Errorf("reply to a 400-byte chunk: %v", got)
			}
			c.send("AUTHENTICATE +") // 300 zero bytes: not a client-first
			return c.readUntil(saslEnd...)
		}, []string{"904"}},
		{"abort before client-first", func(c *client) []*irc.Message {
			c.begin()
			c.send("AUTHENTICATE *")
			return c.readUntil(saslEnd...)
		}, []string{"906"}},
		{"abort after the challenge", func(c *client) []*irc.Message {
			c.toChallenge(alice)
			c.send("AUTHENTICATE *")
			return c.readUntil(saslEnd...)
		}, []string{"906"}},
		{"abort without an exchange", func(c *client) []*irc.Message {
			c.send("AUTHENTICATE *")
			return c.readUntil(saslEnd...)
		}, []string{"904"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial(t)
			c.capSASL()
			msgs := tc.run(c)
			if got := saslNumerics(msgs); !slices.Equal(got, tc.want) {
				t.Fatalf("numerics %v, want %v; %v", got, tc.want, msgs)
			}
			if tc.want[len(tc.want)-1] == "903" {
				return
			}
			// one failure leaves the connection usable
			c.login(alice)
			c.register(fmt.Sprintf("user%d", i))
			c.send("QUIT")
			c.expectClosed()
		})
	}
}

func TestSASLWithoutCap(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true})
	c := e.dial(t)
	c.send("AUTHENTICATE " + sasl.MechSecp256k1)
	msgs := c.readUntil(saslEnd...)
	if got := saslNumerics(msgs); !slices.Equal(got, []string{"904"}) {
		t.Fatalf("numerics %v, want [904]", got)
	}
}

func TestBannedKey(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true})
	priv := key("banned")
	acct := accountOf(t, priv)

	c := e.connect(t, "first", priv)
	c.send("QUIT")
	c.expectClosed()
	if _, err := e.db.SetAccountFlags(acct, store.FlagBanned, 0); err != nil {
		t.Fatal(err)
	}

	c = e.dial(t)
	c.capSASL()
	msgs := c.authenticate(priv, e.ep)
	if got := saslNumerics(msgs); !slices.Equal(got, []string{"902", "904"}) {
		t.Fatalf("banned login: %v, want [902 904]; %v", got, msgs)
	}
	if m := find(msgs, "902", nil); !strings.Contains(m.Trailing(), "banned") {
		t.Fatalf("902 gives no reason: %q", m.Trailing())
	}

	if _, err := e.db.SetAccountFlags(acct, 0, store.FlagBanned); err != nil {
		t.Fatal(err)
	}
	c.login(priv)
}

func TestSecondLoginOtherAccount(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true})
	alice, bob := key("alice"), key("bob")
	cases := []struct {
		name       string
		registered bool
	}{{"before registration", false}, {"after registration", true}}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial(t)
			c.capSASL()
			c.login(alice)
			nick := []string{"ra", "rb"}[i]
			if tc.registered {
				c.register(nick)
			}
			msgs := c.authenticate(bob, e.ep)
			if got := saslNumerics(msgs); !slices.Equal(got, []string{"907"}) {
				t.Fatalf("second account: %v, want [907]; %v", got, msgs)
			}
			// the same account again is fine
			c.login(alice)
			if !tc.registered {
				c.register(nick)
			}
			c.send("WHOIS " + nick)
			w := c.readUntil("318")
			if a := find(w, "330", nil); a == nil || a.Param(2) != accountOf(t, alice) {
				t.Fatalf("account changed: %v", w)
			}
		})
	}
}

func TestSASLStageTimeout(t *testing.T) {
	const stall = 30 * time.Second
	cases := []struct {
		name       string
		registered bool
		stage      func(c *client)
	}{
		{"waiting for client-first", false, func(c *client) { c.begin() }},
		{"waiting for the signature", false, func(c *client) { c.toChallenge(key("alice")) }},
		{"in the middle of a chunked payload", false, func(c *client) {
			c.begin()
			c.send("AUTHENTICATE " + strings.Repeat("A", 400))
		}},
		{"re-authentication after registration", true, func(c *client) { c.toChallenge(key("alice")) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnv(t, envOptions{noSync: true, icfg: func(c *ircd.Config) {
				c.Limits.RegistrationTimeout = time.Hour
				c.Limits.PingInterval = time.Hour
			}})
			c := e.dial(t)
			c.capSASL()
			if tc.registered {
				c.register("stall")
			}
			tc.stage(c)
			e.clock.Advance(stall - time.Second)
			time.Sleep(30 * time.Millisecond) // several 5 ms sweeps
			if got := saslNumerics(c.collect()); len(got) != 0 {
				t.Fatalf("failed before the timeout: %v", got)
			}
			e.clock.Advance(time.Second)
			m := c.expect("904", nil)
			if !strings.Contains(m.Trailing(), "timed out") {
				t.Fatalf("904 %q does not say it timed out", m.Trailing())
			}
			c.login(key("alice"))
		})
	}
}

func TestTooManyFailuresDisconnect(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true})
	alice := key("alice")
	badSig := func(c *client) {
		h := c.toChallenge(alice)
		s := sasl.Sign(key("mallory"), h.message(c.t, e.ep))
		c.answer(s[:])
	}
	unknownMech := func(c *client) {
		c.send("AUTHENTICATE NOPE")
		c.readUntil(saslEnd...)
	}
	tooLong := func(c *client) {
		c.begin()
		c.send("AUTHENTICATE " + strings.Repeat("A", 401))
		c.readUntil(saslEnd...)
	}
	abort := func(c *client) {
		c.begin()
		c.send("AUTHENTICATE *")
		c.readUntil(saslEnd...)
	}
	cases := []struct {
		name       string
		registered bool
		steps      []func(*client)
	}{
		{"three bad signatures", false, []func(*client){badSig, badSig, badSig}},
		{"mixed failures", false, []func(*client){unknownMech, tooLong, badSig}},
		{"after registration", true, []func(*client){badSig, tooLong, unknownMech}},
		{"aborts do not count", false, []func(*client){abort, abort, abort, badSig, abort, badSig, unknownMech}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial(t)
			c.capSASL()
			if tc.registered {
				c.register("fail" + string(rune('a'+i)))
			}
			last := len(tc.steps) - 1
			for _, step := range tc.steps[:last] {
				step(c)
			}
			c.collect() // still connected before the last failure
			tc.steps[last](c)
			msgs := c.expectClosed()
			errMsg := find(msgs, "ERROR", nil)
			if errMsg == nil || !strings.Contains(errMsg.Trailing(), "Too many failed SASL attempts") {
				t.Fatalf("no ERROR with the reason: %v", msgs)
			}
		})
	}
}

// TestRegistrationDuringSASL: CAP END while an exchange waits for the
// client aborts it (906) and registers without an account (IRCv3 SASL
// 3.1); CAP END pipelined right behind the signature waits for the
// signature check and registers logged in.
func TestRegistrationDuringSASL(t *testing.T) {
	e := startEnv(t, envOptions{noSync: true})
	alice := key("alice")
	cases := []struct {
		name     string
		stage    func(c *client)
		loggedIn bool
	}{
		{"after the mechanism", func(c *client) { c.begin() }, false},
		{"after the challenge", func(c *client) { c.toChallenge(alice) }, false},
		{"pipelined behind the signature", func(c *client) {
			h := c.toChallenge(alice)
			s := sasl.Sign(alice, h.message(c.t, e.ep))
			c.sendPayload(s[:])
		}, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nick := fmt.Sprintf("mid%d", i)
			c := e.dial(t)
			c.nick = nick
			c.send("CAP LS 302") // holds registration until CAP END
			c.send("NICK " + nick)
			c.send("USER " + nick + " 0 * :x")
			c.capSASL()
			tc.stage(c)
			msgs := c.readUntilRegistered()
			want := []string{"906"}
			if tc.loggedIn {
				want = []string{"900", "903"}
			}
			if got := saslNumerics(msgs); !slices.Equal(got, want) {
				t.Fatalf("numerics %v, want %v; %v", got, want, msgs)
			}
			c.send("WHOIS " + nick)
			if got := find(c.readUntil("318"), "330", nil) != nil; got != tc.loggedIn {
				t.Fatalf("logged in %v, want %v", got, tc.loggedIn)
			}
		})
	}
}
