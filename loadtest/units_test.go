package loadtest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseMarker(t *testing.T) {
	tests := []struct {
		line    string
		seq, ns int64
		ok      bool
	}{
		{":f!f@guest/1 PRIVMSG #c :xxxx~12.345", 12, 345, true},
		{":f!f@guest/1 PRIVMSG #c :~0.0", 0, 0, true},
		{"~999999999.123456789012345678", 999999999, 123456789012345678, true},
		{":f JOIN #c", 0, 0, false},
		{":s 376 n :End of /MOTD command.", 0, 0, false},
		{"PRIVMSG #c :12.345", 0, 0, false},
		{"PRIVMSG #c :~.345", 0, 0, false},
		{"PRIVMSG #c :~12.", 0, 0, false},
		{"PRIVMSG #c :~12345", 0, 0, false},
		{"~1.1234567890123456789", 0, 0, false}, // 19 digits: refused, no overflow
		{"", 0, 0, false},
		{".5", 0, 0, false},
	}
	for _, tt := range tests {
		seq, ns, ok := parseMarker([]byte(tt.line))
		if ok != tt.ok || seq != tt.seq || ns != tt.ns {
			t.Errorf("parseMarker(%q) = %d, %d, %v; want %d, %d, %v", tt.line, seq, ns, ok, tt.seq, tt.ns, tt.ok)
		}
	}
	// round trip
	b := appendMarker([]byte("PRIVMSG #c :pad"), 4711, 123456789)
	if seq, ns, ok := parseMarker(b); !ok || seq != 4711 || ns != 123456789 {
		t.Fatalf("round trip of %q: %d %d %v", b, seq, ns, ok)
	}
}

func TestCommand(t *testing.T) {
	tests := []struct{ line, want string }{
		{":srv 001 nick :Welcome", "001"},
		{"PING :srv", "PING"},
		{"@time=x :n!u@h PRIVMSG #c :hi", "PRIVMSG"},
		{"ERROR :Closing Link", "ERROR"},
		{":srvonly", ""},
		{"@tagsonly", ""},
		{"", ""},
		{"QUIT", "QUIT"},
	}
	for _, tt := range tests {
		if got := string(command([]byte(tt.line))); got != tt.want {
			t.Errorf("command(%q) = %q; want %q", tt.line, got, tt.want)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name     string
		values   []time.Duration
		q        float64
		want     time.Duration
		relError float64
	}{
		{"exact small", []time.Duration{1, 2, 3, 4, 5}, 0.5, 3, 0},
		{"single", []time.Duration{7 * time.Millisecond}, 0.99, 7 * time.Millisecond, 0.02},
		{"p99 of a ramp", ramp(10000, time.Microsecond), 0.99, 9900 * time.Microsecond, 0.02},
		{"p50 of a ramp", ramp(10000, time.Microsecond), 0.50, 5000 * time.Microsecond, 0.02},
		{"max clamps", []time.Duration{time.Second, time.Second + 1}, 1, time.Second + 1, 0},
		{"empty", nil, 0.5, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for _, v := range tt.values {
				h.Record(v)
			}
			got := h.Quantile(tt.q)
			diff := float64(got - tt.want)
			if diff < 0 {
				diff = -diff
			}
			if diff > tt.relError*float64(tt.want) {
				t.Fatalf("Quantile(%v) = %v; want %v ±%.0f%%", tt.q, got, tt.want, 100*tt.relError)
			}
		})
	}
	var a, b Histogram
	a.Record(time.Millisecond)
	b.Record(3 * time.Millisecond)
	b.Record(-5) // a clock step must not panic
	a.Merge(&b)
	if a.Count() != 3 || a.Max() != 3*time.Millisecond {
		t.Fatalf("merge: count %d max %v", a.Count(), a.Max())
	}
}

func ramp(n int, step time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * step
	}
	return out
}

