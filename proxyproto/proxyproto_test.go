package proxyproto

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
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

// FuzzReadHeader: a line tor would write for any circuit ID and ports is
// read back to that ID with nothing past it consumed; and whatever raw
// input is accepted is one CRLF-ended "PROXY TCP6" line under MaxLine
// whose source address is in tor's prefix and carries the returned ID in
// its low 32 bits, again with nothing past the line consumed.
func FuzzReadHeader(f *testing.F) {
	f.Add("PROXY TCP6 fc00:dead:beef:4dad::1:2 ::1 2 6667\r\n", uint32(0x10002), uint16(2), uint16(6667))
	f.Add("PROXY TCP6 fc00:dead:beef:4dad::%eth0 ::1 2 6667\r\n", uint32(0), uint16(0), uint16(0))
	f.Add("NICK a\r\n", uint32(0xffffffff), uint16(65535), uint16(1))
	f.Fuzz(func(t *testing.T, in string, id uint32, sport, dport uint16) {
		// Built: the source address tor writes for circuit id.
		var a [16]byte
		copy(a[:], circuitIDPrefix.Addr().AsSlice())
		binary.BigEndian.PutUint32(a[12:], id)
		src := netip.AddrFrom16(a)
		line := fmt.Sprintf("PROXY TCP6 %s ::1 %d %d\r\n", src, sport, dport)
		r := bufio.NewReader(strings.NewReader(line + in))
		got, err := ReadHeader(r)
		if err != nil || got != id {
			t.Fatalf("%q = %#x, %v; want %#x", line, got, err, id)
		}
		if rest, _ := io.ReadAll(r); string(rest) != in {
			t.Fatalf("%q: left %q, want %q", line, rest, in)
		}

		// Raw: anything accepted names its origin in the source address.
		r = bufio.NewReader(strings.NewReader(in))
		got, err = ReadHeader(r)
		if err != nil {
			if !errors.Is(err, ErrNoHeader) {
				t.Fatalf("%q: error %v is not ErrNoHeader", in, err)
			}
			return
		}
		head, tail, found := strings.Cut(in, "\n")
		body, crlf := strings.CutSuffix(head+"\n", "\r\n")
		fields := strings.Split(body, " ")
		if !found || !crlf || len(head)+1 > MaxLine || len(fields) != 6 || fields[0] != "PROXY" || fields[1] != "TCP6" {
			t.Fatalf("accepted %q as id %#x", in, got)
		}
		addr, perr := netip.ParseAddr(fields[2])
		if perr != nil || addr.Zone() != "" || !circuitIDPrefix.Contains(addr) {
			t.Fatalf("accepted %q with source %q outside %s", in, fields[2], circuitIDPrefix)
		}
		b := addr.As16()
		if want := binary.BigEndian.Uint32(b[12:]); got != want {
			t.Fatalf("%q = %#x, want %#x from the source address", in, got, want)
		}
		if rest, _ := io.ReadAll(r); string(rest) != tail {
			t.Fatalf("%q: left %q, want %q", in, rest, tail)
		}
	})
}
