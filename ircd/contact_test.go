package ircd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

// fileAccepts is a small, real AcceptStore for tests: every change
// rewrites a JSON file (write, fsync, rename, fsync the directory), and
// opening the same path again reads what was committed.
type fileAccepts struct {
	mu    sync.Mutex
	path  string
	lists map[string][]string
}

func openFileAccepts(path string) (*fileAccepts, error) {
	f := &fileAccepts{path: path, lists: map[string][]string{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read accept lists: %w", err)
	}
	if err := json.Unmarshal(b, &f.lists); err != nil {
		return nil, fmt.Errorf("decode accept lists: %w", err)
	}
	return f, nil
}

// commit writes the lists durably; f.mu is held.
func (f *fileAccepts) commit() error {
	return writeJSONDurably(f.path, f.lists)
}

// writeJSONDurably replaces path with v as JSON: temp file, fsync, rename,
// directory fsync (what the test stores need to be real stores).
func writeJSONDurably(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	tmp := path + ".tmp"
	w, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := w.Write(b); err != nil {
		w.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := w.Sync(); err != nil {
		w.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("sync directory of %s: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory of %s: %w", path, err)
	}
	return nil
}

func (f *fileAccepts) AcceptList(account string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.lists[account]), nil
}

func (f *fileAccepts) AcceptAdd(account, entry string, max int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.lists[account]
	if slices.Contains(l, entry) {
		return nil
	}
	if len(l) >= max {
		return ErrAcceptFull
	}
	f.lists[account] = append(l, entry)
	return f.commit()
}

func (f *fileAccepts) AcceptDel(account, entry string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.lists[account]
	i := slices.Index(l, entry)
	if i < 0 {
		return fmt.Errorf("accept entry %q of %q: not found", entry, account)
	}
	f.lists[account] = slices.Delete(l, i, i+1)
	return f.commit()
}

func (f *fileAccepts) AcceptClear(account string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.lists, account)
	return f.commit()
}

// loggedIn connects nick with the sasl capability and logs it in.
func (ts *testServer) loggedIn(nick, account string) *testClient {
	ts.t.Helper()
	c := ts.connect(nick, "sasl")
	c.login(account)
	return c
}

// delivered reports whether to got a PRIVMSG/NOTICE with text from
// `from`, which has sent it: a round trip of from orders its command
// before the round trip of to.
func delivered(to, from *testClient, text string) bool {
	to.t.Helper()
	from.sync()
	for _, m := range to.collect() {
		if (m.Command == "PRIVMSG" || m.Command == "NOTICE") && m.Name == from.nick && m.Trailing() == text {
			return true
		}
	}
	return false
}

// codes returns the commands of the error numerics in msgs.
func codes(msgs []*irc.Message) string {
	var out []string
	for _, m := range errorNumerics(msgs) {
		out = append(out, m.Command)
	}
	return strings.Join(out, " ")
}

func TestContactRegOnlyPM(t *testing.T) {
	ts := startServer(t, withAuth(newTestAuth()))
	target := ts.connect("target")
	target.send("MODE target +R")
	if m := target.expect("MODE", nil); m.Trailing() != "+R" {
		t.Fatalf("MODE: %v", m)
	}
	guest := ts.connect("guest")
	member := ts.loggedIn("member", "acct2")
	root := ts.connect("rootnick", "sasl")
	root.login("root1") // IRC operator, bypasses contact rules
	tests := []struct {
		name      string
		from      *testClient
		line      string
		errs      string // error numerics the sender gets
		delivered bool
	}{
		{"guest PRIVMSG is refused", guest, "PRIVMSG target :hi", "486", false},
		{"guest NOTICE gets no reply", guest, "NOTICE target :hi", "", false},
		{"logged-in PRIVMSG", member, "PRIVMSG target :hi", "", true},
		{"logged-in NOTICE", member, "NOTICE target :hi", "", true},
		{"operator", root, "PRIVMSG target :hi", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.from.send(tt.line)
			msgs := tt.from.collect()
			if got := codes(msgs); got != tt.errs {
				t.Fatalf("errors %q, want %q: %v", got, tt.errs, msgs)
			}
			if tt.errs == "486" {
				m := find(msgs, "486", nil)
				if m.Param(1) != "target" || !strings.Contains(m.Trailing(), "+R") || !strings.Contains(m.Trailing(), "SASL") {
					t.Fatalf("486: %v", m)
				}
			}
			if got := delivered(target, tt.from, "hi"); got != tt.delivered {
				t.Fatalf("delivered %v, want %v", got, tt.delivered)
			}
		})
	}
	// -R lets guests in again
	target.send("MODE target -R")
	target.expect("MODE", nil)
	guest.send("PRIVMSG target :hi")
	if !delivered(target, guest, "hi") {
		t.Fatal("-R: not delivered")
	}
}

