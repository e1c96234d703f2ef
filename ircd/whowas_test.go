package ircd

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

// whowas sends line and returns the 314s, the 406s and whether one 369
// ended the reply.
func whowas(t *testing.T, c *testClient, line string) (users []*irc.Message, none []string, ended bool) {
	t.Helper()
	c.send(line)
	msgs := c.collect()
	for i, m := range msgs {
		switch m.Command {
		case "314":
			users = append(users, m)
			if i+1 >= len(msgs) || msgs[i+1].Command != "312" || msgs[i+1].Param(1) != m.Param(1) || msgs[i+1].Param(2) != "irc.test" {
				t.Errorf("%q: 314 without its 312: %v", line, msgs)
			}
		case "406":
			none = append(none, m.Param(1))
		case "369":
			if ended || i != len(msgs)-1 {
				t.Errorf("%q: 369 not once at the end: %v", line, msgs)
			}
			ended = true
		}
	}
	return users, none, ended
}

// TestWhowas: recently quit nicks answer 314/312 newest first, bounded by
// the count argument, then 369; unknown nicks 406. The host shown is the
// one the user had (the cloak), never an address.
func TestWhowas(t *testing.T) {
	ts := startServer(t, withAuth(newTestAuth()))
	q := ts.connect("querier")
	for i, real := range []string{"First Life", "Second Life"} {
		c := ts.dial()
		c.send("NICK ghost")
		c.send("USER g" + string(rune('a'+i)) + " 0 * :" + real)
		c.nick = "ghost"
		c.expectNumeric("001")
		c.send("QUIT :bye")
		c.expectClosed()
	}
	acct := ts.connect("member", "sasl")
	acct.login("acct7")
	host := acct.expectCode("WHOIS member", "311").Param(3)
	if host != "acct7.users.test" {
		t.Fatalf("login host %q", host)
	}
	acct.send("QUIT")
	acct.expectClosed()
	q.sync()

	users, none, ended := whowas(t, q, "WHOWAS ghost")
	if len(users) != 2 || users[0].Trailing() != "Second Life" || users[1].Trailing() != "First Life" || users[0].Param(2) != "~gb" || users[0].Param(4) != "*" || len(none) != 0 || !ended {
		t.Fatalf("WHOWAS ghost: %v, 406 %v, end %v", users, none, ended)
	}
	if users, _, _ := whowas(t, q, "WHOWAS GHOST 1"); len(users) != 1 || users[0].Trailing() != "Second Life" || users[0].Param(1) != "ghost" {
		t.Errorf("WHOWAS GHOST 1: %v", users)
	}
	if users, _, _ := whowas(t, q, "WHOWAS ghost 0"); len(users) != 2 {
		t.Errorf("WHOWAS ghost 0 (full search): %v", users)
	}
	if users, _, _ := whowas(t, q, "WHOWAS member"); len(users) != 1 || users[0].Param(3) != "acct7.users.test" {
		t.Errorf("WHOWAS member: %v", users)
	}
	users, none, ended = whowas(t, q, "WHOWAS nobody,member")
	if len(users) != 1 || len(none) != 1 || none[0] != "nobody" || !ended {
		t.Errorf("WHOWAS nobody,member: %v, 406 %v", users, none)
	}
	// RFC 2812: WHOWAS without a nick is 431, not 461
	q.expectCode("WHOWAS", "431")
	// a user still online is not in the history
	if users, none, _ := whowas(t, q, "WHOWAS querier"); len(users) != 0 || len(none) != 1 {
		t.Errorf("WHOWAS querier: %v", users)
	}
}

// TestWhowasBounds: the history keeps at most Len entries, each for TTL.
func TestWhowasBounds(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.Whowas = WhowasOptions{Len: 2, TTL: time.Hour}
		// the querier stays while the clock moves by the hour
		c.Limits.PingInterval, c.Limits.PingTimeout = 24*time.Hour, 24*time.Hour
	})
	q := ts.connect("querier")
	quit := func(nick string) {
		c := ts.connect(nick)
		c.send("QUIT")
		c.expectClosed()
	}
	quit("one")
	quit("two")
	ts.advance(30 * time.Minute)
	quit("three")
	q.sync()
	if users, none, _ := whowas(t, q, "WHOWAS one,two,three"); len(users) != 2 || len(none) != 1 || none[0] != "one" {
		t.Fatalf("after three quits with room for two: %v, 406 %v", users, none)
	}
	ts.advance(31 * time.Minute) // "two" is 61 minutes old, "three" 31
	if users, none, _ := whowas(t, q, "WHOWAS two,three"); len(users) != 1 || users[0].Param(1) != "three" || len(none) != 1 || none[0] != "two" {
		t.Fatalf("after the TTL of two: %v, 406 %v", users, none)
	}
	ts.do(func(s *Server) {
		if n := s.whowas.len(); n != 1 {
			t.Errorf("expired entries still held: %d", n)
		}
	})
}

// TestWhowasLogRing checks the ring against a plain slice through growth,
// wrap-around and expiry.
func TestWhowasLogRing(t *testing.T) {
	for _, size := range []int{1, 2, 15, 16, 17, 40} {
		w := newWhowasLog(WhowasOptions{Len: size, TTL: 10 * time.Second})
		var model []whowasEntry
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < 200; i++ {
			now = now.Add(time.Second)
			nick := "n" + strconv.Itoa(i%7)
			w.add(&Client{nick: nick, folded: nick, user: "u", host: "h", realname: strconv.Itoa(i)}, now)
			model = append(model, whowasEntry{folded: nick, realname: strconv.Itoa(i), at: now})
			if len(model) > size {
				model = model[1:]
			}
			if i%13 == 0 {
				now = now.Add(time.Duration(i%5) * 3 * time.Second)
				w.expire(now)
				for len(model) > 0 && now.Sub(model[0].at) >= 10*time.Second {
					model = model[1:]
				}
			}
			if w.len() != len(model) {
				t.Fatalf("size %d, step %d: %d entries, want %d", size, i, w.len(), len(model))
			}
			for k := 0; k < 7; k++ {
				f := "n" + strconv.Itoa(k)
				var got, want []string
				w.find(f, 0, now, func(e *whowasEntry) { got = append(got, e.realname) })
				for j := len(model) - 1; j >= 0; j-- {
					if model[j].folded == f && now.Sub(model[j].at) < 10*time.Second {
						want = append(want, model[j].realname)
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("size %d, step %d, %s: %v, want %v", size, i, f, got, want)
				}
			}
		}
	}
}
