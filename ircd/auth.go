package ircd

import (
	"encoding/base64"
	"errors"
	"runtime"
	"strings"
	"time"

	"gopkg.in/irc.v4"
)

// Authenticator connects the IRC state machine to the account system. Its
// methods that may be slow (Step, ClaimNick) run off the processing
// goroutine; NickOwner and Classify are called on it and must be fast.
type Authenticator interface {
	// Mechanisms lists the SASL mechanisms offered, in CAP LS order.
	Mechanisms() []string
	// Start begins a SASL exchange on a connection that arrived on l;
	// ok is false for an unknown mechanism.
	Start(mech string, l Listener) (sess SASLSession, ok bool)
	// RequireLogin turns away clients that register without logging in.
	RequireLogin() bool
	// ISupport returns extra 005 tokens.
	ISupport() []string
	// NickOwner returns the account a folded nick is claimed by.
	NickOwner(folded string) (account string, ok bool)
	// ClaimNick claims a folded nick for an account; ReleaseNick undoes it.
	ClaimNick(folded, account string) error
	ReleaseNick(folded, account string) error
	// Classify returns the current tag and privileges of an account, used
	// again when the allowlist is reloaded.
	Classify(account string) Login
}

// SASLSession is one SASL attempt.
type SASLSession interface {
	// Step consumes one decoded client response and returns the next
	// challenge; when done is true, the login is the result. Errors that
	// wrap ErrBanned or ErrNickLocked map to 902, anything else to 904.
	Step(resp []byte) (challenge []byte, done bool, login Login, err error)
}

// Login is the outcome of a successful authentication.
type Login struct {
	Account string
	Class   string // "operator", "staff" or ""
	Oper    bool   // IRC operator privileges
	Host    string // cloak shown instead of any connection detail
	// KeyLogin is set when the account's own key signed (not a device
	// credential): only such sessions may manage credentials.
	KeyLogin bool
	// Modes are the user modes the account keeps (see UserModeStore),
	// set at login.
	Modes string
}

// ErrBanned marks a login refused because the key or account is banned.
var ErrBanned = errors.New("account is banned")

// ErrNickLocked marks a login refused because of a nick conflict.
var ErrNickLocked = errors.New("nick is locked")

// SASLOptions bounds SASL on the server.
type SASLOptions struct {
	Timeout     time.Duration // a stage that stalls this long fails (30s)
	MaxFailures int           // failures on one connection before ERROR (3)
	MaxResponse int           // decoded bytes per response (8 KiB)
	Workers     int           // concurrent slow steps (signature checks, store writes); default asyncWorkers
}

// asyncWorkers returns how many slow steps may run at once: n, or by
// default enough that steps waiting for a disk commit (an account's first
// login) do not starve signature checks of slots and commits can batch.
func asyncWorkers(n int) int {
	if n > 0 {
		return n
	}
	return max(64, 4*runtime.GOMAXPROCS(0))
}

type saslState struct {
	sess    SASLSession
	chunks  strings.Builder
	started time.Time
}

