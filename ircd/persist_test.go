package ircd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

// jsonChannelStore is a small, real ChannelStore for the ircd tests (which
// may not import bbolt): every commit rewrites one JSON file through a
// temporary file, fsync and rename, so a commit is durable when it
// returns.
type jsonChannelStore struct {
	path    string
	mu      sync.Mutex
	commits int
}

func newJSONChannelStore(t testing.TB) *jsonChannelStore {
	t.Helper()
	return &jsonChannelStore{path: filepath.Join(t.TempDir(), "channels.json")}
}

func (s *jsonChannelStore) read() (map[string]ChannelRecord, error) {
	recs := map[string]ChannelRecord{}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return recs, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read channels: %w", err)
	}
	if err := json.Unmarshal(b, &recs); err != nil {
		return nil, fmt.Errorf("decode channels: %w", err)
	}
	return recs, nil
}

func (s *jsonChannelStore) write(recs map[string]ChannelRecord) error {
	if err := writeJSONDurably(s.path, recs); err != nil {
		return err
	}
	s.commits++
	return nil
}

func (s *jsonChannelStore) LoadChannels() ([]ChannelRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, err := s.read()
	if err != nil {
		return nil, err
	}
	var out []ChannelRecord
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range recs {
			if !yield(k) {
				return
			}
		}
	}) {
		out = append(out, recs[k])
	}
	return out, nil
}

func (s *jsonChannelStore) SaveChannels(recs []ChannelRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.read()
	if err != nil {
		return err
	}
	for _, r := range recs {
		all[r.Name] = r
	}
	return s.write(all)
}

func (s *jsonChannelStore) DropChannel(folded string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.read()
	if err != nil {
		return err
	}
	delete(all, folded)
	return s.write(all)
}

// get reads one record from the file, as a restarted server would.
func (s *jsonChannelStore) get(t testing.TB, name string) (ChannelRecord, bool) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, err := s.read()
	if err != nil {
		t.Fatal(err)
	}
	r, ok := recs[Fold(name)]
	return r, ok
}

func (s *jsonChannelStore) commitCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commits
}