func TestCallerIDNotices(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.connect("alice")
	b := ts.connect("bob")
	c := ts.connect("carol")
	a.send("MODE alice +g")
	if m := a.expect("MODE", nil); m.Trailing() != "+g" {
		t.Fatalf("MODE: %v", m)
	}
	steps := []struct {
		name    string
		advance time.Duration // fake clock, before the line
		from    *testClient
		line    string
		sender  string // numerics the sender gets
		told    string // nick in a 718 to alice, "" for none
	}{
		{"first PRIVMSG: both told", 0, b, "PRIVMSG alice :one", "716 717", "bob"},
		{"again within the minute: silence", 0, b, "PRIVMSG alice :two", "", ""},
		{"NOTICE: no replies", 0, b, "NOTICE alice :three", "", ""},
		{"another sender is told on its own", 0, c, "PRIVMSG alice :one", "716 717", "carol"},
		{"59s later: still silence", 59 * time.Second, b, "PRIVMSG alice :four", "", ""},
		{"a minute later: told again", time.Second, b, "PRIVMSG alice :five", "716 717", "bob"},
		{"a NOTICE a minute later tells only the target", time.Minute, c, "NOTICE alice :six", "", "carol"},
		{"a PRIVMSG after that NOTICE still tells the sender", 0, c, "PRIVMSG alice :seven", "716 717", ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			ts.clock.Advance(st.advance)
			st.from.send(st.line)
			msgs := st.from.collect()
			if got := codes(msgs); got != st.sender {
				t.Fatalf("sender got %q, want %q: %v", got, st.sender, msgs)
			}
			if st.sender != "" {
				m716, m717 := find(msgs, "716", nil), find(msgs, "717", nil)
				if m716.Param(1) != "alice" || !strings.Contains(m716.Trailing(), "+g") || m717.Param(1) != "alice" {
					t.Fatalf("716/717: %v %v", m716, m717)
				}
			}
			var told []*irc.Message
			for _, m := range a.collect() {
				switch m.Command {
				case "718":
					told = append(told, m)
				case "PRIVMSG", "NOTICE":
					t.Fatalf("alice got %v through +g", m)
				}
			}
			if st.told == "" {
				if len(told) != 0 {
					t.Fatalf("alice told %v", told)
				}
				return
			}
			if len(told) != 1 || told[0].Param(1) != st.told || !strings.Contains(told[0].Param(2), st.told+"@") ||
				!strings.Contains(told[0].Trailing(), "/ACCEPT "+st.told) {
				t.Fatalf("718: %v", told)
			}
		})
	}
	// ACCEPT lets bob through, ACCEPT -bob stops him again
	a.send("ACCEPT bob")
	if msgs := a.collect(); len(msgs) != 0 {
		t.Fatalf("ACCEPT bob: %v", msgs)
	}
	b.send("PRIVMSG alice :accepted")
	if msgs := b.collect(); len(errorNumerics(msgs)) != 0 {
		t.Fatalf("accepted sender got %v", msgs)
	}
	if !delivered(a, b, "accepted") {
		t.Fatal("accepted message not delivered")
	}
	a.send("ACCEPT -bob")
	a.collect()
	ts.clock.Advance(time.Minute)
	b.send("PRIVMSG alice :removed")
	if got := codes(b.collect()); got != "716 717" {
		t.Fatalf("after ACCEPT -bob: %q", got)
	}
	if delivered(a, b, "removed") {
		t.Fatal("removed sender got through")
	}
	// -g: everyone again
	a.send("MODE alice -g")
	a.expect("MODE", nil)
	c.send("PRIVMSG alice :open")
	if !delivered(a, c, "open") {
		t.Fatal("-g: not delivered")
	}
}

