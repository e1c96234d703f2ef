package client

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 600)
	tests := []struct {
		name string
		in   string
		max  int
		want []string
	}{
		{"crlf and lf", "a\r\nb\n\r\n\nc\r\n", 512, []string{"a", "b", "c"}},
		{"overlong skipped", "a\r\n" + long + "\r\nb\r\n", 512, []string{"a", "b"}},
		{"exactly max", strings.Repeat("y", 510) + "\r\nz\r\n", 512, []string{strings.Repeat("y", 510), "z"}},
		{"one over max", strings.Repeat("y", 511) + "\r\nz\r\n", 512, []string{"z"}},
		{"overlong at end", "a\n" + long, 512, []string{"a"}},
		{"bigger than bufio", strings.Repeat("q", 6000) + "\n", 8703, []string{strings.Repeat("q", 6000)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr := newLineReader(strings.NewReader(tc.in), tc.max)
			var got []string
			for {
				l, err := lr.next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, l)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if len(lr.partial) > tc.max {
				t.Fatalf("partial grew to %d", len(lr.partial))
			}
		})
	}
}

// TestLineReaderDeadline: a line cut by a read deadline is completed by
// the next call, on a real socket.
func TestLineReaderDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srvc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			srvc <- c
		}
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	sc := <-srvc
	defer sc.Close()
	lr := newLineReader(cc, 512)
	sc.Write([]byte("PRIVMSG #a :hel"))
	cc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := lr.next(); !isTimeout(err) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	sc.Write([]byte("lo\r\n"))
	cc.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := lr.next()
	if err != nil || l != "PRIVMSG #a :hello" {
		t.Fatalf("line %q, %v", l, err)
	}
}

func TestBuildLine(t *testing.T) {
	tests := []struct {
		cmd    string
		params []string
		want   string
		err    error
	}{
		{"PRIVMSG", []string{"#a", "hello world"}, "PRIVMSG #a :hello world\r\n", nil},
		{"PRIVMSG", []string{"#a", ":)"}, "PRIVMSG #a ::)\r\n", nil},
		{"PONG", []string{""}, "PONG :\r\n", nil},
		{"JOIN", []string{"#a"}, "JOIN #a\r\n", nil},
		{"QUIT", nil, "QUIT\r\n", nil},
		{"PRIVMSG", []string{"#a b", "x"}, "", ErrBadParam},
		{"PRIVMSG", []string{"", "x"}, "", ErrBadParam},
		{"PRIVMSG", []string{"#a", "x\r\nQUIT"}, "", ErrBadParam},
		{"PRIVMSG", []string{"#a", "x\x00"}, "", ErrBadParam},
		{"PRIV MSG", []string{"#a"}, "", ErrBadParam},
		{"", nil, "", ErrBadParam},
		{"PRIVMSG", []string{"#a", strings.Repeat("x", 500)}, "", ErrLineTooLong},
	}
	for _, tc := range tests {
		got, err := buildLine(tc.cmd, tc.params)
		if !errors.Is(err, tc.err) || string(got) != tc.want {
			t.Errorf("buildLine(%q, %q) = %q, %v; want %q, %v", tc.cmd, tc.params, got, err, tc.want, tc.err)
		}
	}
}

func TestSplitText(t *testing.T) {
	tests := []struct {
		s         string
		n         int
		part, rst string
	}{
		{"short", 10, "short", ""},
		{"hello world again", 12, "hello world", "again"},
		{"abcdefghij", 4, "abcd", "efghij"},
		{"ééé", 3, "é", "éé"},                 // no cut inside a rune
		{"a bcdefghij", 6, "a bcde", "fghij"}, // space too early: cut hard
	}
	for _, tc := range tests {
		p, r := splitText(tc.s, tc.n)
		if p != tc.part || r != tc.rst {
			t.Errorf("splitText(%q, %d) = %q, %q; want %q, %q", tc.s, tc.n, p, r, tc.part, tc.rst)
		}
	}
}

func TestParseLineHostile(t *testing.T) {
	for _, l := range []string{"@a ", "@a", "@", ":p", ":p ", "@a :p ", "@a  ", " ", "@a=b;c :n!u@h"} {
		_, _ = parseLine(l) // must not panic
	}
	if _, err := parseLine("@a "); err == nil {
		t.Fatal(`"@a " parsed`)
	}
}

// FuzzParseLine: every line buildLine writes parses back, through
// parseLine, to the command (upper-cased, as irc.v4 does) and the exact
// parameters it was built from, fits 512 bytes and is one line; and no
// input, built or raw, makes parseLine panic.
func FuzzParseLine(f *testing.F) {
	f.Add("PRIVMSG", uint8(2), "#a", "hello world", "")
	f.Add("PRIVMSG", uint8(2), "#a", ":)", "")
	f.Add("PONG", uint8(1), "", "", "")
	f.Add("quit", uint8(0), "", "", "")
	f.Add("MODE", uint8(3), "#a", "+o", "n:ck")
	f.Add("PRIVMSG", uint8(2), "#a b", "x", "")
	f.Add("PRIVMSG", uint8(2), "#a", "x\r\nQUIT", "")
	f.Add("@time=x", uint8(1), ":n!u@h PRIVMSG #a :b", "", "")
	f.Fuzz(func(t *testing.T, cmd string, n uint8, a, b, c string) {
		_, _ = parseLine(cmd) // raw input: must not panic
		_, _ = parseLine(a)
		params := []string{a, b, c}[:n%4]
		line, err := buildLine(cmd, params)
		if err != nil {
			if !errors.Is(err, ErrBadParam) && !errors.Is(err, ErrLineTooLong) {
				t.Fatalf("buildLine(%q, %q): unexpected error %v", cmd, params, err)
			}
			return
		}
		s := string(line)
		if len(s) > 512 || !strings.HasSuffix(s, "\r\n") || strings.ContainsAny(s[:len(s)-2], "\r\n\x00") {
			t.Fatalf("buildLine(%q, %q) = %q: not one line of at most 512 bytes", cmd, params, s)
		}
		m, err := parseLine(s)
		if err != nil {
			t.Fatalf("buildLine(%q, %q) = %q does not parse: %v", cmd, params, s, err)
		}
		if m.Command != strings.ToUpper(cmd) || len(m.Params) != len(params) {
			t.Fatalf("%q parsed to %q %q, want %q %q", s, m.Command, m.Params, cmd, params)
		}
		for i := range params {
			if m.Params[i] != params[i] {
				t.Fatalf("%q: parameter %d parsed to %q, want %q", s, i+1, m.Params[i], params[i])
			}
		}
	})
}
