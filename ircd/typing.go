package ircd

import "time"

// The +typing client tag (IRCv3 typing): clients must not send a typing
// notification within 3 seconds of another one to the same target, and the
// server holds them to it: per client and target, a TAGMSG carrying
// +typing within typingInterval of the last one relayed is dropped without
// a word (no reply, no echo). The record is a small per-client map,
// bounded by maxTypingTargets: expired entries are swept when it is full,
// and while it is full of live ones, typing to yet another target is
// dropped.

const (
	typingInterval   = 3 * time.Second
	maxTypingTargets = 32
)

// typingThrottle records when a typing notification was last relayed, per
// folded target.
type typingThrottle map[string]time.Time

// typingAllowed reports whether c may send a typing notification to target
// now, and records it when so.
func (s *Server) typingAllowed(c *Client, target string) bool {
	now := s.clock.Now()
	key := Fold(target)
	if last, ok := c.typing[key]; ok && now.Sub(last) < typingInterval {
		return false
	}
	if c.typing == nil {
		c.typing = typingThrottle{}
	}
	if _, ok := c.typing[key]; !ok && len(c.typing) >= maxTypingTargets {
		for k, t := range c.typing {
			if now.Sub(t) >= typingInterval {
				delete(c.typing, k)
			}
		}
		if len(c.typing) >= maxTypingTargets {
			return false
		}
	}
	c.typing[key] = now
	return true
}