func TestHistogramIndexIsMonotonic(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<40; v = v*9/8 + 1 {
		i := histIndex(v)
		if i < prev || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d after %d", v, i, prev)
		}
		if mid := histValue(i); float64(mid) < float64(v)*0.98 || float64(mid) > float64(v)*1.02+1 {
			t.Fatalf("bucket %d of %d has middle %d", i, v, mid)
		}
		prev = i
	}
	if i := histIndex(1<<63 - 1); i >= histBuckets {
		t.Fatalf("largest value falls outside: %d", i)
	}
}

func TestProcParsers(t *testing.T) {
	status := "Name:\tthorchatd\nVmPeak:\t  9000 kB\nVmRSS:\t    5492 kB\nThreads:\t5\n"
	if got, err := parseVmRSS([]byte(status)); err != nil || got != 5492*1024 {
		t.Fatalf("parseVmRSS = %d, %v", got, err)
	}
	limits := "Limit                     Soft Limit           Hard Limit           Units     \n" +
		"Max open files            20000                40000                files     \n"
	stat := "4242 (thor chatd) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 5 0\n"
	tests := []struct {
		name string
		run  func() (int64, error)
		want int64
		fail bool
	}{
		{"rss", func() (int64, error) { return parseVmRSS([]byte(status)) }, 5492 * 1024, false},
		{"rss missing", func() (int64, error) { return parseVmRSS([]byte("Name: x\n")) }, 0, true},
		{"rss bad unit", func() (int64, error) { return parseVmRSS([]byte("VmRSS: 1 MB\n")) }, 0, true},
		{"nofile", func() (int64, error) { n, err := parseNoFile([]byte(limits)); return int64(n), err }, 20000, false},
		{"nofile unlimited", func() (int64, error) {
			n, err := parseNoFile([]byte("Max open files  unlimited  unlimited  files\n"))
			return int64(n), err
		}, 0, false},
		{"nofile missing", func() (int64, error) { n, err := parseNoFile([]byte("Max processes 1 1\n")); return int64(n), err }, 0, true},
		{"stat", func() (int64, error) { d, err := parseStatCPU([]byte(stat)); return int64(d), err }, int64(325 * clockTick), false},
		{"stat short", func() (int64, error) { d, err := parseStatCPU([]byte("1 (x) S 1 2\n")); return int64(d), err }, 0, true},
		{"io reads", func() (int64, error) {
			r, _, err := parseIO([]byte("rchar: 1\nsyscr: 42\nsyscw: 7\n"))
			return int64(r), err
		}, 42, false},
		{"io writes", func() (int64, error) { _, w, err := parseIO([]byte("syscr: 42\nsyscw: 7\n")); return int64(w), err }, 7, false},
		{"io missing", func() (int64, error) { r, _, err := parseIO([]byte("syscr: 42\n")); return int64(r), err }, 0, true},
		{"io garbage", func() (int64, error) { r, _, err := parseIO([]byte("syscr: x\nsyscw: 1\n")); return int64(r), err }, 0, true},
		{"schedstat", func() (int64, error) { d, err := parseSchedstat([]byte("1123123 115807 1\n")); return int64(d), err }, 115807, false},
		{"schedstat short", func() (int64, error) { d, err := parseSchedstat([]byte("1123123\n")); return int64(d), err }, 0, true},
		{"stat no name", func() (int64, error) { d, err := parseStatCPU([]byte("garbage")); return int64(d), err }, 0, true},
		{"steal", func() (int64, error) {
			d, err := parseSteal([]byte("cpu  313503 0 103931 689075 3217 0 13768 28766 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"))
			return int64(d), err
		}, int64(28766 * clockTick), false},
		{"steal missing", func() (int64, error) { d, err := parseSteal([]byte("cpu  1 2 3 4 5 6 7\n")); return int64(d), err }, 0, true},
		{"steal not the cpu line", func() (int64, error) { d, err := parseSteal([]byte("intr 1 2 3 4 5 6 7 8 9\n")); return int64(d), err }, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.run()
			if (err != nil) != tt.fail || got != tt.want {
				t.Fatalf("got %d, %v; want %d, fail=%v", got, err, tt.want, tt.fail)
			}
		})
	}
}

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:6667", true},
		{"127.3.2.1:6667", true},
		{"[::1]:6667", true},
		{"localhost:6667", true},
		{"[::ffff:127.0.0.1]:6667", true},
		{"10.0.0.1:6667", false},
		{"192.168.1.1:6667", false},
		{"0.0.0.0:6667", false},
		{"example.com:6667", false},
		{"127.0.0.1", false},
		{"127.0.0.1:", false},
	}
	for _, tt := range tests {
		if err := CheckLoopback(tt.addr); (err == nil) != tt.ok {
			t.Errorf("CheckLoopback(%q) = %v; want ok=%v", tt.addr, err, tt.ok)
		}
	}
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("y", 300)
	tests := []struct {
		name  string
		input string
		size  int
		want  []string
	}{
		{"crlf and lf", "a\r\nb\nc\r\n", 64, []string{"a", "b", "c"}},
		{"empty lines", "\r\n\nz\r\n", 64, []string{"", "", "z"}},
		{"over-long line is dropped in pieces", "a\r\n" + long + "\r\nb\r\n", 64, nil},
		{"line exactly fills", strings.Repeat("q", 62) + "\r\nok\r\n", 64, []string{strings.Repeat("q", 62), "ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				// byte by byte, to split lines across reads
				for i := range len(tt.input) {
					c.Write([]byte{tt.input[i]})
				}
				c.Close()
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			lr := newLineReader(c, tt.size)
			var got []string
			for {
				l, err := lr.next()
				if err != nil {
					if !errors.Is(err, io.EOF) {
						t.Fatalf("read: %v", err)
					}
					break
				}
				if len(l) > tt.size {
					t.Fatalf("line of %d bytes from a %d-byte buffer", len(l), tt.size)
				}
				got = append(got, string(l))
			}
			if tt.want == nil {
				// the long line must not come through whole; the short
				// ones around it do
				if len(got) == 0 || got[0] != "a" || got[len(got)-1] != "b" {
					t.Fatalf("got %q", got)
				}
				for _, l := range got {
					if l == long {
						t.Fatal("over-long line came through")
					}
				}
				return
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("got %q; want %q", got, tt.want)
			}
		})
	}
}

