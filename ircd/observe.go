package ircd

import (
	"context"
	"fmt"
)

// Observer receives counts of what the server does, for metrics; the
// backend supplies it (Backend.Observer). Its methods are called on the
// processing goroutine (OriginRefused also on the goroutines accepting
// connections, so it must be safe for concurrent use) and must be fast
// and never block; they never carry an identity (nick, account, channel,
// circuit or address).
type Observer interface {
	// ConnOpened counts a connection accepted on a listener of transport
	// ("onion", "dev" or "websocket", see Transport).
	ConnOpened(transport string)
	// Registered counts a client that completed registration.
	Registered()
	// Login counts a finished SASL exchange of mechanism: ok, or refused.
	Login(mechanism string, ok bool)
	// SASLFailure counts a SASL failure charged to a connection (refused,
	// aborted, too long, unknown mechanism, stalled).
	SASLFailure()
	// FloodKill counts a disconnection for excess flood; FakeLag a command
	// delayed by the flood throttle.
	FloodKill()
	FakeLag()
	// OriginRefused counts a connection refused because its origin (a Tor
	// circuit) has too many open or opened too many too fast.
	OriginRefused()
	// Relayed counts one PRIVMSG, NOTICE or TAGMSG relayed to deliveries
	// recipients.
	Relayed(deliveries int)
	// SendQKill counts a disconnection for a full send queue.
	SendQKill()
	// Stored counts a message written to history (durable) before it
	// was relayed.
	Stored()
}

type nopObserver struct{}

func (nopObserver) ConnOpened(string)  {}
func (nopObserver) Registered()        {}
func (nopObserver) Login(string, bool) {}
func (nopObserver) SASLFailure()       {}
func (nopObserver) FloodKill()         {}
func (nopObserver) FakeLag()           {}
func (nopObserver) OriginRefused()     {}
func (nopObserver) Relayed(int)        {}
func (nopObserver) SendQKill()         {}
func (nopObserver) Stored()            {}

// observer returns the backend's Observer (Backend.Observer) or a no-op
// one.
func (s *Server) observer() Observer { return s.obs }

// Transport names a listener kind for metrics: "onion" for the onion
// service, "websocket" for a WebSocket listener, "dev" for the
// development listeners (loopback TCP, unix sockets).
func Transport(kind string) string {
	switch kind {
	case "onion", "websocket":
		return kind
	}
	return "dev"
}

// Client kinds in a Snapshot.
const (
	KindUnregistered = "unregistered" // has not completed registration
	KindGuest        = "guest"        // registered, not logged in
	KindLoggedIn     = "logged_in"    // logged in, not a node operator
	KindOperator     = "operator"     // logged in and tagged node operator
)

// ClientCount is how many clients of one kind are connected over one
// transport.
type ClientCount struct {
	Kind, Transport string
	N               int
}

// Snapshot is a count of the server's state, without identities.
type Snapshot struct {
	Clients  []ClientCount // every kind × transport with N > 0
	Channels int
}

// Snapshot counts the connected clients by kind and transport, on the
// processing goroutine.
func (s *Server) Snapshot(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	err := s.Do(ctx, func() {
		type key struct{ kind, transport string }
		counts := map[key]int{}
		for c := range s.st.all {
			if c.gone {
				continue
			}
			k := key{KindUnregistered, Transport(c.listener.Kind)}
			switch {
			case !c.registered:
			case c.account == "":
				k.kind = KindGuest
			case c.class == "operator":
				k.kind = KindOperator
			default:
				k.kind = KindLoggedIn
			}
			counts[k]++
		}
		for k, n := range counts {
			snap.Clients = append(snap.Clients, ClientCount{Kind: k.kind, Transport: k.transport, N: n})
		}
		snap.Channels = len(s.st.channels)
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("snapshot: %w", err)
	}
	return snap, nil
}
