package torsvc

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseKeyVals(t *testing.T) {
	tests := []struct {
		in   string
		kv   map[string]string
		rest []string
	}{
		{`NOTICE BOOTSTRAP PROGRESS=75 TAG=enough_dirinfo SUMMARY="Loaded enough directory info to build circuits"`,
			map[string]string{"PROGRESS": "75", "TAG": "enough_dirinfo", "SUMMARY": "Loaded enough directory info to build circuits"},
			[]string{"NOTICE", "BOOTSTRAP"}},
		{`WARN BOOTSTRAP PROGRESS=5 WARNING="say \"no\"" HOSTADDR="127.0.0.1:1"`,
			map[string]string{"PROGRESS": "5", "WARNING": `say "no"`, "HOSTADDR": "127.0.0.1:1"}, []string{"WARN", "BOOTSTRAP"}},
		{"", map[string]string{}, nil},
		{`  A=1   B="x y"  C`, map[string]string{"A": "1", "B": "x y"}, []string{"C"}},
		{`A="unterminated`, map[string]string{"A": `"unterminated`}, nil},
		{`A="trailing\`, map[string]string{"A": `"trailing\`}, nil},
	}
	for _, tt := range tests {
		kv, rest := parseKeyVals(tt.in)
		if !maps.Equal(kv, tt.kv) || !slices.Equal(rest, tt.rest) {
			t.Errorf("parseKeyVals(%q) = %v %q, want %v %q", tt.in, kv, rest, tt.kv, tt.rest)
		}
	}
}

func TestReadProxyHeader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		id   uint32
		ok   bool
		rest string
	}{
		{"tor format", "PROXY TCP6 fc00:dead:beef:4dad::1:2 ::1 2 6667\r\nNICK a\r\n", 0x00010002, true, "NICK a\r\n"},
		{"large id", "PROXY TCP6 fc00:dead:beef:4dad::ffff:ffff ::1 65535 6667\r\n", 0xffffffff, true, ""},
		{"no proxy line", "NICK a\r\n", 0, false, ""},
		{"tcp4", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 0, false, ""},
		{"foreign prefix", "PROXY TCP6 2001:db8::1:2 ::1 2 6667\r\n", 0, false, ""},
		{"bad port", "PROXY TCP6 fc00:dead:beef:4dad::1:2 ::1 99999 6667\r\n", 0, false, ""},
		{"no CR", "PROXY TCP6 fc00:dead:beef:4dad::1:2 ::1 2 6667\n", 0, false, ""},
		{"too long", "PROXY TCP6 " + strings.Repeat("f", 200) + "\r\n", 0, false, ""},
		{"eof", "PROXY TCP6 fc00", 0, false, ""},
		{"empty", "", 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(tt.in))
			id, err := ReadProxyHeader(r)
			if tt.ok != (err == nil) || id != tt.id {
				t.Fatalf("= %#x, %v; want %#x ok=%v", id, err, tt.id, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrNoProxyHeader) {
				t.Errorf("error %v is not ErrNoProxyHeader", err)
			}
			if tt.ok {
				rest := make([]byte, 100)
				n, _ := r.Read(rest)
				if string(rest[:n]) != tt.rest {
					t.Errorf("rest = %q, want %q (read past the line)", rest[:n], tt.rest)
				}
			}
		})
	}
}

func FuzzReadProxyHeader(f *testing.F) {
	f.Add("PROXY TCP6 fc00:dead:beef:4dad::1:2 ::1 2 6667\r\n")
	f.Add("PROXY TCP6 fc00:dead:beef:4dad::%eth0 ::1 2 6667\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		r := bufio.NewReader(strings.NewReader(in))
		id, err := ReadProxyHeader(r)
		line, _, found := strings.Cut(in, "\n")
		if err == nil && (!found || !strings.HasPrefix(line, "PROXY TCP6 ") || len(line) >= maxProxyLine) {
			t.Fatalf("accepted %q as id %#x", in, id)
		}
	})
}

func TestTorOutput(t *testing.T) {
	var buf strings.Builder
	o := newTorOutput(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	in := "Nov 23 17:45:26.000 [notice] Bootstrapped 5%\nNov 23 17:45:26.000 [warn] careful\nNov 23 17:45:2"
	for _, chunk := range []string{in[:10], in[10:]} {
		if n, err := o.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if _, err := o.Write([]byte("6.000 [err] broken\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Write([]byte(strings.Repeat("x", 3*maxLineSize) + "\n")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 * tailLines {
		fmt.Fprintf(o, "Nov 23 17:45:26.000 [notice] line %d\n", i)
	}
	logs := buf.String()
	for _, want := range []string{`level=DEBUG msg="tor says" level=notice msg="Bootstrapped 5%"`,
		`level=WARN msg="tor says" msg=careful`, `level=ERROR msg="tor says" msg=broken`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	tail := strings.Split(o.tail(), " | ")
	if len(tail) != tailLines || tail[len(tail)-1] != fmt.Sprintf("line %d", 2*tailLines-1) {
		t.Errorf("tail = %q", tail)
	}
	for _, l := range strings.Split(logs, "\n") {
		if len(l) > maxLineSize+200 {
			t.Errorf("a logged line is %d bytes, want at most about %d", len(l), maxLineSize)
		}
	}
}

func TestDialerRejects(t *testing.T) {
	for _, addr := range []string{"", "127.0.0.1", "127.0.0.1:0", ":9050", "127.0.0.1:x"} {
		if _, err := Dialer(addr); err == nil {
			t.Errorf("Dialer(%q) succeeded", addr)
		}
	}
	if _, err := Dialer("127.0.0.1:9050"); err != nil {
		t.Errorf("Dialer(127.0.0.1:9050) = %v", err)
	}
}

func TestNextBackoff(t *testing.T) {
	for _, tt := range []struct{ in, want time.Duration }{
		{minBackoff, 2 * time.Second}, {16 * time.Second, maxBackoff}, {maxBackoff, maxBackoff},
	} {
		if got := nextBackoff(tt.in); got != tt.want {
			t.Errorf("nextBackoff(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
