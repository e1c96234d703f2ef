package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/client"
	"github.com/thorchat/thorchat/config"
	"github.com/thorchat/thorchat/identity"
	"github.com/thorchat/thorchat/sasl"
)

// nickServ sends "NS <text>" and returns NickServ's notices up to a round
// trip.
func (c *ircClient) nickServ(text string) []string {
	c.t.Helper()
	c.send("NS :" + text)
	var out []string
	for _, m := range c.collect() {
		if m.Command == "NOTICE" && m.Name == "NickServ" {
			out = append(out, m.Trailing())
		}
	}
	return out
}

// expectNickServ sends "NS <text>" and fails unless a notice contains want.
func (c *ircClient) expectNickServ(text, want string) []string {
	c.t.Helper()
	got := c.nickServ(text)
	for _, n := range got {
		if strings.Contains(n, want) {
			return got
		}
	}
	c.t.Fatalf("%s: NS %s: want a notice with %q, got %q", c.nick, text, want, got)
	return nil
}

// linkChallenge asks for a KEY LINK challenge for newKey and returns the
// key as the server shows it and the nonce.
func (c *ircClient) linkChallenge(newKey *testKey) (display string, nonce []byte) {
	c.t.Helper()
	for _, n := range c.nickServ("KEY LINK " + hex.EncodeToString(newKey.priv.PubKey().SerializeCompressed())) {
		if rest, ok := strings.CutPrefix(n, "KEY LINK CHALLENGE "); ok {
			f := strings.Fields(rest)
			b, err := base64.StdEncoding.DecodeString(f[1])
			if err != nil || len(f) != 2 {
				c.t.Fatalf("bad challenge %q", n)
			}
			return f[0], b
		}
	}
	c.t.Fatal("no KEY LINK CHALLENGE")
	return "", nil
}

func sig64(t *testing.T, k *testKey, msg []byte) string {
	t.Helper()
	s, err := k.signer.SignMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(s[:])
}

