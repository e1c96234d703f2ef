package ircd

import (
	"strings"
	"testing"
	"time"
)

// BenchmarkFanoutSerialize measures what a channel PRIVMSG costs on the
// processing goroutine apart from the sockets: building the message once
// and picking each member's serialization (one per tag variant).
func BenchmarkFanoutSerialize(b *testing.B) {
	s, err := New(Config{Name: "irc.bench"})
	if err != nil {
		b.Fatal(err)
	}
	mixes := []capSet{0, capServerTime, capMessageTags, capServerTime | capMessageTags | capAccountTag}
	const members = 200
	caps := make([]capSet, members)
	for i := range caps {
		caps[i] = mixes[i%len(mixes)]
	}
	params := []string{"#bench", strings.Repeat("x", 100)}
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		msg := s.relayMsg(at, buildLine("nick!user@host", "PRIVMSG", params, true))
		msg.account = "thor1account"
		for _, c := range caps {
			n += len(msg.bytesFor(c))
		}
	}
	if n == 0 {
		b.Fatal("nothing serialized")
	}
}
