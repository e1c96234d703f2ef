package ircd

import (
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

// testAuth is a small, real Backend for tests: its one mechanism, TEST,
// takes the account name as the whole response. Accounts named "root…"
// are IRC operators, "staff…" are staff, "fail…" fail, "banned…" are
// banned, "slow…" take 20 ms. A logged-in client's host becomes
// "<account>.users.test". Registered channels and accept lists are kept
// when chans and accepts are set (file-backed stores of the tests);
// REHASH works when rehash is set.
type testAuth struct {
	NoBackend
	mechs   []string
	require bool
	mu      sync.Mutex
	owners  map[string]string // folded nick → account
	chans   *jsonChannelStore
	accepts *fileAccepts
	rehash  func() error
}

func (a *testAuth) Features() Features {
	f := FeatureAccounts
	if a.chans != nil {
		f |= FeatureChannels
	}
	if a.rehash != nil {
		f |= FeatureRehash
	}
	return f
}

func (a *testAuth) LoadChannels() ([]ChannelRecord, error)  { return a.chans.LoadChannels() }
func (a *testAuth) SaveChannels(recs []ChannelRecord) error { return a.chans.SaveChannels(recs) }
func (a *testAuth) DropChannel(folded string) error         { return a.chans.DropChannel(folded) }
func (a *testAuth) Rehash() error                           { return a.rehash() }

func (a *testAuth) AcceptAdd(account, entry string, max int) error {
	if a.accepts == nil {
		return nil
	}
	return a.accepts.AcceptAdd(account, entry, max)
}

func (a *testAuth) AcceptDel(account, entry string) error {
	if a.accepts == nil {
		return nil
	}
	return a.accepts.AcceptDel(account, entry)
}

func newTestAuth() *testAuth {
	return &testAuth{mechs: []string{"TEST"}, owners: map[string]string{}}
}

func (a *testAuth) Mechanisms() []string { return a.mechs }

func (a *testAuth) Start(mech string, _ Listener, _ string) (SASLSession, bool) {
	if mech != "TEST" {
		return nil, false
	}
	return &testSession{a: a}, true
}

func (a *testAuth) RequireLogin() bool { return a.require }

func (a *testAuth) NickOwner(folded string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	acct, ok := a.owners[folded]
	return acct, ok
}

func (a *testAuth) ClaimNick(folded, account string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if o, ok := a.owners[folded]; ok && o != account {
		return ErrNickTaken
	}
	a.owners[folded] = account
	return nil
}

func (a *testAuth) ReleaseNick(folded, account string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.owners[folded] == account {
		delete(a.owners, folded)
	}
	return nil
}

func (a *testAuth) Classify(account string) Login {
	l := Login{Account: account, Host: account + ".users.test"}
	switch {
	case strings.HasPrefix(account, "root"):
		l.Oper = true
		l.Class = "staff"
	case strings.HasPrefix(account, "staff"):
		l.Class = "staff"
	}
	return l
}

type testSession struct{ a *testAuth }

func (s *testSession) Step(resp []byte) ([]byte, bool, Login, error) {
	acct := string(resp)
	switch {
	case acct == "" || strings.HasPrefix(acct, "fail"):
		return nil, false, Login{}, errors.New("bad credentials")
	case strings.HasPrefix(acct, "banned"):
		return nil, false, Login{}, ErrBanned
	case strings.HasPrefix(acct, "slow"):
		time.Sleep(20 * time.Millisecond)
	}
	l := s.a.Classify(acct)
	l.Kind = LoginKey
	if s.a.accepts != nil {
		list, err := s.a.accepts.AcceptList(acct)
		if err != nil {
			return nil, false, Login{}, err
		}
		l.Accept = list
	}
	return nil, true, l, nil
}

// withAuth installs a testAuth in the config.
func withAuth(a *testAuth) func(*Config) {
	return func(c *Config) { c.Backend = a }
}

// login runs the TEST mechanism on a registered or unregistered client
// that has the sasl cap, and returns what arrived up to a round trip after
// the login (which must include 903).
func (c *testClient) login(account string) []*irc.Message {
	c.t.Helper()
	c.send("AUTHENTICATE TEST")
	c.expect("AUTHENTICATE", func(m *irc.Message) bool { return m.Param(0) == "+" })
	c.send("AUTHENTICATE " + base64.StdEncoding.EncodeToString([]byte(account)))
	msgs := c.collect()
	if find(msgs, "903", nil) == nil {
		c.t.Fatalf("%s: login %s: %v", c.nick, account, msgs)
	}
	return msgs
}

func TestTestAuthIsAnAuthenticator(t *testing.T) {
	var _ Backend = newTestAuth()
	ts := startServer(t, withAuth(newTestAuth()))
	c := ts.connect("alice", "sasl")
	c.send("AUTHENTICATE TEST")
	c.expect("AUTHENTICATE", nil)
	c.send("AUTHENTICATE " + base64.StdEncoding.EncodeToString([]byte("fail")))
	c.expectNumeric("904")
	c.login("acct1")
	c.send("WHOIS alice")
	if m := c.expectNumeric("330"); m.Param(2) != "acct1" {
		t.Fatalf("330: %v", m)
	}
}

// TestAsyncWorkersPark: a burst of slow SASL steps, more than the worker
// bound, all complete; afterwards at most that many workers stay parked,
// and a later login is served (by a parked worker).
func TestAsyncWorkersPark(t *testing.T) {
	const workers, burst = 2, 12
	ts := startServer(t, func(c *Config) {
		c.Backend = newTestAuth()
		c.SASL.Workers = workers
	})
	var cs []*testClient
	for i := range burst {
		c := ts.connect("u"+itoa(i), "sasl")
		c.send("AUTHENTICATE TEST")
		c.expect("AUTHENTICATE", nil)
		cs = append(cs, c)
	}
	for i, c := range cs {
		c.send("AUTHENTICATE " + base64.StdEncoding.EncodeToString([]byte("slow"+itoa(i))))
	}
	for _, c := range cs {
		c.expectNumeric("903")
	}
	var idle int64
	ts.do(func(s *Server) { idle = s.idleWorkers.Load() })
	if idle < 1 || idle > workers {
		t.Fatalf("%d async workers parked after the burst, want 1..%d", idle, workers)
	}
	cs[0].send("AUTHENTICATE TEST")
	cs[0].expect("AUTHENTICATE", nil)
	cs[0].send("AUTHENTICATE " + base64.StdEncoding.EncodeToString([]byte("slow0")))
	cs[0].expectNumeric("903")
}
