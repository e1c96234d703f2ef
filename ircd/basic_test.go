package ircd

import (
	"testing"

	"gopkg.in/irc.v4"
)

func TestRegistrationAndChannelChat(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice")
	b := ts.connect("bob")
	a.send("JOIN #chat")
	a.expect("JOIN", nil)
	a.expectNumeric("366")
	b.send("JOIN #chat")
	b.expect("JOIN", nil)
	names := b.expectNumeric("353")
	if names.Param(3) != "@alice bob" && names.Param(3) != "bob @alice" {
		t.Fatalf("names: %q", names.Param(3))
	}
	a.expect("JOIN", func(m *irc.Message) bool { return m.Name == "bob" })
	b.send("PRIVMSG #chat :hello there")
	m := a.expect("PRIVMSG", nil)
	if m.Param(0) != "#chat" || m.Trailing() != "hello there" || m.Name != "bob" {
		t.Fatalf("got %v", m)
	}
}
