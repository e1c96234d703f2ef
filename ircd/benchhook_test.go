package ircd

import "time"

func newRelayMsgForBench(s *Server, at time.Time, body []byte) *outMsg { return s.relayMsg(at, body) }
