package ircd

import (
	"context"
	"strings"

	"github.com/thorchat/thorchat/record"
)

// PublicChannel reports, on the loop, whether channel's history is public:
// the channel exists now, history is kept, and an observer — a guest in no
// channel, matched by no ban — reads all of it by the rule CHATHISTORY
// follows (channelHistoryRead). name is the channel's name as created and
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
		if ch == nil || !s.historyOn() || channelHistoryRead(ch, historyReader{}) != readAll {
			return
		}
		name, target, ok = ch.name, record.ChannelTarget(Fold(channel)), true
	})
	return name, target, ok, err
}
