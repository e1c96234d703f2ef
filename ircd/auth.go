package ircd

import (
	"errors"
	"strings"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/sasl/framing"
)

// SASLSession is one SASL attempt.
type SASLSession interface {
	// Step consumes one decoded client response and returns the next
	// challenge; when done is true, the login is the result. Errors that
	// wrap ErrBanned map to 902, ErrAlreadyLoggedIn to 907, anything else
	// to 904 (with the error's UserMessage, if any). Step is slow: it runs
	// on the async pool.
	Step(resp []byte) (challenge []byte, done bool, login Login, err error)
}

// Login is the outcome of a successful authentication.
type Login struct {
	Account string
	Class   string // "operator", "staff" or ""
	Oper    bool   // IRC operator privileges
	Host    string // cloak shown instead of any connection detail
	// Kind says what the session proved: only a login with the account's
	// own key (LoginKey) carries the account's full power (operator
	// privileges, credential management, linked keys).
	Kind LoginKind
	// Key identifies the key of a LoginKey session (opaque to ircd; see
	// Backend.LinkKey).
	Key string
	// Modes are the user modes the account keeps (Backend.SetUserModes),
	// set at login.
	Modes string
	// Accept is the account's kept accept list (Backend.AcceptAdd), read
	// with the login.
	Accept []string
	// Created is when the account was first seen (zero: unknown); ChanServ
	// REGISTER checks it against RegistrationOptions.MinAccountAge.
	Created time.Time
}

// LoginKind is what a session proved at login.
type LoginKind string

// Login kinds.
const (
	LoginKey    LoginKind = "key"        // the account's own key (THORCHAT-SECP256K1)
	LoginDevice LoginKind = "device key" // an enrolled device key (ECDSA-NIST256P-CHALLENGE)
	LoginToken  LoginKind = "token"      // an enrolled token (PLAIN)
)

// fullPower reports whether a session logged in this way may use its
// account's privileges (operator rights, credential management).
func (k LoginKind) fullPower() bool { return k == LoginKey }

// describe says in words how a session logged in.
func (k LoginKind) describe() string {
	switch k {
	case LoginKey:
		return "the account's own key"
	case LoginDevice:
		return "a device key"
	case LoginToken:
		return "a token"
	}
	return "an unknown method"
}

// ErrBanned marks a login refused because the key or account is banned.
var ErrBanned = errors.New("account is banned")

// ErrAlreadyLoggedIn marks a login to another account on a connection
// that is already logged in (907).
var ErrAlreadyLoggedIn = errors.New("already logged in to another account")

// SASLOptions bounds SASL on the server.
type SASLOptions struct {
	Timeout     time.Duration // a stage that stalls this long fails (30s)
	MaxFailures int           // failures on one connection before ERROR (3)
	MaxResponse int           // decoded bytes per response (8 KiB)
	Workers     int           // concurrent slow steps (signature checks, store writes); default asyncWorkers
}

type saslState struct {
	mech    string
	sess    SASLSession
	asm     framing.Assembler
	started time.Time
}

func (s *Server) handleAuthenticate(c *Client, m *irc.Message) {
	if !s.has(FeatureAccounts) || !c.caps.has(capSASL) {
		c.numeric(errSASLFail, "SASL authentication failed: SASL is not enabled (CAP REQ sasl first)")
		return
	}
	arg := m.Params[0]
	if arg == "*" {
		if c.sasl != nil {
			c.sasl = nil
			c.numeric(errSASLAborted, "SASL authentication aborted")
		} else {
			c.numeric(errSASLFail, "SASL authentication failed: no exchange in progress")
		}
		return
	}
	if c.sasl == nil {
		sess, ok := s.be.Start(strings.ToUpper(arg), *c.listener, c.account)
		if !ok {
			c.numeric(rplSASLMechs, strings.Join(s.be.Mechanisms(), ","), "are available SASL mechanisms")
			s.saslFail(c, "SASL authentication failed: unknown mechanism")
			return
		}
		c.sasl = &saslState{mech: strings.ToUpper(arg), sess: sess, started: s.clock.Now()}
		c.sasl.asm.Max = s.saslOpts.MaxResponse
		c.send(line("", "AUTHENTICATE", "+"))
		return
	}
	raw, complete, err := c.sasl.asm.Feed(arg)
	switch {
	case errors.Is(err, framing.ErrChunkTooLong) || errors.Is(err, framing.ErrPayloadTooLong):
		c.sasl = nil
		c.numeric(errSASLTooLong, "SASL message too long")
		s.countSASLFailure(c)
		return
	case err != nil:
		s.saslFail(c, "SASL authentication failed: malformed base64")
		return
	case !complete:
		return // more chunks follow
	}
	st := c.sasl
	s.async(c, func() func() {
		challenge, done, login, err := st.sess.Step(raw)
		return func() { s.saslStepDone(c, st, challenge, done, login, err) }
	})
}