func TestCallerIDMessageFirst(t *testing.T) {
	ts := startServer(t, nil)
	b := ts.connect("bob")
	a := ts.connect("alice")
	other := ts.connect("other")
	b.send("MODE bob +g")
	b.expect("MODE", nil)

	// bob writes to alice first: alice's reply reaches him
	b.send("PRIVMSG alice :hello")
	if !delivered(a, b, "hello") {
		t.Fatal("bob's message not delivered")
	}
	a.send("PRIVMSG bob :hi back")
	if msgs := a.collect(); len(errorNumerics(msgs)) != 0 {
		t.Fatalf("reply refused: %v", msgs)
	}
	if !delivered(b, a, "hi back") {
		t.Fatal("reply not delivered")
	}
	b.send("ACCEPT *")
	if l := b.expectNumeric("281"); l.Trailing() != "alice" {
		t.Fatalf("281: %v", l)
	}
	// someone bob did not write to is still held back
	other.send("PRIVMSG bob :spam")
	if got := codes(other.collect()); got != "716 717" {
		t.Fatalf("other: %q", got)
	}
	if delivered(b, other, "spam") {
		t.Fatal("spam delivered")
	}
	// writing to someone records nothing for a user without +g
	a.send("ACCEPT *")
	if msgs := a.collect(); find(msgs, "281", nil) != nil || find(msgs, "282", nil) == nil {
		t.Fatalf("alice's list: %v", msgs)
	}
}

func TestAcceptCommand(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.Backend = newTestAuth()
		c.MaxAccept = 3
	})
	a := ts.connect("alice")
	ts.loggedIn("Acct", "acct9") // online and logged in: accepted by account
	tests := []struct {
		line  string
		reply string // numerics, in order; "" for silence
		list  string // the 281 list after the line, sorted
	}{
		{"ACCEPT *", "282", ""},
		{"ACCEPT Bob", "", "bob"},
		{"ACCEPT bob", "457", "bob"},
		{"ACCEPT -carol", "458", "bob"},
		{"ACCEPT carol,acct", "", "acct9 bob carol"},
		{"ACCEPT dave", "456", "acct9 bob carol"},
		{"ACCEPT -Carol,dave", "", "acct9 bob dave"},
		{"ACCEPT 1bad", "401", "acct9 bob dave"},
		{"ACCEPT -", "458", "acct9 bob dave"},
		{"ACCEPT -acct", "", "bob dave"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			a.send(tt.line)
			msgs := a.collect()
			var got []string
			for _, m := range msgs {
				got = append(got, m.Command)
			}
			if strings.Join(got, " ") != tt.reply {
				t.Fatalf("replies %v, want %q", msgs, tt.reply)
			}
			a.send("ACCEPT *")
			var list []string
			for _, m := range a.collect() {
				if m.Command == "281" {
					list = append(list, strings.Fields(m.Trailing())...)
				}
			}
			slices.Sort(list)
			if strings.Join(list, " ") != tt.list {
				t.Fatalf("list %v, want %q", list, tt.list)
			}
		})
	}
}

func TestAcceptPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accept.json")
	start := func() *testServer {
		st, err := openFileAccepts(path)
		if err != nil {
			t.Fatal(err)
		}
		return startServer(t, func(c *Config) {
			a := newTestAuth()
			a.accepts = st
			c.Backend = a
		})
	}

	ts := start()
	owner := ts.loggedIn("owner", "owner1")
	friend := ts.loggedIn("friend", "friend1")
	guest := ts.connect("guest")
	owner.send("ACCEPT friend,ghost,temp,guest") // friend by account, the rest by nick
	owner.send("ACCEPT -temp")
	owner.send("MODE owner +g")
	owner.collect()
	guest.send("ACCEPT owner") // guests' lists live only as long as the connection
	guest.collect()
	owner.send("PRIVMSG friend :hi") // +g writing to an accepted account: nothing new
	owner.collect()
	friend.sync()
	ts.stop() // every accepted change is committed before Run returns

	st, err := openFileAccepts(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := st.AcceptList("owner1")
	slices.Sort(got)
	if strings.Join(got, " ") != "friend1 ghost guest" || len(st.lists) != 1 {
		t.Fatalf("on disk: %v", st.lists)
	}

	ts = start()
	owner = ts.connect("owner", "sasl")
	owner.send("MODE owner +g")
	owner.collect()
	// the list comes back with the login
	owner.login("owner1")
	owner.send("ACCEPT *")
	var list []string
	for _, m := range owner.collect() {
		if m.Command == "281" {
			list = append(list, strings.Fields(m.Trailing())...)
		}
	}
	slices.Sort(list)
	if strings.Join(list, " ") != "friend1 ghost guest" {
		t.Fatalf("after restart: %v", list)
	}
	// the account is accepted whatever nick it uses now
	friend = ts.loggedIn("newnick", "friend1")
	friend.send("PRIVMSG owner :back")
	if !delivered(owner, friend, "back") {
		t.Fatal("accepted account not delivered")
	}
	stranger := ts.connect("stranger")
	stranger.send("PRIVMSG owner :hi")
	if got := codes(stranger.collect()); got != "716 717" {
		t.Fatalf("stranger: %q", got)
	}
	// removal is kept too
	owner.send("ACCEPT -ghost")
	owner.collect()
	ts.stop()
	st, err = openFileAccepts(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := st.AcceptList("owner1"); len(got) != 2 || slices.Contains(got, "ghost") {
		t.Fatalf("after removal: %v", got)
	}
}

func TestContactNoCTCP(t *testing.T) {
	ts := startServer(t, nil)
	user := ts.connect("quiet")
	user.send("MODE quiet +T")
	if m := user.expect("MODE", nil); m.Trailing() != "+T" {
		t.Fatalf("MODE: %v", m)
	}
	op := ts.connect("op")
	op.join("#noctcp")
	op.send("MODE #noctcp +C")
	op.expect("MODE", nil)
	from := ts.connect("from")
	from.join("#noctcp")
	op.collect()
	const (
		version = "\x01VERSION\x01"
		action  = "\x01ACTION waves\x01"
	)
	tests := []struct {
		name      string
		target    string
		to        *testClient
		cmd, text string
		err       string // the numeric the sender gets
		delivered bool
	}{
		{"+T refuses a CTCP", "quiet", user, "PRIVMSG", version, "492", false},
		{"+T lets ACTION through", "quiet", user, "PRIVMSG", action, "", true},
		{"+T lets text through", "quiet", user, "PRIVMSG", "plain", "", true},
		{"+T drops a CTCP NOTICE silently", "quiet", user, "NOTICE", "\x01VERSION x\x01", "", false},
		{"+C refuses a CTCP", "#noctcp", op, "PRIVMSG", version, "404", false},
		{"+C lets ACTION through", "#noctcp", op, "PRIVMSG", action, "", true},
		{"+C drops a CTCP NOTICE silently", "#noctcp", op, "NOTICE", version, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from.send(tt.cmd + " " + tt.target + " :" + tt.text)
			msgs := from.collect()
			if got := codes(msgs); got != tt.err {
				t.Fatalf("sender got %q, want %q: %v", got, tt.err, msgs)
			}
			if m := find(msgs, tt.err, nil); tt.err != "" {
				want := map[string]string{"492": "+T", "404": "+C"}[tt.err]
				if m.Param(1) != tt.target || !strings.Contains(m.Trailing(), want) {
					t.Fatalf("%s: %v", tt.err, m)
				}
			}
			if got := delivered(tt.to, from, tt.text); got != tt.delivered {
				t.Fatalf("delivered %v, want %v", got, tt.delivered)
			}
		})
	}
}

func TestContactChannelModes(t *testing.T) {
	ts := startServer(t, withAuth(newTestAuth()))
	op := ts.loggedIn("op", "opacct")
	op.join("#reg")
	guestIn := ts.connect("guestin") // joined before +R/+M
	guestIn.join("#reg")
	voiced := ts.connect("voiced")
	voiced.join("#reg")
	op.send("MODE #reg +RMv voiced")
	if m := op.expect("MODE", nil); strings.Join(m.Params[1:], " ") != "+RMv voiced" {
		t.Fatalf("MODE: %v", m)
	}
	member := ts.loggedIn("member", "acct5")
	guest := ts.connect("guest")

	t.Run("+R: guests may not join", func(t *testing.T) {
		m := guest.expectCode("JOIN #reg", "477")
		if m.Param(1) != "#reg" || !strings.Contains(m.Trailing(), "+R") {
			t.Fatalf("477: %v", m)
		}
		member.join("#reg")
	})
	op.collect()
	tests := []struct {
		name      string
		from      *testClient
		cmd       string
		err       bool
		delivered bool
	}{
		{"+M: a guest may not speak", guestIn, "PRIVMSG", true, false},
		{"+M: a guest's NOTICE is dropped silently", guestIn, "NOTICE", false, false},
		{"+M: a logged-in member speaks", member, "PRIVMSG", false, true},
		{"+M: a voiced guest speaks", voiced, "PRIVMSG", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.from.send(tt.cmd + " #reg :words")
			msgs := tt.from.collect()
			e := errorNumerics(msgs)
			if tt.err != (len(e) == 1) || len(e) > 1 {
				t.Fatalf("errors %v", msgs)
			}
			if tt.err && (e[0].Command != "404" || !strings.Contains(e[0].Trailing(), "+M") || !strings.Contains(e[0].Trailing(), "log in")) {
				t.Fatalf("404: %v", e[0])
			}
			if got := delivered(op, tt.from, "words"); got != tt.delivered {
				t.Fatalf("delivered %v, want %v", got, tt.delivered)
			}
		})
	}
	// after -RM guests join and speak again
	op.send("MODE #reg -RM")
	op.expect("MODE", nil)
	guest.join("#reg")
	guest.send("PRIVMSG #reg :words")
	if !delivered(op, guest, "words") {
		t.Fatal("-M: not delivered")
	}
}

