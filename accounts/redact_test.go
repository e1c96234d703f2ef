package accounts_test

import (
	"slices"
	"testing"

	"gopkg.in/irc.v4"
)

// draft/message-redaction over real sockets and a real bbolt file.

var redactCaps = append([]string{"draft/message-redaction"}, histCaps...)

// redacts returns "nick target msgid reason" of the REDACT lines in msgs.
func redacts(msgs []*irc.Message) []string {
	var out []string
	for _, m := range msgs {
		if m.Command == "REDACT" {
			out = append(out, m.Prefix.Name+" "+m.Param(0)+" "+m.Param(1)+" "+m.Param(2))
		}
	}
	return out
}

func TestRedact(t *testing.T) {
	e := startHistEnv(t, histOpts{private: true})
	op := e.connect(t, "op", key("d-op"), redactCaps...) // first in: channel operator
	op.join("#rd")
	bob := e.connect(t, "bob", key("d-bob"), redactCaps...)
	bob.join("#rd")
	carol := e.connect(t, "carol", key("d-carol"), histCaps...) // no redaction cap
	carol.join("#rd")
	guest := e.connect(t, "guest", nil, redactCaps...)
	guest.join("#rd")
	op.join("#other")
	other := op.speak("#other", "elsewhere")
	opMsg := op.speak("#rd", "from the operator")
	secret := bob.speak("#rd", "my password is hunter2")
	spam := bob.speak("#rd", "buy now")
	guestMsg := guest.speak("#rd", "guest line")
	bob.send("@+draft/react=👍;+draft/reply=" + opMsg + " TAGMSG #rd")
	react := bob.expect("TAGMSG", nil).Tags["msgid"]
	for _, c := range []*client{op, bob, carol, guest} {
		c.collect()
	}

	tests := []struct {
		name     string
		by       *client
		cmd      string
		fail     string // FAIL REDACT code; "" for success
		redacted string // msgid removed from history
	}{
		{"own message, with a reason", bob, "REDACT #rd " + secret + " :wrong window", "", secret},
		{"someone else's message", bob, "REDACT #rd " + opMsg, "REDACT_FORBIDDEN", ""},
		{"channel operator, someone else's", op, "REDACT #rd " + spam + " :spam", "", spam},
		{"own react", bob, "REDACT #rd " + react, "", react},
		{"guest, own message", guest, "REDACT #rd " + guestMsg, "", guestMsg},
		{"already redacted", bob, "REDACT #rd " + secret, "UNKNOWN_MSGID", ""},
		{"unknown msgid", bob, "REDACT #rd nosuchmessage", "UNKNOWN_MSGID", ""},
		{"msgid of another channel", op, "REDACT #rd " + other, "UNKNOWN_MSGID", ""},
		{"channel not joined", bob, "REDACT #other " + other, "INVALID_TARGET", ""},
		{"no such channel", bob, "REDACT #nowhere " + other, "INVALID_TARGET", ""},
		{"guest, private target", guest, "REDACT bob " + secret, "INVALID_TARGET", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.by.send(tt.cmd)
			msgs := tt.by.readUntil("REDACT", "FAIL")
			last := msgs[len(msgs)-1]
			if tt.fail != "" {
				if last.Command != "FAIL" || last.Param(0) != "REDACT" || last.Param(1) != tt.fail {
					t.Fatalf("got %v, want FAIL REDACT %s", last, tt.fail)
				}
				for _, c := range []*client{op, bob, carol, guest} {
					if got := redacts(c.collect()); got != nil {
						t.Fatalf("%s saw %v after a refused REDACT", c.nick, got)
					}
				}
				return
			}
			if last.Command != "REDACT" || last.Param(1) != tt.redacted || last.Tags["msgid"] == "" || last.Tags["time"] == "" {
				t.Fatalf("echo: %v", last)
			}
			want := []string{last.Prefix.Name + " #rd " + tt.redacted + " " + last.Param(2)}
			for _, c := range []*client{op, bob, guest} {
				if c == tt.by {
					continue
				}
				if got := redacts(c.collect()); !slices.Equal(got, want) {
					t.Fatalf("%s got %v, want %v", c.nick, got, want)
				}
			}
			if got := redacts(carol.collect()); got != nil {
				t.Fatalf("a client without the cap got %v", got)
			}
			ent, err := e.db.HistoryEntryByID(tt.redacted)
			if err != nil || !ent.Redacted || ent.Text != "" || ent.Tags != nil {
				t.Fatalf("stored: %+v, %v; want a tombstone", ent, err)
			}
		})
	}
	// the reason is relayed
	if got := redacts(op.collect()); got != nil {
		t.Fatalf("left over: %v", got)
	}
	// CHATHISTORY leaves redacted messages out
	r := carol.history("CHATHISTORY LATEST #rd * 50")
	if got, want := r.texts(), []string{"from the operator"}; !slices.Equal(got, want) {
		t.Fatalf("history after redactions: %v, want %v", got, want)
	}

	// a private conversation: only one's own messages
	dm := op.speak("bob", "a private mistake")
	bob.expect("PRIVMSG", nil)
	fromBob := bob.speak("op", "reply")
	op.collect()
	bob.send("REDACT op " + dm)
	if m := bob.expect("FAIL", nil); m.Param(1) != "REDACT_FORBIDDEN" {
		t.Fatalf("redacting the peer's message: %v", m)
	}
	op.send("REDACT bob " + dm)
	if m := op.expect("REDACT", nil); m.Param(0) != "bob" || m.Param(1) != dm {
		t.Fatalf("private echo: %v", m)
	}
	if m := bob.expect("REDACT", nil); m.Param(0) != "bob" || m.Param(1) != dm || m.Prefix.Name != "op" {
		t.Fatalf("private relay: %v", m)
	}
	if got := bob.history("CHATHISTORY LATEST op * 10").texts(); !slices.Equal(got, []string{"reply"}) {
		t.Fatalf("private history after the redaction: %v (reply %s)", got, fromBob)
	}
}
