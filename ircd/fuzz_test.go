package ircd

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

// pipeServer is a Server without its Run loop: the test goroutine plays
// the processing goroutine and feeds bytes through the same path a
// connection's reader uses (deliver, then processBatch and handleLine).
// Clients are wired to net.Pipe; their output is drained into a bounded
// buffer.
type pipeServer struct {
	tb      testing.TB
	s       *Server
	clients []*pipeClient
}

type pipeClient struct {
	c    *Client
	peer net.Conn
	mu   sync.Mutex
	out  bytes.Buffer
	lost bool // output went over the buffer bound
	more chan struct{}
	done chan struct{}
}

const pipeOutMax = 1 << 20

func newPipeServer(tb testing.TB, mutate func(*Config)) *pipeServer {
	tb.Helper()
	cfg := Config{Name: "irc.test", Network: "TestNet", MOTD: []string{"hi"}, Clock: newFakeClock()}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ps := &pipeServer{tb: tb, s: s}
	tb.Cleanup(ps.close)
	return ps
}

// add connects a client on a listener like l.
func (ps *pipeServer) add(l Listener) *pipeClient {
	srvEnd, peer := net.Pipe()
	pc := &pipeClient{peer: peer, more: make(chan struct{}, 1), done: make(chan struct{})}
	pc.c = newClient(ps.s, srvEnd, &l)
	if l.Origin != nil {
		pc.c.origin = l.Origin(srvEnd)
	}
	ps.s.nconns.Add(1)
	ps.s.handleEvent(event{c: pc.c, kind: evNew})
	ps.clients = append(ps.clients, pc)
	go pc.drain()
	return pc
}

