package sasl_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/thorchat/thorchat/sasl"
)

func TestEncodeAuthenticate(t *testing.T) {
	tests := []struct {
		name    string
		n       int // payload length
		lengths []int
	}{
		{"empty", 0, []int{1}},
		{"one byte", 1, []int{4}},
		{"client-first", 66, []int{88}},
		{"just under a chunk", 297, []int{396}},
		{"padded to exactly a chunk", 299, []int{400, 1}}, // 400 chars with one '='
		{"exactly one chunk", 300, []int{400, 1}},
		{"one chunk and a bit", 301, []int{400, 4}},
		{"exactly two chunks", 600, []int{400, 400, 1}},
		{"two and a bit", 700, []int{400, 400, 136}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := bytes.Repeat([]byte{0xa5}, tt.n)
			got := sasl.EncodeAuthenticate(payload)
			if len(got) != len(tt.lengths) {
				t.Fatalf("%d params %q, want lengths %v", len(got), got, tt.lengths)
			}
			for i, p := range got {
				if len(p) != tt.lengths[i] {
					t.Fatalf("param %d has %d bytes, want %d", i, len(p), tt.lengths[i])
				}
			}
			if last := got[len(got)-1]; (tt.lengths[len(tt.lengths)-1] == 1) != (last == "+") {
				t.Fatalf("last param %q", last)
			}
			if tt.n > 0 {
				joined := strings.TrimSuffix(strings.Join(got, ""), "+")
				if dec, err := base64.StdEncoding.DecodeString(joined); err != nil || !bytes.Equal(dec, payload) {
					t.Fatalf("params do not decode back: %v", err)
				}
			}
			// The Assembler takes them back.
			var a sasl.Assembler
			for i, p := range got {
				out, complete, err := a.Feed(p)
				if err != nil {
					t.Fatal(err)
				}
				if complete != (i == len(got)-1) {
					t.Fatalf("param %d: complete=%v", i, complete)
				}
				if complete && !bytes.Equal(out, payload) {
					t.Fatalf("assembled %d bytes, want %d", len(out), len(payload))
				}
			}
			if a.Pending() {
				t.Fatal("Assembler still pending")
			}
		})
	}
}

func TestAssemblerRefusals(t *testing.T) {
	chunk := strings.Repeat("A", 400)
	tests := []struct {
		name   string
		max    int
		params []string
		want   error
	}{
		{"chunk of 401", 0, []string{strings.Repeat("A", 401)}, sasl.ErrChunkTooLong},
		{"401 after a chunk", 0, []string{chunk, strings.Repeat("A", 401)}, sasl.ErrChunkTooLong},
		{"abort", 0, []string{"*"}, sasl.ErrAborted},
		{"abort mid-payload", 0, []string{chunk, "*"}, sasl.ErrAborted},
		{"bad alphabet", 0, []string{"AB$D"}, sasl.ErrBadBase64},
		{"missing padding", 0, []string{"QUI"}, sasl.ErrBadBase64},
		{"non-canonical padding bits", 0, []string{"QUJ="}, sasl.ErrBadBase64},
		{"padding inside", 0, []string{"QQ==QUJD"}, sasl.ErrBadBase64},
		{"padding in a full chunk", 0, []string{strings.Repeat("A", 396) + "QQ==", "QUJD"}, sasl.ErrBadBase64},
		{"newline", 0, []string{"QUJD\nQUJD"}, sasl.ErrBadBase64},
		{"empty parameter", 0, []string{""}, sasl.ErrBadBase64},
		{"over max", 64, []string{base64.StdEncoding.EncodeToString(make([]byte, 65))}, sasl.ErrPayloadTooLong},
		{"over default max in chunks", 0, slicesRepeat(chunk, 14), sasl.ErrPayloadTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := sasl.Assembler{Max: tt.max}
			var err error
			for _, p := range tt.params {
				var complete bool
				_, complete, err = a.Feed(p)
				if err != nil || complete {
					break
				}
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			// After an error the Assembler is empty and usable again.
			if a.Pending() {
				t.Fatal("pending after error")
			}
			out, complete, err := a.Feed("QUJD")
			if err != nil || !complete || string(out) != "ABC" {
				t.Fatalf("reuse: %q, %v, %v", out, complete, err)
			}
		})
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestAssemblerMaxBoundary(t *testing.T) {
	a := sasl.Assembler{Max: 66}
	for _, n := range []int{66, 0, 1, 65} {
		params := sasl.EncodeAuthenticate(make([]byte, n))
		out, complete, err := a.Feed(params[0])
		if err != nil || !complete || len(out) != n {
			t.Fatalf("%d bytes: %d, %v, %v", n, len(out), complete, err)
		}
	}
	if _, _, err := a.Feed(sasl.EncodeAuthenticate(make([]byte, 67))[0]); !errors.Is(err, sasl.ErrPayloadTooLong) {
		t.Fatalf("67 bytes: %v", err)
	}
}

func TestPlain(t *testing.T) {
	long := strings.Repeat("x", 256)
	tests := []struct {
		name                   string
		in                     []byte
		authzid, authcid, pass string
		ok                     bool
	}{
		{"no authzid", []byte("\x00alice\x00secret"), "", "alice", "secret", true},
		{"authzid", []byte("admin\x00alice\x00secret"), "admin", "alice", "secret", true},
		{"utf-8", []byte("\x00\u00e9l\u00e8ve\x00p\u00e4ss"), "", "\u00e9l\u00e8ve", "p\u00e4ss", true},
		{"max fields", []byte(long[:255] + "\x00" + long[:255] + "\x00" + long[:255]), long[:255], long[:255], long[:255], true},
		{"empty", nil, "", "", "", false},
		{"no NUL", []byte("alicesecret"), "", "", "", false},
		{"one NUL", []byte("alice\x00secret"), "", "", "", false},
		{"three NULs", []byte("a\x00b\x00c\x00d"), "", "", "", false},
		{"empty authcid", []byte("admin\x00\x00secret"), "", "", "", false},
		{"empty passwd", []byte("\x00alice\x00"), "", "", "", false},
		{"long authcid", []byte("\x00" + long + "\x00pw"), "", "", "", false},
		{"long passwd", []byte("\x00alice\x00" + long), "", "", "", false},
		{"long authzid", []byte(long + "\x00alice\x00pw"), "", "", "", false},
		{"bad utf-8", []byte("\x00al\xffice\x00pw"), "", "", "", false},
		{"huge", bytes.Repeat([]byte("a"), 10000), "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z, c, p, err := sasl.ParsePlain(tt.in)
			if !tt.ok {
				if !errors.Is(err, sasl.ErrMalformed) || z != "" || c != "" || p != "" {
					t.Fatalf("ParsePlain = %q %q %q %v; want ErrMalformed", z, c, p, err)
				}
				return
			}
			if err != nil || z != tt.authzid || c != tt.authcid || p != tt.pass {
				t.Fatalf("ParsePlain = %q %q %q %v", z, c, p, err)
			}
			if enc := sasl.EncodePlain(z, c, p); !bytes.Equal(enc, tt.in) {
				t.Fatalf("EncodePlain = %q, want %q", enc, tt.in)
			}
		})
	}
}
