package ircd

import (
	"context"
	"strings"

	"github.com/thorchat/thorchat/record"
)

// readableByAnyone reports whether anyone, a guest who is not a member
// included, reads ch's history: what historyAccess grants a guest
// non-member. Its policy is "world", it
// is open (no +i, +k, +s) and not +R.
func (ch *Channel) readableByAnyone() bool {
	return ch.historyPolicy() == record.HistoryWorld && !ch.closed() && ch.flags&chanRegOnly == 0
}

// PublicChannel reports, on the loop, whether channel's history is public:
// the channel exists now, history is kept, and a guest who never joined it
// may read it (readableByAnyone). name is the channel's name as created and
// target its history target (for Backend.History). It is what the browser
// client's pages without JavaScript ask before they read history.
func (s *Server) PublicChannel(ctx context.Context, channel string) (name, target string, ok bool, err error) {
	if !strings.HasPrefix(channel, "#") {
		return "", "", false, nil
	}
	err = s.Do(ctx, func() {
		if !validChannel(channel, s.lim.ChannelLen) {
			return
		}
		ch := s.st.channels[Fold(channel)]
		if ch == nil || !s.historyOn() || !ch.readableByAnyone() {
			return
		}
		name, target, ok = ch.name, record.ChannelTarget(Fold(channel)), true
	})
	return name, target, ok, err
}
