package ircd

import (
	"strconv"
	"strings"
	"time"
)

// RegistrationOptions bounds ChanServ REGISTER, so that throw-away accounts
// cannot fill the channel table. Zero values take the defaults.
type RegistrationOptions struct {
	// MaxPerAccount is how many registered channels one account may be the
	// founder of (default 5). Staff and IRC operators have no limit.
	MaxPerAccount int
	// MinAccountAge: an account younger than this may not register a
	// channel, unless it is tagged node operator or staff, or is an IRC
	// operator (0: no minimum). The age comes from Login.Created.
	MinAccountAge time.Duration
	// MaxRegistered bounds the registered channels on the server, declared
	// ones included (default 1000). IRC operators are not held back.
	// Registered channels do not count toward Limits.MaxChannels, which
	// bounds only channels that exist because someone is in them.
	MaxRegistered int
}

// Defaults of RegistrationOptions.
const (
	DefaultMaxRegisteredPerAccount = 5
	DefaultMaxRegistered           = 1000
)

// registerRefusal says why c may not register another channel now, or "".
func (s *Server) registerRefusal(c *Client) string {
	o := s.cfg.Registration
	perAccount := o.MaxPerAccount
	if perAccount <= 0 {
		perAccount = DefaultMaxRegisteredPerAccount
	}
	maxAll := o.MaxRegistered
	if maxAll <= 0 {
		maxAll = DefaultMaxRegistered
	}
	tagged := c.class == "operator" || c.class == "staff"
	if o.MinAccountAge > 0 && !tagged && !c.oper {
		if c.accountCreated.IsZero() || s.clock.Now().Sub(c.accountCreated) < o.MinAccountAge {
			return "Your account must be at least " + shortDuration(o.MinAccountAge) + " old to register a channel."
		}
	}
	if c.oper {
		return ""
	}
	mine, all := 0, 0
	for _, ch := range s.st.channels {
		if !ch.registered {
			continue
		}
		all++
		if ch.founder == c.account {
			mine++
		}
	}
	if c.class != "staff" && mine >= perAccount {
		return "Your account has registered the most channels allowed (" + strconv.Itoa(perAccount) + "); drop one first."
	}
	if all >= maxAll {
		return "This server has the most registered channels it allows; ask an IRC operator."
	}
	return ""
}

// transientChannels counts the channels that exist only while someone is
// in them: Limits.MaxChannels bounds these, so registered and declared
// channels can never make a server refuse every new channel. It is only
// counted when the table holds MaxChannels channels or more.
func (s *Server) transientChannels() int {
	n := 0
	for _, ch := range s.st.channels {
		if !ch.permanent {
			n++
		}
	}
	return n
}

// shortDuration writes 24h0m0s as 24h and 1h30m0s as 1h30m.
func shortDuration(d time.Duration) string {
	t := d.String()
	if strings.HasSuffix(t, "m0s") {
		t = strings.TrimSuffix(t, "0s")
	}
	if strings.HasSuffix(t, "h0m") {
		t = strings.TrimSuffix(t, "0m")
	}
	return t
}