// TestKeyLinkKeepsAccount: a node operator's key is replaced by a new one.
// Linking needs both signatures over a fresh challenge for this server;
// then the new key logs in to the old account with its nick, channel
// access and credentials; the operator tag follows whichever linked key is
// on the allowlist through SIGHUP; and the old key, unlinked with its
// credentials revoked from the new key, no longer gets in.
func TestKeyLinkKeepsAccount(t *testing.T) {
	oldK, newK, stranger, canary := newKey(t), newKey(t), newKey(t), newKey(t)
	tc := newTestConfig(t)
	allow := filepath.Join(tc.Dir, "operators.allow")
	writeAllow := func(accts ...string) {
		t.Helper()
		var b strings.Builder
		for _, a := range accts {
			b.WriteString(a + " # node\n")
		}
		if err := os.WriteFile(allow, []byte(b.String()+"# end\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hup := func() {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	writeAllow(oldK.account)
	tc.Channels = []config.Channel{{Name: "#node-operators", Topic: "ops", Modes: "+nt", Speak: "operators"}}
	tc.Extra = "[operators]\nfile = \"" + allow + "\"\n"
	d := startDaemon(t, tc.write(t))
	ep := sasl.Endpoint{Host: "127.0.0.1", Port: uint16(tc.Port)}

	// the old key's account: a claimed nick, a registered channel, a token
	o := dial(t, d.addr, "nodeop", oldK)
	o.expectNickServ("CLAIM", "is now claimed by "+oldK.account)
	o.join("#club", "")
	o.expectChanServ("REGISTER #club", "#club is now registered to "+oldK.account)
	o.expectNickServ("TOKEN NEW laptop", "TOKEN laptop thc_")
	o.join("#node-operators", "")

	oldPub, newPub := oldK.priv.PubKey().SerializeCompressed(), newK.priv.PubKey().SerializeCompressed()
	refusals := []struct {
		name   string
		sign   func(msg []byte) (string, string)
		msgFor func(nonce []byte) []byte
		want   string
	}{
		{"new key's signature forged", func(m []byte) (string, string) { return sig64(t, oldK, m), sig64(t, stranger, m) },
			func(n []byte) []byte { return linkMsg(t, ep, oldK.account, oldPub, newPub, n) }, "new key's signature does not verify"},
		{"old key's signature forged", func(m []byte) (string, string) { return sig64(t, stranger, m), sig64(t, newK, m) },
			func(n []byte) []byte { return linkMsg(t, ep, oldK.account, oldPub, newPub, n) }, "old key's signature does not verify"},
		{"signed for another host", func(m []byte) (string, string) { return sig64(t, oldK, m), sig64(t, newK, m) },
			func(n []byte) []byte {
				return linkMsg(t, sasl.Endpoint{Host: "evil.onion", Port: ep.Port}, oldK.account, oldPub, newPub, n)
			}, "signature does not verify"},
		{"signed for another account", func(m []byte) (string, string) { return sig64(t, oldK, m), sig64(t, newK, m) },
			func(n []byte) []byte { return linkMsg(t, ep, stranger.account, oldPub, newPub, n) }, "signature does not verify"},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			o.t = t
			display, nonce := o.linkChallenge(newK)
			so, sn := r.sign(r.msgFor(nonce))
			o.expectNickServ("KEY LINK "+display+" "+so+" "+sn, r.want)
		})
	}
	o.t = t

	// a correct answer to a challenge that was already answered (a replay)
	display, nonce := o.linkChallenge(newK)
	m := linkMsg(t, ep, oldK.account, oldPub, newPub, nonce)
	good := "KEY LINK " + display + " " + sig64(t, oldK, m) + " " + sig64(t, newK, m)
	o.expectNickServ("KEY LINK "+display+" "+sig64(t, oldK, m)+" "+sig64(t, stranger, m), "does not verify")
	o.expectNickServ(good, "no challenge is pending")
	// an answer to an earlier challenge after a new one was issued
	o.linkChallenge(newK)
	o.expectNickServ(good, "does not verify")
	o.expectNickServ("KEY LIST", "End of keys (1)")

	// the real link, through the client library and a second connection
	lc, err := client.Dial(context.Background(), client.Config{Addr: d.addr, Nick: "linker", Signer: oldK.signer, Timeout: waitFor})
	if err != nil {
		t.Fatal(err)
	}
	shown, err := lc.LinkKey(context.Background(), newK.signer)
	if err != nil {
		t.Fatalf("LinkKey: %v", err)
	}
	if !strings.HasPrefix(shown, "thorpub1") {
		t.Fatalf("linked key shown as %q", shown)
	}
	keys, err := lc.ListKeys(context.Background())
	if err != nil || len(keys) != 2 {
		t.Fatalf("ListKeys = %q, %v", keys, err)
	}
	lc.Quit("done")

	// the new key lands in the old account, with its nick, access, token
	o.send("NICK nodeop-old")
	o.expect("NICK", nil)
	n := dial(t, d.addr, "nodeop", newK)
	if got := n.conn.Account(); got != oldK.account {
		t.Fatalf("new key logged in as %q, want the old account %s", got, oldK.account)
	}
	n.join("#club", "")
	n.expectChanServMode("#club", "+o", "nodeop")
	n.expectNickServ("LIST", "CREDENTIAL laptop token")
	n.expectNickServ("INFO nodeop", "claimed by "+oldK.account)
	n.join("#node-operators", "")
	n.send("WHOIS nodeop")
	n.expect("320", nil) // tagged: the old key is on the allowlist
	n.expectNickServ("KEY UNLINK "+hex.EncodeToString(newPub), "log in with another key")

	// the old node leaves the allowlist and the new one enters: nothing
	// changes for the person
	watcher := dial(t, d.addr, "watcher", nil)
	watcher.join("#node-operators", "")
	cn := dial(t, d.addr, "canary", canary) // its voice shows the reload is done
	cn.join("#node-operators", "")
	writeAllow(newK.account, canary.account)
	hup()
	watcher.expect("MODE", func(m *irc.Message) bool { return m.Param(1) == "+v" && m.Param(2) == "canary" })
	n.send("PRIVMSG #node-operators :still an operator")
	watcher.expect("PRIVMSG", func(m *irc.Message) bool { return m.Trailing() == "still an operator" })

	// the old key is compromised: the new key unlinks it and revokes the
	// credentials in one command; the old key's session is dropped
	oldDisplay := identity.EncodePubKey("thorpub", oldPub)
	n.expectNickServ("KEY UNLINK "+oldDisplay+" REVOKE", "1 device credential(s) revoked")
	o.expect("ERROR", nil)
	n.expectNickServ("LIST", "End of credentials (0)")
	n.expectNickServ("KEY UNLINK "+hex.EncodeToString(newPub), "the last key of an account cannot be unlinked")
	if _, err := tryDial(d.addr, "thief", oldK); err == nil {
		t.Fatal("the unlinked old key still logs in")
	} else if !strings.Contains(err.Error(), "904") {
		t.Fatalf("unlinked old key: %v, want 904", err)
	}

	// the unlinked key on the allowlist no longer tags the account
	writeAllow(oldK.account)
	hup()
	watcher.expect("MODE", func(m *irc.Message) bool {
		return m.Param(0) == "#node-operators" && m.Param(1) == "-v" && m.Param(2) == "nodeop"
	})
}

func linkMsg(t *testing.T, ep sasl.Endpoint, account string, oldPub, newPub, nonce []byte) []byte {
	t.Helper()
	m, err := sasl.LinkMessage(ep, account, oldPub, newPub, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
