package ircd

import (
	"fmt"

	"github.com/thorchat/thorchat/channame"
)

// errBadChanName is ERR_BADCHANNAME: a channel name with characters the
// server does not accept (see channame.Check).
const errBadChanName = "479"

// lookalike returns a registered channel other than ch whose name is a
// TR39 confusable of name, or nil.
func (s *Server) lookalike(ch *Channel, name string) *Channel {
	for _, o := range s.st.channels {
		if o != ch && o.registered && channame.Confusable(o.name, name) {
			return o
		}
	}
	return nil
}

// checkDeclaredLookalikes refuses a configuration whose declared channels
// look like each other or like another registered channel.
func (s *Server) checkDeclaredLookalikes() error {
	for _, ch := range s.st.channels {
		if ch.declared == nil {
			continue
		}
		for _, o := range s.st.channels {
			if o == ch || !(o.registered || o.declared != nil) {
				continue
			}
			if channame.Confusable(o.name, ch.name) {
				if o.declared != nil {
					return fmt.Errorf("ircd: declared channels %q and %q look alike (Unicode confusables); rename one", o.name, ch.name)
				}
				return fmt.Errorf("ircd: declared channel %q looks like the registered channel %q (Unicode confusables): rename the declaration, or start without it and drop %q as an IRC operator (/msg ChanServ DROP) first", ch.name, o.name, o.name)
			}
		}
	}
	return nil
}