func (pc *pipeClient) drain() {
	defer close(pc.done)
	buf := make([]byte, 32<<10)
	for {
		n, err := pc.peer.Read(buf)
		pc.mu.Lock()
		if pc.out.Len()+n > pipeOutMax {
			pc.out.Reset()
			pc.lost = true
		}
		pc.out.Write(buf[:n])
		pc.mu.Unlock()
		select {
		case pc.more <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// feed hands data to c in chunks of at most chunk bytes, as its reader
// would, and processes the resulting batches synchronously.
func (ps *pipeServer) feed(pc *pipeClient, data []byte, chunk int) {
	s, c := ps.s, pc.c
	if chunk <= 0 {
		chunk = len(data)
	}
	for len(data) > 0 && !c.gone {
		buf := make([]byte, s.bufs.size)
		off := copy(buf, c.partial)
		n := copy(buf[off:min(len(buf), off+chunk)], data)
		data = data[n:]
		// deliver runs as the reader would, on its own goroutine; this
		// goroutine is the processor and handles the batch it queues.
		delivered := make(chan struct{})
		go func() { c.deliver(&buf, off+n, false); close(delivered) }()
	wait:
		for {
			select {
			case ev := <-s.events:
				s.handleEvent(ev)
			case <-delivered:
				break wait
			case <-time.After(10 * time.Second):
				ps.tb.Fatalf("reader stuck (busy=%v, pending=%v)", c.busy, c.pending != nil)
			}
		}
		s.runPending()
	}
}

// line feeds one line with CR LF.
func (ps *pipeServer) line(pc *pipeClient, l string) { ps.feed(pc, []byte(l+"\r\n"), 0) }

// output waits until the output contains marker (fed as "PING :marker")
// and returns everything received so far.
func (ps *pipeServer) output(pc *pipeClient, marker string) string {
	ps.tb.Helper()
	want := "PONG irc.test " + marker + "\r\n"
	if !pc.c.gone {
		ps.line(pc, "PING :"+marker)
	}
	deadline := time.After(5 * time.Second)
	for {
		pc.mu.Lock()
		out := pc.out.String()
		pc.mu.Unlock()
		if strings.Contains(out, want) || pc.c.gone {
			if pc.c.gone {
				select {
				case <-pc.done:
				case <-deadline:
					ps.tb.Fatal("connection of a gone client not closed")
				}
				pc.mu.Lock()
				out = pc.out.String()
				pc.mu.Unlock()
			}
			return out
		}
		select {
		case <-pc.more:
		case <-deadline:
			ps.tb.Fatalf("no %q in output %q", want, out)
		}
	}
}

func (ps *pipeServer) close() {
	for _, pc := range ps.clients {
		pc.c.conn.Close()
		pc.peer.Close()
	}
	waited := make(chan struct{})
	go func() { ps.s.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		ps.tb.Error("writer goroutines did not finish")
	}
}

// register brings a pipe client through registration.
func (ps *pipeServer) register(nick string, caps ...string) *pipeClient {
	pc := ps.add(Listener{Kind: "tcp"})
	if len(caps) > 0 {
		ps.line(pc, "CAP LS 302")
		ps.line(pc, "CAP REQ :"+strings.Join(caps, " "))
		ps.line(pc, "CAP END")
	}
	ps.line(pc, "NICK "+nick)
	ps.line(pc, "USER "+nick+" 0 * :"+nick)
	if !pc.c.registered {
		ps.tb.Fatalf("%s did not register", nick)
	}
	return pc
}

// checkState verifies the processor's invariants.
func (ps *pipeServer) checkState() {
	tb, st := ps.tb, &ps.s.st
	unknown := 0
	for c := range st.all {
		if c.gone {
			tb.Fatalf("gone client %q still in state", c.nick)
		}
		if !c.registered {
			unknown++
			if len(c.channels) != 0 {
				tb.Fatalf("unregistered client in channels")
			}
		}
		for ch := range c.channels {
			if st.channels[ch.folded] != ch {
				tb.Fatalf("%s is in a channel %q the server forgot", c.nick, ch.name)
			}
			if _, ok := ch.members[c]; !ok {
				tb.Fatalf("%s lists %q but is not a member", c.nick, ch.name)
			}
		}
	}
	if unknown != st.unknown {
		tb.Fatalf("unknown count %d, actual %d", st.unknown, unknown)
	}
	for folded, c := range st.nicks {
		if _, ok := st.all[c]; !ok || c.folded != folded || Fold(c.nick) != folded {
			tb.Fatalf("nick map entry %q → %q (in state %v)", folded, c.nick, ok)
		}
	}
	for folded, ch := range st.channels {
		if ch.folded != folded || Fold(ch.name) != folded {
			tb.Fatalf("channel map entry %q → %q", folded, ch.name)
		}
		if len(ch.members) == 0 && !ch.permanent {
			tb.Fatalf("empty channel %q kept", ch.name)
		}
		if len(ch.bans) > ps.s.lim.MaxListEntries || len(ch.excepts) > ps.s.lim.MaxListEntries ||
			len(ch.invex) > ps.s.lim.MaxListEntries || len(ch.invited) > ps.s.lim.MaxListEntries {
			tb.Fatalf("channel %q lists over the bound", ch.name)
		}
		for m := range ch.members {
			if _, ok := st.all[m]; !ok || !m.registered {
				tb.Fatalf("channel %q has a member %q not in state", ch.name, m.nick)
			}
			if _, ok := m.channels[ch]; !ok {
				tb.Fatalf("%q has member %q who does not list it", ch.name, m.nick)
			}
		}
	}
}

// checkOutput verifies that every line the server wrote is well formed.
func checkOutput(tb testing.TB, out string) {
	tb.Helper()
	for len(out) > 0 {
		i := strings.Index(out, "\r\n")
		if i < 0 {
			tb.Fatalf("output ends without CR LF: %q", out)
		}
		l := out[:i]
		out = out[i+2:]
		if strings.ContainsAny(l, "\x00\r\n") {
			tb.Fatalf("output line holds NUL/CR/LF: %q", l)
		}
		m, err := irc.ParseMessage(l)
		if err != nil {
			tb.Fatalf("unparseable output line %q: %v", l, err)
		}
		for i, p := range m.Params {
			if i < len(m.Params)-1 && (p == "" || p[0] == ':') {
				tb.Fatalf("malformed middle parameter in %q", l)
			}
		}
		if len(l)+2 > 8191+512+1024 {
			tb.Fatalf("output line of %d bytes", len(l))
		}
	}
}

func TestDeliverOverlongTail(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []string // output lines in order (prefix match)
		gone   bool
	}{
		{
			name:   "complete line before an over-long tail",
			chunks: []string{"PING :before\r\n" + strings.Repeat("Z", 9000), "QUIT\r\n"},
			want:   []string{":irc.test PONG irc.test before", ":irc.test 417 alice "},
		},
		{
			name:   "over-long tail over several reads",
			chunks: []string{strings.Repeat("Z", 5000), strings.Repeat("Z", 5000), "QUIT\r\nPING :x\r\n"},
			want:   []string{":irc.test 417 alice ", ":irc.test PONG irc.test x"},
		},
		{
			name:   "line at the bound without end",
			chunks: []string{"PING :" + strings.Repeat("a", 8697), "\r\n"},
			want:   []string{":irc.test 417 alice "},
		},
		{
			name:   "lone CR ends a line",
			chunks: []string{"PING :a\rPING :b\r", "\nPING :c\n"},
			want:   []string{":irc.test PONG irc.test a", ":irc.test PONG irc.test b", ":irc.test PONG irc.test c"},
		},
		{
			name:   "QUIT after over-long line is honoured",
			chunks: []string{strings.Repeat("Z", 9000) + "\r\nQUIT :bye\r\n"},
			want:   []string{":irc.test 417 alice ", "ERROR :Closing Link: alice (Quit: bye)"},
			gone:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := newPipeServer(t, nil)
			a := ps.register("alice")
			before := len(ps.output(a, "registered"))
			for _, ch := range tt.chunks {
				ps.feed(a, []byte(ch), 0)
			}
			out := ps.output(a, "end")[before:]
			lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
			if !tt.gone {
				lines = lines[:len(lines)-1] // the PONG end
			}
			if len(lines) != len(tt.want) {
				t.Fatalf("got %q, want %q (all: %q)", lines, tt.want, out)
			}
			for i := range lines {
				if !strings.HasPrefix(lines[i], tt.want[i]) {
					t.Fatalf("line %d: %q, want %q", i, lines[i], tt.want[i])
				}
			}
			if a.c.gone != tt.gone {
				t.Fatalf("gone = %v", a.c.gone)
			}
			ps.checkState()
			checkOutput(t, out)
		})
	}
}

// FuzzParseLine feeds arbitrary bytes through the server's line handling
// (the reader's framing and bounds, then parsing and every command) on a
// client that is registered and in a channel, one that is not registered,
// or one behind a PROXY-protocol listener, and checks that nothing panics,
// the state stays consistent and every line written back is well formed.
func FuzzParseLine(f *testing.F) {
	seeds := []string{
		"PING :x\r\n",
		"@a \r\n",
		"@\r\n",
		":\r\n",
		"     \r\n",
		"\x00\r\n",
		"\r\r\r",
		"@a :b \r\n",
		"PRIVMSG #x,,bob :hi\r\n",
		"NAMES :\r\nWHOIS :\r\n",
		"@+draft/react=\\:\\s\\\\;+a;b=c PRIVMSG #x :hi\r\n",
		"@+typing=active TAGMSG #x\r\nTAGMSG bob\r\n",
		"JOIN #a,#b,#c k1,k2\r\nMODE #a +kl-l+beI key 5 a b c\r\nPART #a,#b :bye\r\nJOIN 0\r\n",
		"MODE #x +ovb-o+eI bob bob *!*@* bob x y\r\nMODE #x b\r\nKICK #x bob :r\r\n",
		"NICK [a]\r\nNICK {A}\r\nNICK ~\r\nNICK 123\r\n",
		"TOPIC #x :t\r\nTOPIC #x\r\nLIST >0,<9,#*\r\nWHO #x %tcuihsnfdlaor,999\r\n",
		"AWAY :a\r\nINVITE bob #x\r\nSETNAME :n\r\nISON a b\r\nUSERHOST a b c\r\n",
		"CAP LS 302\r\nCAP REQ :multi-prefix -cap-notify\r\nCAP LIST\r\nCAP END\r\n",
		"NICK a\r\nUSER a 0 * :a\r\n",
		"PROXY TCP6 ::1 ::1 1 2\r\nNICK p\r\nUSER p 0 * :p\r\n",
		"PROXY TCP6 fc00::ffff:ffff ::1 1 2\r\n",
		"PROXY UNKNOWN\r\n",
		"PROXY garbage\r\n",
		"QUIT :bye\r\n",
		"PING :" + strings.Repeat("x", 600) + "\r\nPING :y\r\n",
		"@" + strings.Repeat("t", 9000) + " PING :x\r\n",
		strings.Repeat("Z", 9000) + "\r\nPING :after\r\n",
		"PRIVMSG NickServ :HELP\r\nNS INFO\r\nCS HELP\r\n",
		"WHOWAS x\r\nVERSION\r\nTIME\r\nINFO\r\nMOTD\r\nLUSERS\r\nACCEPT *\r\n",
	}
	for i, s := range seeds {
		if strings.HasPrefix(s, "PROXY") {
			f.Add(byte(2), byte(i), []byte(s))
			continue
		}
		f.Add(byte(0), byte(i), []byte(s)) // registered, in #x with bob
		f.Add(byte(1), byte(i), []byte(s)) // not registered
	}
	f.Fuzz(func(t *testing.T, mode, chunk byte, data []byte) {
		ps := newPipeServer(t, func(c *Config) {
			c.Limits.MaxListEntries = 4
			c.Limits.MaxChannelsPerClient = 4
			c.Limits.MaxChannels = 8
			c.Limits.PreRegLines = 16
			c.Channels = []ChannelSpec{{Name: "#perm", Modes: "+nt", SpeakOperators: true}}
		})
		bob := ps.register("bob", "message-tags", "echo-message", "server-time", "extended-join", "multi-prefix", "userhost-in-names", "invite-notify")
		ps.line(bob, "JOIN #x,#perm")
		var target *pipeClient
		switch mode % 3 {
		case 0:
			target = ps.register("alice", "message-tags", "echo-message", "away-notify", "setname")
			ps.line(target, "JOIN #x")
		case 1:
			target = ps.add(Listener{Kind: "tcp"})
		default:
			target = ps.add(Listener{Kind: "onion", Origin: func(net.Conn) string { return "circuit/2a" }, OriginKind: "Tor circuit"})
		}
		sizes := []int{1, 7, 64, 511, 4096, 1 << 20}
		ps.feed(target, data, sizes[int(chunk)%len(sizes)])
		ps.checkState()
		if !target.c.gone {
			ps.feed(target, []byte("\r\n"), 0)
		}
		for _, pc := range []*pipeClient{target, bob} {
			out := ps.output(pc, "fuzz-end")
			checkOutput(t, out)
			// dispatch turns a handler's panic into this disconnect
			if strings.Contains(out, "Internal server error") {
				t.Fatalf("a command handler panicked: %q", out)
			}
		}
		ps.checkState()
	})
}

func TestPipeServerSanity(t *testing.T) {
	ps := newPipeServer(t, nil)
	a := ps.register("alice")
	b := ps.register("bob")
	ps.line(a, "JOIN #x")
	ps.line(b, "JOIN #x")
	ps.line(a, "PRIVMSG #x :hello")
	out := ps.output(b, "sync")
	if !strings.Contains(out, ":alice!~alice@guest/1 PRIVMSG #x :hello\r\n") {
		t.Fatalf("output %q", out)
	}
	ps.checkState()
	checkOutput(t, out)
	ps.line(a, "QUIT")
	if !a.c.gone {
		t.Fatal("QUIT did not end the client")
	}
	select {
	case <-a.done: // the server closed its end after the ERROR line
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed after QUIT")
	}
	if out := ps.output(a, "x"); !strings.HasSuffix(out, "ERROR :Closing Link: alice (Quit: Client quit)\r\n") {
		t.Fatalf("output %q", out)
	}
	ps.checkState()
}
