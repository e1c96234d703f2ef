package torsvc

import (
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
