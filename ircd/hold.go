package ircd

// A client's input is held while an async step it started is in flight
// (c.busy, see hold and release) or while it waits out fake lag
// (c.lagged, see throttle). While it is held, the rest of its batch waits
// and its reader is paused; once nothing holds it any more, resumeInput
// goes on with the batch, in order.

// hold suspends c's input until a matching release. It runs on the
// processor.
func (s *Server) hold(c *Client) { c.busy++ }

// release ends one hold (on the processor): when nothing else holds c, its
// pending lines are handled, and a registration that waited for the step
// completes.
func (s *Server) release(c *Client) {
	c.busy--
	if c.busy > 0 {
		return
	}
	if !c.registered && !c.gone {
		s.tryRegister(c)
	}
	s.resumeInput(c)
}

// held reports whether c's input waits (async step or fake lag).
func (c *Client) held() bool { return c.busy > 0 || c.lagged }

// resumeInput goes on with c's suspended batch unless something still
// holds it. For a client that is gone this only releases its reader,
// which then sees the closed connection.
func (s *Server) resumeInput(c *Client) {
	if c.pending != nil && !c.held() {
		s.processBatch(c)
	}
}
