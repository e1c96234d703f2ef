package proxyproto

import (
	"bufio"
	"errors"
	"strings"
	"testing"
)

func TestReadHeader(t *testing.T) {
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
			id, err := ReadHeader(r)
			if tt.ok != (err == nil) || id != tt.id {
				t.Fatalf("= %#x, %v; want %#x ok=%v", id, err, tt.id, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrNoHeader) {
				t.Errorf("error %v is not ErrNoHeader", err)
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

func FuzzReadHeader(f *testing.F) {
	f.Add("PROXY TCP6 fc00:dead:beef:4dad::1:2 ::1 2 6667\r\n")
	f.Add("PROXY TCP6 fc00:dead:beef:4dad::%eth0 ::1 2 6667\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		r := bufio.NewReader(strings.NewReader(in))
		id, err := ReadHeader(r)
		line, _, found := strings.Cut(in, "\n")
		if err == nil && (!found || !strings.HasPrefix(line, "PROXY TCP6 ") || len(line) >= MaxLine) {
			t.Fatalf("accepted %q as id %#x", in, id)
		}
	})
}