func (s *Server) saslStepDone(c *Client, st *saslState, challenge []byte, done bool, login Login, err error) {
	if c.gone || c.sasl != st {
		return
	}
	switch {
	case errors.Is(err, ErrAlreadyLoggedIn):
		c.sasl = nil
		s.saslAlready(c)
	case err != nil:
		s.observer().Login(st.mech, false)
		code := errSASLFail
		text := "SASL authentication failed"
		var ue interface{ UserMessage() string }
		if errors.As(err, &ue) {
			text += ": " + ue.UserMessage()
		}
		if errors.Is(err, ErrBanned) {
			code = errNickLocked
			text = err.Error()
		}
		c.sasl = nil
		if code == errNickLocked {
			c.numeric(errNickLocked, text)
			c.numeric(errSASLFail, "SASL authentication failed")
			s.countSASLFailure(c)
			return
		}
		s.saslFail(c, text)
	case !done:
		st.started = s.clock.Now()
		for _, p := range framing.EncodeAuthenticate(challenge) {
			c.send(line("", "AUTHENTICATE", p))
		}
	default:
		c.sasl = nil
		s.observer().Login(st.mech, true)
		if c.account != "" && c.account != login.Account {
			s.saslAlready(c)
			return
		}
		if owner, ok := s.nickOwner(c.folded); ok && c.folded != "" && owner != login.Account {
			c.numeric(errNickLocked, "Nick "+c.nick+" is claimed by another account; change nick and try again")
			c.numeric(errSASLFail, "SASL authentication failed")
			s.countSASLFailure(c)
			return
		}
		s.login(c, login)
	}
}

// login applies a successful authentication.
func (s *Server) login(c *Client, login Login) {
	first := c.account == ""
	// a re-authentication keeps the strongest proof given on this
	// connection for the same account
	if first || !c.loginKind.fullPower() {
		c.loginKind = login.Kind
	}
	c.account = login.Account
	c.accountCreated = login.Created
	c.loginKey = login.Key
	if !c.authCounted {
		c.authCounted = true
		s.nUnauth.Add(-1)
	}
	c.class = login.Class
	if login.Oper && c.loginKind.fullPower() && !c.oper {
		c.oper = true
		c.operByAccount = true
		if c.registered {
			s.st.opers++
			if !first {
				// a key login upgraded a credential session
				c.send(line(c.prefix(), "MODE", c.nick, "+o"))
				c.numeric(rplYoureOper, "You are now an IRC operator")
			}
		}
	}
	c.loginHost = login.Host
	if c.registered {
		s.applyLoginHost(c)
	} else if c.loginHost != "" {
		c.host = c.loginHost // nobody has seen the old host yet; 900 shows the cloak
	}
	if first && !c.registered {
		// a NICK refused before the login may be for this account's nick
		s.takeWantedNick(c)
	}
	mask := c.nickOrStar() + "!" + c.user + "@" + c.host
	if c.user == "" {
		mask = c.nickOrStar() + "!*@" + c.host
	}
	c.numeric(rplLoggedIn, mask, c.account, "You are now logged in as "+c.account)
	c.numeric(rplSASLSuccess, "SASL authentication successful")
	if first {
		s.loadAccept(c, login.Accept)
		s.applyKeptModes(c, login.Modes)
	}
	if c.registered && first {
		s.afterLogin(c)
	}
}