func TestReportJudgeAndOutput(t *testing.T) {
	r := NewReport("127.0.0.1:1", 1)
	r.Idle = &IdleResult{Clients: 10, RSSBefore: 1 << 20, RSSAfter: 1<<20 + 10*9000, BytesPerClient: 9000}
	r.Register = &RegisterResult{Registrations: 100, PerSecond: 6000}
	r.Fanout = &FanoutResult{Sent: 10, Delivered: 9, DeliveriesPerSecond: 1e6}
	r.Login = &LoginResult{FirstTime: LoginPhase{Logins: 100, PerSecond: 499}, Returning: LoginPhase{Logins: 100, PerSecond: 5000}}
	r.Judge()
	want := map[string]bool{"idle": false, "register": true, "fanout": false, "login_first_time": false, "login": true}
	for k, v := range want {
		if got, judged := r.Pass[k]; !judged || got != v {
			t.Errorf("pass[%s] = %v (judged: %v); want %v", k, got, judged, v)
		}
	}
	var text, js bytes.Buffer
	r.WriteText(&text)
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "FAIL") || !strings.Contains(text.String(), "PASS") {
		t.Fatalf("summary lacks verdicts:\n%s", text.String())
	}
	if !strings.Contains(text.String(), "first-time logins/s target >= 500   FAIL") {
		t.Fatalf("summary lacks the first-time login verdict:\n%s", text.String())
	}
	if bytes.Count(js.Bytes(), []byte("\n")) != 1 || !bytes.HasPrefix(js.Bytes(), []byte(`{"tool":"thorchat-load"`)) {
		t.Fatalf("JSON is not one line: %q", js.String())
	}
}

func TestReadCPUsAllowed(t *testing.T) {
	got, err := ReadCPUsAllowed(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got == "" || strings.Trim(got, "0123456789,-") != "" {
		t.Fatalf("Cpus_allowed_list = %q", got)
	}
	if _, err := ReadCPUsAllowed(-1); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}