// breakStore makes every later read and write fail for real: the file's
// place is taken by a non-empty directory.
func (s *jsonChannelStore) breakStore(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	os.Remove(s.path)
	if err := os.MkdirAll(filepath.Join(s.path, "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
}

// startRegServer runs a server with the test authenticator and st.
func startRegServer(t testing.TB, st *jsonChannelStore, mutate func(*Config)) *testServer {
	t.Helper()
	return startServer(t, func(c *Config) {
		a := newTestAuth()
		a.chans = st
		c.Backend = a
		if mutate != nil {
			mutate(c)
		}
	})
}

// regUser connects nick and logs it in as account.
func (ts *testServer) regUser(nick, account string) *testClient {
	ts.t.Helper()
	c := ts.connect(nick, "sasl")
	c.login(account)
	return c
}

// chanServSay sends "CS <text>" and returns ChanServ's notices up to a
// round trip.
func (c *testClient) chanServSay(text string) []string {
	c.t.Helper()
	c.send("CS " + text)
	var out []string
	for _, m := range c.collect() {
		if m.Command == "NOTICE" && m.Name == chanServ {
			out = append(out, m.Trailing())
		}
	}
	return out
}

// chanServExpect fails unless ChanServ answers text with a notice
// containing want.
func (c *testClient) chanServExpect(text, want string) {
	c.t.Helper()
	got := c.chanServSay(text)
	for _, n := range got {
		if strings.Contains(n, want) {
			return
		}
	}
	c.t.Fatalf("%s: CS %s: want %q, got %q", c.nick, text, want, got)
}

func hasLetter(modes string, l byte) bool { return strings.IndexByte(modes, l) >= 0 }

// TestChangeIsOnDiskBeforeMembersSeeIt: the MODE/TOPIC line of a change to
// a registered channel reaches the members only once the change is
// committed; at the moment another member reads it, the file has it.
func TestChangeIsOnDiskBeforeMembersSeeIt(t *testing.T) {
	st := newJSONChannelStore(t)
	ts := startRegServer(t, st, nil)
	alice := ts.regUser("alice", "alice1")
	bob := ts.connect("bob")
	alice.join("#c")
	alice.chanServExpect("REGISTER #c", "#c is now registered to alice1")
	bob.join("#c")
	if r, ok := st.get(t, "#c"); !ok || r.Founder != "alice1" || r.Modes != "+nt" || !r.Registered.Equal(ts.clock.Now()) {
		t.Fatalf("registered record: %+v", r)
	}
	ts.advance(time.Minute)

	setBy := func(r ChannelRecord, l []ListEntry) bool {
		return len(l) > 0 && strings.HasPrefix(l[len(l)-1].SetBy, "alice!") && l[len(l)-1].SetAt.Equal(ts.clock.Now())
	}
	steps := []struct {
		line string
		ok   func(r ChannelRecord) bool
	}{
		{"TOPIC #c :on disk first", func(r ChannelRecord) bool {
			return r.Topic == "on disk first" && strings.HasPrefix(r.TopicSetBy, "alice!") && r.TopicSetAt.Equal(ts.clock.Now())
		}},
		{"MODE #c +m", func(r ChannelRecord) bool { return hasLetter(r.Modes, 'm') }},
		{"MODE #c +isRMC", func(r ChannelRecord) bool { return r.Modes == "+CMRimnst" }},
		{"MODE #c +k key1", func(r ChannelRecord) bool { return r.Key == "key1" }},
		{"MODE #c +l 7", func(r ChannelRecord) bool { return r.Limit == 7 }},
		{"MODE #c +j 3:20", func(r ChannelRecord) bool { return r.JoinThrottle == "3:20" }},
		{"MODE #c +b bad!*@*", func(r ChannelRecord) bool { return r.Bans[0].Mask == "bad!*@*" && setBy(r, r.Bans) }},
		{"MODE #c +e Good!*@*", func(r ChannelRecord) bool { return r.Excepts[0].Mask == "good!*@*" && setBy(r, r.Excepts) }},
		{"MODE #c +I $a:friend1", func(r ChannelRecord) bool { return r.Invex[0].Mask == "$a:friend1" && setBy(r, r.Invex) }},
		{"MODE #c -m+v bob", func(r ChannelRecord) bool { return !hasLetter(r.Modes, 'm') }},
		{"MODE #c -k *", func(r ChannelRecord) bool { return r.Key == "" }},
		{"MODE #c -lj", func(r ChannelRecord) bool { return r.Limit == 0 && r.JoinThrottle == "" }},
		{"MODE #c -beI bad!*@* good!*@* $a:friend1", func(r ChannelRecord) bool {
			return len(r.Bans)+len(r.Excepts)+len(r.Invex) == 0
		}},
		{"MODE #c -isRMC", func(r ChannelRecord) bool { return r.Modes == "+nt" }},
	}
	for _, s := range steps {
		t.Run(s.line, func(t *testing.T) {
			alice.t, bob.t = t, t
			ts.advance(time.Second)
			before := st.commitCount()
			alice.send(s.line)
			cmd := strings.Fields(s.line)[0]
			bob.expect(cmd, func(m *irc.Message) bool { return m.Name == "alice" })
			r, _ := st.get(t, "#c")
			if !s.ok(r) {
				t.Fatalf("a member saw %q before it was on disk: %+v", s.line, r)
			}
			if st.commitCount() == before {
				t.Fatal("no commit")
			}
			alice.expect(cmd, func(m *irc.Message) bool { return m.Name == "alice" })
		})
	}
	alice.t, bob.t = t, t

	// what is not kept (member status, unregistered channels) commits nothing
	before := st.commitCount()
	alice.send("MODE #c +o bob")
	bob.expect("MODE", func(m *irc.Message) bool { return m.Param(1) == "+o" })
	alice.join("#plain")
	alice.send("MODE #plain +m")
	alice.send("TOPIC #plain :not kept")
	alice.collect()
	if n := st.commitCount(); n != before {
		t.Fatalf("%d commits for changes that are not kept", n-before)
	}
	if _, ok := st.get(t, "#plain"); ok {
		t.Fatal("an unregistered channel was stored")
	}
}

// TestRegisteredChannelRestoredByNewServer: a new server on the same store
// restores modes, key, limit, +j, topic with setter and time, the lists
// with setters and times, and applies access levels on join and on login.
func TestRegisteredChannelRestoredByNewServer(t *testing.T) {
	st := newJSONChannelStore(t)
	ts1 := startRegServer(t, st, nil)
	alice := ts1.regUser("alice", "alice1")
	alice.join("#keep")
	alice.chanServExpect("REGISTER #keep", "is now registered")
	alice.send("TOPIC #keep :kept")
	alice.send("MODE #keep +CMRmnst")
	alice.send("MODE #keep +klj k3y 9 4:30")
	alice.send("MODE #keep +beI bad!*@* Good!*@* $a:bob1")
	alice.collect()
	alice.chanServExpect("ACCESS #keep ADD bob1 op", "bob1 now has op access")
	alice.chanServExpect("ACCESS #keep ADD carol1 voice", "carol1 now has voice access")
	query := func(c *testClient) []*irc.Message {
		for _, l := range []string{"MODE #keep", "TOPIC #keep", "MODE #keep b", "MODE #keep e", "MODE #keep I"} {
			c.send(l)
		}
		return c.collect()
	}
	before := query(alice)
	ts1.stop()

	ts2 := startRegServer(t, st, nil)
	ts2.clock.Advance(time.Hour) // a later start
	root := ts2.regUser("root", "root1")
	root.join("#keep") // an IRC operator passes +k and +l
	after := query(root)
	if m := find(after, "324", nil); m == nil || !slices.Equal(m.Params[1:], []string{"#keep", "+CMRmnstkjl", "k3y", "4:30", "9"}) {
		t.Errorf("324 after restart: %v", m)
	}
	unix := strconv.FormatInt(ts1.clock.Now().Unix(), 10)
	for _, code := range []string{"332", "333", "367", "348", "346"} {
		b, a := find(before, code, nil), find(after, code, nil)
		if b == nil || a == nil || !slices.Equal(b.Params[1:], a.Params[1:]) {
			t.Errorf("%s: %v after restart, %v before", code, a, b)
			continue
		}
		if code != "332" && (a.Param(len(a.Params)-1) != unix || !strings.HasPrefix(a.Param(len(a.Params)-2), "alice!")) {
			t.Errorf("%s: setter and time %v, want alice at %s", code, a.Params, unix)
		}
	}

	bob := ts2.regUser("bob", "bob1")
	bob.send("JOIN #keep k3y")
	bob.expect("MODE", func(m *irc.Message) bool {
		return m.Name == chanServ && m.Param(1) == "+o" && m.Param(2) == "bob"
	})
	// carol joins first and logs in afterwards: voice comes with the login
	carol := ts2.connect("carol", "sasl")
	carol.send("JOIN #keep k3y")
	carol.expectNumeric("477") // +R
	root.send("MODE #keep -R")
	root.collect()
	carol.send("JOIN #keep k3y")
	carol.expectNumeric("366")
	if find(carol.login("carol1"), "MODE", func(m *irc.Message) bool {
		return m.Name == chanServ && m.Param(1) == "+v" && m.Param(2) == "carol"
	}) == nil {
		t.Fatal("no voice for carol on login")
	}
	// the founder is an operator of her channel again
	alice2 := ts2.regUser("alice", "alice1")
	alice2.send("JOIN #keep k3y")
	alice2.expect("MODE", func(m *irc.Message) bool {
		return m.Name == chanServ && m.Param(1) == "+o" && m.Param(2) == "alice"
	})
	alice2.chanServExpect("ACCESS #keep LIST", "#keep alice1 founder")
}

// TestChannelStoreFailure: when the store fails, REGISTER says so and the
// channel stays unregistered; a mode change is still applied and shown,
// with a warning to its author that it will not survive a restart; and a
// server cannot start on a store it cannot read.
func TestChannelStoreFailure(t *testing.T) {
	st := newJSONChannelStore(t)
	ts := startRegServer(t, st, nil)
	alice := ts.regUser("alice", "alice1")
	bob := ts.connect("bob")
	alice.join("#kept", "#lost")
	bob.join("#kept")
	alice.chanServExpect("REGISTER #kept", "is now registered")
	st.breakStore(t)

	alice.chanServExpect("REGISTER #lost", "Could not register #lost")
	alice.chanServExpect("INFO #lost", "#lost is not registered")
	alice.chanServExpect("REGISTER #lost", "Could not register #lost") // not "already registered"

	alice.send("MODE #kept +m")
	var warned, echoed bool
	for _, m := range alice.collect() {
		warned = warned || (m.Command == "NOTICE" && m.Name == chanServ && strings.Contains(m.Trailing(), "could not be saved"))
		echoed = echoed || (m.Command == "MODE" && m.Param(1) == "+m")
	}
	if !warned || !echoed {
		t.Fatalf("failed commit: warned %v, echoed %v", warned, echoed)
	}
	bob.expect("MODE", func(m *irc.Message) bool { return m.Param(1) == "+m" })

	_, err := New(Config{Name: "irc.test", Backend: &testAuth{chans: st}})
	if err == nil || !strings.Contains(err.Error(), "load registered channels") {
		t.Fatalf("New on an unreadable store: %v", err)
	}
}

// TestConcurrentChangesCommitInOrder: two operators pipelining topic and
// mode changes on one registered channel; the file ends with what the
// members saw last, and a new server serves exactly that.
func TestConcurrentChangesCommitInOrder(t *testing.T) {
	st := newJSONChannelStore(t)
	ts := startRegServer(t, st, nil)
	alice := ts.regUser("alice", "alice1")
	bob := ts.regUser("bob", "bob1")
	watcher := ts.connect("watcher")
	alice.join("#busy")
	alice.chanServExpect("REGISTER #busy", "is now registered")
	alice.chanServExpect("ACCESS #busy ADD bob1 op", "now has op access")
	bob.join("#busy")
	watcher.join("#busy")
	const n = 40
	var lines [2][]string
	for i := 0; i < n; i++ {
		lines[0] = append(lines[0], fmt.Sprintf("TOPIC #busy :alice %d", i), fmt.Sprintf("MODE #busy +l %d", 100+i))
		lines[1] = append(lines[1], fmt.Sprintf("TOPIC #busy :bob %d", i), fmt.Sprintf("MODE #busy +b b%d!*@*", i))
	}
	var wg sync.WaitGroup
	for i, c := range []*testClient{alice, bob} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.sendRaw([]byte(strings.Join(lines[i], "\r\n") + "\r\n"))
		}()
	}
	wg.Wait()
	var lastTopic, lastLimit string
	seen := 0
	for seen < 4*n {
		m, err := watcher.read(5 * time.Second)
		if err != nil {
			t.Fatalf("after %d changes: %v", seen, err)
		}
		switch {
		case m.Command == "TOPIC":
			lastTopic = m.Trailing()
		case m.Command == "MODE" && m.Param(1) == "+l":
			lastLimit = m.Param(2)
		case m.Command == "MODE" && m.Param(1) == "+b":
		default:
			continue
		}
		seen++
	}
	r, _ := st.get(t, "#busy")
	if r.Topic != lastTopic || strconv.Itoa(r.Limit) != lastLimit || len(r.Bans) != n {
		t.Fatalf("on disk: topic %q limit %d bans %d; members last saw topic %q limit %s", r.Topic, r.Limit, len(r.Bans), lastTopic, lastLimit)
	}
	ts.stop()
	ts2 := startRegServer(t, st, nil)
	w := ts2.connect("watcher")
	w.send("TOPIC #busy")
	if m := w.expectNumeric("332"); m.Trailing() != lastTopic {
		t.Fatalf("served topic %q, want %q", m.Trailing(), lastTopic)
	}
}