// saslAlready refuses a login to another account (907); it counts as a
// failed attempt.
func (s *Server) saslAlready(c *Client) {
	c.numeric(errSASLAlready, "You have already authenticated using SASL")
	s.countSASLFailure(c)
}

func (s *Server) saslFail(c *Client, text string) {
	c.sasl = nil
	c.numeric(errSASLFail, text)
	s.countSASLFailure(c)
}

func (s *Server) countSASLFailure(c *Client) {
	s.observer().SASLFailure()
	c.saslFailures++
	if c.saslFailures >= s.saslOpts.MaxFailures {
		s.kill(c, "Too many failed SASL attempts")
	}
}

// applyLoginHost switches a logged-in client's host to its cloak.
func (s *Server) applyLoginHost(c *Client) {
	if c.loginHost == "" || c.loginHost == c.host {
		return
	}
	if c.registered {
		msg := newOutMsg(s.clock.Now(), line(c.prefix(), "CHGHOST", c.user, c.loginHost))
		s.toCommonPeers(c, msg, capChghost, true)
	}
	c.host = c.loginHost
	if c.registered {
		c.numeric(rplHostHidden, c.host, "is now your displayed host")
	}
}

// afterLogin tells peers about the account and applies channel privileges.
func (s *Server) afterLogin(c *Client) {
	if c.oper && c.registered {
		c.numeric(rplYoureOper, "You are now an IRC operator")
	}
	msg := newOutMsg(s.clock.Now(), line(c.prefix(), "ACCOUNT", c.account))
	s.toCommonPeers(c, msg, capAccountNotify, false)
	s.applySpeak(c)
	for ch := range c.channels {
		s.applyAccess(ch, c)
	}
}

// applySpeak gives or takes +v in speak=operators channels to match the
// client's current class.
func (s *Server) applySpeak(c *Client) {
	may := c.class == "operator" || c.class == "staff"
	for ch := range c.channels {
		if !ch.speakOps {
			continue
		}
		mode := ch.members[c]
		has := mode&memberVoice != 0
		if may == has {
			continue
		}
		sign := "+v"
		if may {
			ch.members[c] = mode | memberVoice
		} else {
			ch.members[c] = mode &^ memberVoice
			sign = "-v"
		}
		ch.broadcast(newOutMsg(s.clock.Now(), line(s.name, "MODE", ch.name, sign, c.nick)), nil, 0)
	}
}

// Reclassify re-evaluates every logged-in client's tag (after an
// allowlist reload), adjusting voice in speak=operators channels.
func (s *Server) Reclassify() {
	if !s.has(FeatureAccounts) {
		return
	}
	for c := range s.st.all {
		if c.account == "" || c.gone {
			continue
		}
		l := s.be.Classify(c.account)
		l.Oper = l.Oper && c.loginKind.fullPower()
		if l.Oper != c.operByAccount && c.registered {
			c.operByAccount = l.Oper
			switch {
			case l.Oper && !c.oper:
				s.makeOper(c)
			case !l.Oper && c.oper:
				c.oper = false
				s.st.opers--
				c.send(line(c.prefix(), "MODE", c.nick, "-o"))
			}
		}
		if l.Class == c.class {
			continue
		}
		c.class = l.Class
		if l.Host != "" {
			c.loginHost = l.Host
			if c.registered {
				s.applyLoginHost(c)
			}
		}
		if c.registered {
			s.applySpeak(c)
		}
	}
}

// nickClaimedByOther reports whether folded is claimed by an account other
// than c's.
func (s *Server) nickClaimedByOther(c *Client, folded string) bool {
	owner, ok := s.nickOwner(folded)
	return ok && owner != c.account
}

// nickOwner returns the account that claims folded; the backend answers
// from memory.
func (s *Server) nickOwner(folded string) (string, bool) {
	// only valid nicks can have been claimed: anything else a client
	// typed (NickServ INFO \xff) never reaches the backend
	if !s.has(FeatureAccounts) || !validNick(folded, 64) {
		return "", false
	}
	return s.be.NickOwner(folded)
}
