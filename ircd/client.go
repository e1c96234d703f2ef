package ircd

import (
	"net"

	"golang.org/x/time/rate"
	"strconv"
	"sync"
	"time"
)

// Client is one connection. Fields above the qmu block are owned by the
// processing goroutine; the send queue is guarded by qmu; partial and
// discarding belong to the reader goroutine.
type Client struct {
	s        *Server
	conn     net.Conn
	id       uint64
	listener *Listener
	ack      chan struct{}

	// processor-owned
	nick, folded   string
	wantNick       string // before registration: a claimed nick refused as in use (takeWantedNick)
	user           string
	realname       string
	host           string
	account        string
	class          string // "", "operator", "staff"
	oper           bool
	invisible      bool
	regOnlyPM      bool                 // +R: only logged-in users may message
	callerID       bool                 // +g: only accepted users may message
	noCTCP         bool                 // +T: no CTCP but ACTION
	wallops        bool                 // +w
	accept         map[string]struct{}  // accepted accounts and folded nicks
	gNotified      map[string]time.Time // +g: senders this user heard about (718), per minute
	gTold          map[string]time.Time // +g targets that told this user (716), per minute
	registered     bool
	gone           bool
	gotUser        bool
	capNegotiating bool
	capVersion     int
	caps           capSet
	away           string
	channels       map[*Channel]struct{}
	invitedTo      map[*Channel]struct{} // channels holding an invite for this client
	signon         time.Time
	lastActive     time.Time // last PRIVMSG/NOTICE/JOIN…, for WHOIS idle
	lastRecv       time.Time
	pingSent       bool
	preRegLines    int
	origin         string // opaque per-origin key from the listener ("" for none)
	sasl           *saslState
	saslFailures   int
	busy           int  // async steps (login, store write) in flight, holding the input
	lagged         bool // fake lag holds the input until throttledUntil
	loginHost      string
	loginKind      LoginKind      // how the account logged in
	loginKey       string         // Login.Key of a key login (KEY LINK/UNLINK)
	keyLink        *LinkChallenge // pending KEY LINK
	operByAccount  bool           // oper privileges come from [opers] accounts
	authCounted    bool           // left the unauthenticated count (logged in or closed)
	limiter        *rate.Limiter
	limClass       FloodClass
	throttledUntil time.Time
	pending        *event // batch suspended by an async step
	pendingOff     int

	// accountCreated is Login.Created of the logged-in account
	accountCreated time.Time

	label     *labelCapture     // response to a labeled command being captured (labeled.go)
	monitor   map[string]string // MONITOR list: folded nick → nick as given (monitor.go)
	monitorOn bool              // watchers were told this client is online
	typing    typingThrottle    // +typing notifications sent, per target (typing.go)
	ml        *mlBatch          // open draft/multiline batch (multiline.go)
	mlDead    string            // reference of the last refused batch, whose rest is ignored
	// message history (history.go)
	histPending int                   // messages in the history lane, not yet relayed
	histBarrier bool                  // held until histPending is 0
	joinedAt    map[*Channel]joinMark // when c joined each of its channels ("joined" policy, deliver)

	// send queue
	qmu     sync.Mutex
	out     []byte
	qbytes  int
	writing bool
	qclosed bool

	// reader-owned
	partial    []byte
	discarding bool
}

func newClient(s *Server, conn net.Conn, id *Listener) *Client {
	now := s.clock.Now()
	n := s.nextID.Add(1)
	return &Client{
		s:          s,
		conn:       conn,
		id:         n,
		listener:   id,
		ack:        make(chan struct{}, 1),
		host:       "guest/" + strconv.FormatUint(n, 36),
		signon:     now,
		lastRecv:   now,
		lastActive: now,
	}
}

func (c *Client) nickOrStar() string {
	if c.nick == "" {
		return "*"
	}
	return c.nick
}

// prefix returns nick!user@host.
func (c *Client) prefix() string {
	return c.nick + "!" + c.user + "@" + c.host
}

// numeric sends ":server CODE nick params…" with a trailing last param.
func (c *Client) numeric(code string, params ...string) {
	s := c.s
	n := len(s.name) + len(c.nick) + 12
	for _, p := range params {
		n += len(p) + 2
	}
	b := make([]byte, 0, n)
	b = append(b, ':')
	b = append(b, s.name...)
	b = append(b, ' ')
	b = append(b, code...)
	b = append(b, ' ')
	b = append(b, c.nickOrStar()...)
	b = appendParams(b, params, true)
	b = append(b, '\r', '\n')
	c.send(b)
}

// sendFrom sends ":prefix CMD params" to this client, honouring its tags.
func (c *Client) sendMsg(m *outMsg) { c.send(m.bytesFor(c.caps)) }

// modeString returns the user's modes, e.g. "+io".
func (c *Client) modeString() string {
	m := "+"
	if c.callerID {
		m += "g"
	}
	if c.invisible {
		m += "i"
	}
	if c.oper {
		m += "o"
	}
	if c.regOnlyPM {
		m += "R"
	}
	if c.wallops {
		m += "w"
	}
	if c.noCTCP {
		m += "T"
	}
	return m
}

// umodeFlag returns the field behind a settable contact-rule user mode.
func (c *Client) umodeFlag(l byte) *bool {
	switch l {
	case 'R':
		return &c.regOnlyPM
	case 'g':
		return &c.callerID
	case 'w':
		return &c.wallops
	}
	return &c.noCTCP
}
