package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/config"
)

// TestSIGHUPReloadsAllowlist: the operator allowlist file is re-read on
// SIGHUP and connected users are re-tagged at once (voice in a
// speak = "operators" channel given and taken).
func TestSIGHUPReloadsAllowlist(t *testing.T) {
	op := newKey(t)
	tc := newTestConfig(t)
	allow := filepath.Join(tc.Dir, "operators.allow")
	if err := os.WriteFile(allow, []byte("# nobody yet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tc.Channels = []config.Channel{{Name: "#node-operators", Topic: "ops", Modes: "+nt", Speak: "operators"}}
	tc.Extra = "[operators]\nfile = \"" + allow + "\"\n"
	d := startDaemon(t, tc.write(t))

	watcher := dial(t, d.addr, "watcher", nil)
	watcher.join("#node-operators", "")
	o := dial(t, d.addr, "nodeop", op)
	o.join("#node-operators", "")
	o.send("PRIVMSG #node-operators :may I speak?")
	o.expect("404", nil)

	isVoice := func(sign string) func(m *irc.Message) bool {
		return func(m *irc.Message) bool {
			return m.Param(0) == "#node-operators" && m.Param(1) == sign && m.Param(2) == "nodeop"
		}
	}
	hup := func() {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}

	// the key is added to the allowlist file: SIGHUP voices it at once
	if err := os.WriteFile(allow, []byte(op.account+" # node "+op.account+" status Active\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hup()
	watcher.expect("MODE", isVoice("+v"))
	o.send("PRIVMSG #node-operators :now I may")
	watcher.expect("PRIVMSG", func(m *irc.Message) bool { return m.Trailing() == "now I may" })
	o.send("WHOIS nodeop")
	o.expect("320", nil)

	// a broken file keeps the previous list
	if err := os.WriteFile(allow, []byte("not-a-key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hup()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.logs.String(), "reload failed; keeping the previous allowlist") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload failure logged:\n%s", d.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	o.send("PRIVMSG #node-operators :still here")
	watcher.expect("PRIVMSG", func(m *irc.Message) bool { return m.Trailing() == "still here" })

	// removed again: the voice is taken
	if err := os.WriteFile(allow, []byte("# revoked\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hup()
	watcher.expect("MODE", isVoice("-v"))
	o.send("PRIVMSG #node-operators :gone")
	o.expect("404", nil)
}
