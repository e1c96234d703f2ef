package ircd

import (
	"testing"

	"gopkg.in/irc.v4"
)

// TestWhoHidesInvisibleUsersChannels: WHO follows WHOIS's rules: the
// channel of a +i user is shown only to those who share it (and to the
// user and IRC operators), in plain WHO and in WHOX's %c field, whether
// the query names the nick or matches a mask.
func TestWhoHidesInvisibleUsersChannels(t *testing.T) {
	ts := startServer(t, nil)
	hidden := ts.connect("hidden")
	hidden.send("MODE hidden +i")
	hidden.expect("MODE", nil)
	hidden.join("#hideout")
	outsider := ts.connect("outsider")
	friend := ts.connect("friend")
	friend.join("#hideout")

	chanOf := func(m *irc.Message) string {
		if m.Command == "352" {
			return m.Param(1)
		}
		return m.Param(1) // WHOX: %cn puts the channel first
	}
	cases := []struct {
		name string
		who  *testClient
		line string
		code string
		want string // channel field; "" means no reply line at all
	}{
		{"outsider, WHO nick", outsider, "WHO hidden", "352", "*"},
		{"outsider, WHOX nick", outsider, "WHO hidden %cn", "354", "*"},
		{"outsider, WHO mask", outsider, "WHO hid*", "352", ""},
		{"outsider, WHOIS", outsider, "WHOIS hidden", "319", ""},
		{"friend, WHO nick", friend, "WHO hidden", "352", "#hideout"},
		{"friend, WHOX mask", friend, "WHO hid* %cn", "354", "#hideout"},
		{"self, WHO nick", hidden, "WHO hidden", "352", "#hideout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.who.t = t
			tc.who.send(tc.line)
			msgs := tc.who.collect()
			m := find(msgs, tc.code, func(m *irc.Message) bool {
				return m.Command != "354" || m.Param(2) == "hidden"
			})
			if tc.want == "" {
				if m != nil {
					t.Fatalf("%q shows %v", tc.line, m)
				}
				return
			}
			if m == nil {
				t.Fatalf("%q: no %s in %v", tc.line, tc.code, msgs)
			}
			if got := chanOf(m); got != tc.want {
				t.Fatalf("%q: channel field %q, want %q (%v)", tc.line, got, tc.want, m)
			}
		})
	}
}