func TestThrottleJoin(t *testing.T) {
	ts := startServer(t, quietLimits)
	op := ts.connect("op")
	op.join("#busy")
	op.send("MODE #busy +j 5")
	if m := op.expectNumeric("696"); m.Param(2) != "j" {
		t.Fatalf("696: %v", m)
	}
	op.send("MODE #busy +j 2:10")
	if m := op.expect("MODE", nil); strings.Join(m.Params[1:], " ") != "+j 2:10" {
		t.Fatalf("MODE: %v", m)
	}
	op.send("MODE #busy")
	if m := op.expectNumeric("324"); strings.Join(m.Params[2:], " ") != "+ntj 2:10" {
		t.Fatalf("324: %v", m)
	}
	joiners := make([]*testClient, 6)
	for i := range joiners {
		joiners[i] = ts.connect(fmt.Sprintf("j%d", i))
	}
	steps := []struct {
		name    string
		advance time.Duration
		who     int
		throttl bool
	}{
		{"first join", 0, 0, false},
		{"second join", 5 * time.Second, 1, false},
		{"third within 10s", 4 * time.Second, 2, true},
		{"the window ends 10s after the first join", time.Second, 2, false},
		{"fourth", 0, 3, false},
		{"fifth", 9 * time.Second, 4, true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			ts.clock.Advance(st.advance)
			c := joiners[st.who]
			c.send("JOIN #busy")
			msgs := c.collect()
			if !st.throttl {
				if find(msgs, "366", nil) == nil {
					t.Fatalf("join failed: %v", msgs)
				}
				return
			}
			if e := errorNumerics(msgs); len(e) != 1 || e[0].Command != "480" || e[0].Param(1) != "#busy" || !strings.Contains(e[0].Trailing(), "+j") {
				t.Fatalf("want 480: %v", msgs)
			}
		})
	}
	// an invitation gets past the throttle
	op.send("INVITE j5 #busy")
	op.expectNumeric("341")
	joiners[5].send("JOIN #busy")
	if find(joiners[5].collect(), "366", nil) == nil {
		t.Fatal("invited join throttled")
	}
	op.send("MODE #busy -j")
	op.expect("MODE", func(m *irc.Message) bool { return m.Param(1) == "-j" })
	joiners[4].join("#busy")
}

func TestContactISupport(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.MaxAccept = 7 })
	c := ts.dial()
	c.send("NICK tok")
	c.send("USER tok 0 * :tok")
	my := c.expectNumeric("004")
	if um := my.Param(3); !strings.Contains(um, "g") || !strings.Contains(um, "R") || !strings.Contains(um, "T") {
		t.Fatalf("004 user modes: %v", my)
	}
	toks := map[string]string{}
	for _, m := range filter(c.collect(), "005") {
		for _, p := range m.Params[1 : len(m.Params)-1] {
			k, v, _ := strings.Cut(p, "=")
			toks[k] = v
		}
	}
	if toks["CALLERID"] != "g" || toks["ACCEPT"] != "7" {
		t.Fatalf("CALLERID=%q ACCEPT=%q", toks["CALLERID"], toks["ACCEPT"])
	}
	groups := strings.Split(toks["CHANMODES"], ",")
	if len(groups) != 4 || !strings.Contains(groups[2], "j") {
		t.Fatalf("CHANMODES=%q: j takes a parameter when set", toks["CHANMODES"])
	}
	for _, l := range "CMR" {
		if !strings.ContainsRune(groups[3], l) {
			t.Fatalf("CHANMODES=%q: no %c", toks["CHANMODES"], l)
		}
	}
}

func TestAcceptAccountWhileOffline(t *testing.T) {
	ts := startServer(t, withAuth(newTestAuth()))
	a := ts.connect("alice")
	a.send("MODE alice +g")
	a.send("ACCEPT acct7") // an account name, nobody online uses it
	a.collect()
	c := ts.loggedIn("whoever", "acct7")
	c.send("PRIVMSG alice :by account")
	if msgs := c.collect(); len(errorNumerics(msgs)) != 0 {
		t.Fatalf("refused: %v", msgs)
	}
	if !delivered(a, c, "by account") {
		t.Fatal("not delivered")
	}
	g := ts.connect("acct7x")
	g.send("PRIVMSG alice :guest")
	if got := codes(g.collect()); got != "716 717" {
		t.Fatalf("guest: %q", got)
	}
}