// TestDeclaredChannelsAreRegistered: channels of the configuration are
// registered at start, their configured topic and modes win over the
// stored ones, and they cannot be dropped.
func TestDeclaredChannelsAreRegistered(t *testing.T) {
	st := newJSONChannelStore(t)
	spec := ChannelSpec{Name: "#Lobby", Topic: "From the config", Modes: "+nt"}
	ts := startRegServer(t, st, func(c *Config) { c.Channels = []ChannelSpec{spec} })
	r, ok := st.get(t, "#lobby")
	if !ok || r.DisplayName != "#Lobby" || r.Topic != "From the config" || r.TopicSetBy != "irc.test" || r.Founder != "" {
		t.Fatalf("declared channel on disk: %+v %v", r, ok)
	}
	root := ts.regUser("root", "root1")
	root.join("#lobby")
	root.send("TOPIC #lobby :changed by a user")
	root.send("MODE #lobby -n+s")
	root.collect()
	root.chanServExpect("DROP #lobby", "declared in the server configuration")
	if r, _ := st.get(t, "#lobby"); r.Topic != "changed by a user" {
		t.Fatalf("a user's change to a declared channel was not kept: %+v", r)
	}
	ts.stop()

	for _, topic := range []string{"From the config", "A new topic in the config"} {
		spec.Topic = topic
		ts := startRegServer(t, st, func(c *Config) { c.Channels = []ChannelSpec{spec} })
		c := ts.connect("someone")
		c.send("JOIN #lobby") // +s: members only
		c.send("TOPIC #lobby")
		c.send("MODE #lobby")
		msgs := c.collect()
		if m := find(msgs, "332", nil); m == nil || m.Trailing() != topic {
			t.Fatalf("topic after restart: %v, want %q", m, topic)
		}
		if m := find(msgs, "333", nil); m == nil || m.Param(2) != "irc.test" {
			t.Fatalf("topic setter after restart: %v", m)
		}
		if m := find(msgs, "324", nil); m == nil || m.Param(2) != "+nst" {
			t.Fatalf("modes after restart: %v", m)
		}
		ts.stop()
	}
}
