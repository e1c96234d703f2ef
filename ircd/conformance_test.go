package ircd

import (
	"strings"
	"testing"
)

// TestClientTagDataLimit: a client's tag data (between '@' and the space)
// is at most 4094 bytes (message-tags "Size limit"); more gets 417 and is
// not relayed, never truncated.
func TestClientTagDataLimit(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice", "message-tags")
	b := ts.connect("bob", "message-tags")
	tagData := func(n int, key string) string { // n bytes of tag data
		return key + "=" + strings.Repeat("v", n-len(key)-1)
	}
	tests := []struct {
		name      string
		tags      string
		delivered bool
	}{
		{"4094 bytes of client-only tags", tagData(4094, "+k"), true},
		{"4095 bytes of client-only tags", tagData(4095, "+k"), false},
		{"two client-only tags over 4094 together", tagData(2048, "+a") + ";" + tagData(2048, "+b"), false},
		{"client-only and other tags over 4094", tagData(4000, "+a") + ";" + tagData(100, "label"), false},
		{"8000 bytes of client-only tags", tagData(8000, "+k"), false},
	}
	for _, tt := range tests {
		for _, cmd := range []string{"PRIVMSG bob :hi", "TAGMSG bob"} {
			t.Run(tt.name+" "+cmd, func(t *testing.T) {
				a.send("@" + tt.tags + " " + cmd)
				msgs := a.collect()
				got := b.collect()
				if tt.delivered {
					if len(msgs) != 0 || len(got) != 1 || len(got[0].Tags["+k"]) != 4094-3 {
						t.Fatalf("sender %v, receiver %d messages", msgs, len(got))
					}
					return
				}
				if len(msgs) != 1 || msgs[0].Command != "417" {
					t.Fatalf("sender got %v, want 417", msgs)
				}
				if len(got) != 0 {
					t.Fatalf("relayed: %d messages", len(got))
				}
			})
		}
	}
}