func (s *Server) handleAuthenticate(c *Client, m *irc.Message) {
	if s.cfg.Auth == nil || !c.caps.has(capSASL) {
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
		sess, ok := s.cfg.Auth.Start(strings.ToUpper(arg), *c.listener)
		if !ok {
			c.numeric(rplSASLMechs, strings.Join(s.cfg.Auth.Mechanisms(), ","), "are available SASL mechanisms")
			s.saslFail(c, "SASL authentication failed: unknown mechanism")
			return
		}
		c.sasl = &saslState{sess: sess, started: s.clock.Now()}
		c.send(line("", "AUTHENTICATE", "+"))
		return
	}
	if len(arg) > 400 {
		c.sasl = nil
		c.numeric(errSASLTooLong, "SASL message too long")
		s.countSASLFailure(c)
		return
	}
	if arg != "+" {
		if c.sasl.chunks.Len()+len(arg) > s.saslOpts.MaxResponse*4/3+4 {
			c.sasl = nil
			c.numeric(errSASLTooLong, "SASL message too long")
			s.countSASLFailure(c)
			return
		}
		c.sasl.chunks.WriteString(arg)
		if len(arg) == 400 {
			return // more chunks follow
		}
	}
	raw, err := base64.StdEncoding.DecodeString(c.sasl.chunks.String())
	c.sasl.chunks.Reset()
	if err != nil {
		s.saslFail(c, "SASL authentication failed: malformed base64")
		return
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
	case err != nil:
		code := errSASLFail
		text := "SASL authentication failed"
		if errors.Is(err, ErrBanned) || errors.Is(err, ErrNickLocked) {
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
		for _, p := range encodeAuthenticate(challenge) {
			c.send(line("", "AUTHENTICATE", p))
		}
	default:
		c.sasl = nil
		if c.account != "" && c.account != login.Account {
			c.numeric(errSASLAlready, "You have already authenticated using SASL")
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
	c.account = login.Account
	c.keyLogin = login.KeyLogin
	if !c.authCounted {
		c.authCounted = true
		s.nUnauth.Add(-1)
	}
	c.class = login.Class
	if login.Oper && !c.oper {
		c.oper = true
		c.operByAccount = true
		if c.registered {
			s.st.opers++
		}
	}
	c.loginHost = login.Host
	if c.registered {
		s.applyLoginHost(c)
	} else if c.loginHost != "" {
		c.host = c.loginHost // nobody has seen the old host yet; 900 shows the cloak
	}
	mask := c.nickOrStar() + "!" + c.user + "@" + c.host
	if c.user == "" {
		mask = c.nickOrStar() + "!*@" + c.host
	}
	c.numeric(rplLoggedIn, mask, c.account, "You are now logged in as "+c.account)
	c.numeric(rplSASLSuccess, "SASL authentication successful")
	if first {
		s.loadAccept(c)
		s.applyKeptModes(c, login.Modes)
	}
	if c.registered && first {
		s.afterLogin(c)
	}
}

func (s *Server) saslFail(c *Client, text string) {
	c.sasl = nil
	c.numeric(errSASLFail, text)
	s.countSASLFailure(c)
}

func (s *Server) countSASLFailure(c *Client) {
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
	if s.cfg.Auth == nil {
		return
	}
	for c := range s.st.all {
		if c.account == "" || c.gone {
			continue
		}
		l := s.cfg.Auth.Classify(c.account)
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

func (s *Server) nickOwner(folded string) (string, bool) {
	if s.cfg.Auth == nil || folded == "" {
		return "", false
	}
	return s.cfg.Auth.NickOwner(folded)
}

// encodeAuthenticate splits a payload into AUTHENTICATE parameters.
func encodeAuthenticate(b []byte) []string {
	if len(b) == 0 {
		return []string{"+"}
	}
	enc := base64.StdEncoding.EncodeToString(b)
	var out []string
	for len(enc) >= 400 {
		out = append(out, enc[:400])
		enc = enc[400:]
	}
	if enc == "" {
		enc = "+"
	}
	return append(out, enc)
}

// asyncIdle is how long an async worker stays parked for the next step
// before it exits.
const asyncIdle = 10 * time.Second

// asyncJob is one slow step: the work and the client it suspends.
type asyncJob struct {
	c    *Client
	work func() func()
}

// async runs work off the processing goroutine and suspends c's input
// until the continuation it returns has run on the processor. A parked
// worker takes the step if one is waiting; otherwise a new worker starts.
// Workers are reused so that the deep stacks of signature checks are
// grown once, not for every login; at most asyncWorkers steps run at once.
func (s *Server) async(c *Client, work func() func()) {
	s.hold(c)
	j := asyncJob{c: c, work: work}
	select {
	case s.parked <- j:
	default:
		go s.asyncWorker(j)
	}
}

// asyncWorker runs j, then parks for further steps until it has been idle
// for asyncIdle or the server stops. At most cap(s.workers) workers park.
func (s *Server) asyncWorker(j asyncJob) {
	idle := time.NewTimer(asyncIdle)
	defer idle.Stop()
	for {
		s.workers <- struct{}{}
		cont := j.work()
		<-s.workers
		c := j.c
		select {
		case s.events <- event{c: c, kind: evResume, fn: func() {
			cont()
			s.release(c)
		}}:
		case <-s.done:
			return
		}
		j = asyncJob{}
		// at most cap(s.workers) workers wait for work; the rest of a
		// burst's workers exit at once
		if s.idleWorkers.Add(1) > int64(cap(s.workers)) {
			s.idleWorkers.Add(-1)
			return
		}
		idle.Reset(asyncIdle)
		select {
		case j = <-s.parked:
			s.idleWorkers.Add(-1)
		case <-idle.C:
			s.idleWorkers.Add(-1)
			return
		case <-s.done:
			return
		}
	}
}
