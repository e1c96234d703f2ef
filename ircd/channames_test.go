package ircd

import (
	"strings"
	"testing"
)

// TestChannelNameCharacters: JOIN refuses names that hold control, format
// (zero-width), bidi or other invisible characters with 479, keeps 476/403
// for the shape, and accepts visible non-ASCII names. A name that is not
// valid UTF-8 never reaches JOIN: UTF8ONLY refuses the whole line with
// FAIL JOIN INVALID_UTF8.
func TestChannelNameCharacters(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.connect("alice")
	cases := []struct {
		name string
		code string // "" joins
	}{
		{"#bad\xff\xfe", "FAIL"},
		{"#cut\xe2\x82", "FAIL"},
		{"#node\u202eoperators", "479"}, // right-to-left override
		{"#node\u200boperators", "479"}, // zero-width space
		{"#node\u2066x\u2069", "479"},   // bidi isolate
		{"#ctl\x01x", "479"},
		{"#nb\u00a0sp", "479"},
		{"#a:b", "476"},
		{"nohash", "403"},
		{"#café", ""},
		{"#日本語", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			if tc.code == "" {
				c.join(tc.name)
				return
			}
			m := c.expectCode("JOIN "+tc.name, tc.code)
			if tc.code == "FAIL" {
				if m.Param(0) != "JOIN" || m.Param(1) != "INVALID_UTF8" || strings.Contains(m.String(), tc.name) {
					t.Fatalf("got %v, want FAIL JOIN INVALID_UTF8 without the name", m)
				}
				return
			}
			if m.Param(1) != tc.name {
				t.Fatalf("%s names %q, want %q", tc.code, m.Param(1), tc.name)
			}
		})
	}
}

// TestRegisterRefusesLookalikes: ChanServ REGISTER refuses a name that is
// a TR39 confusable of a registered channel (Cyrillic letters, 0 for o);
// declared channels that look alike, or look like a registered one, stop
// the server from starting.
func TestRegisterRefusesLookalikes(t *testing.T) {
	st := newJSONChannelStore(t)
	ts := startRegServer(t, st, nil)
	alice := ts.regUser("alice", "alice1")
	alice.join("#node-operators")
	alice.chanServExpect("REGISTER #node-operators", "is now registered")
	for _, fake := range []string{"#n\u043ede-operators", "#NODE-0PERATORS", "#node-\u043eperat\u043ers"} {
		alice.join(fake)
		alice.chanServExpect("REGISTER "+fake, "looks too much like the registered channel #node-operators")
	}
	alice.join("#node-ops")
	alice.chanServExpect("REGISTER #node-ops", "is now registered")
	ts.stop()

	for _, tc := range []struct {
		name  string
		specs []string
	}{
		{"two declared look-alikes", []string{"#announce", "#ann\u043eunce"}},
		{"declared look-alike of a registered channel", []string{"#n\u043ede-operators"}},
	} {
		var cfg Config
		cfg.Name = "irc.test"
		a := newTestAuth()
		a.chans = st
		cfg.Backend = a
		for _, n := range tc.specs {
			cfg.Channels = append(cfg.Channels, ChannelSpec{Name: n})
		}
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), "look") {
			t.Fatalf("%s: New: %v", tc.name, err)
		}
	}
}
