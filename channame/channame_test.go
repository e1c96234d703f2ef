package channame

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"#node-operators", true},
		{"#café", true},
		{"#日本語", true},
		{"#ops+dev", true},
		{"#emoji😀", true},
		{"#bad\xff", false},
		{"#trunc\xe2\x82", false},
		{"#rlo\u202eevil", false},    // right-to-left override
		{"#lrm\u200e", false},        // left-to-right mark
		{"#iso\u2067x\u2069", false}, // isolates
		{"#zw\u200bsp", false},       // zero-width space
		{"#zwj\u200d", false},        // zero-width joiner
		{"#bom\ufeff", false},        // zero-width no-break space
		{"#ctl\x01x", false},
		{"#del\x7f", false},
		{"#c1\u0085", false},
		{"#nbsp\u00a0x", false},
		{"#ideo\u3000x", false},
		{"#fill\u3164", false}, // Hangul filler (default ignorable)
		{"#vs\ufe0f", false},
		{"#pua\ue000", false},
		{"#unassigned\U000e0080", false},
		{"#comma,", false},
		{"#colon:", false},
	}
	for _, c := range cases {
		err := Check(c.name)
		if (err == nil) != c.ok {
			t.Errorf("Check(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("Check(%q): %v does not wrap ErrInvalid", c.name, err)
		}
	}
}

func TestConfusable(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"#node-operators", "#n\u043ede-operators", true}, // Cyrillic о
		{"#node-operators", "#node-\u043eperat\u043ers", true},
		{"#node-operators", "#NODE-OPERATORS", true},
		{"#node-operators", "#n0de-operators", true},
		{"#paypal", "#paypaI", true},
		{"#modem", "#rnodem", true},
		{"#node-operators", "#node-operator", false},
		{"#node-operators", "#nodes-operators", false},
		{"#alpha", "#beta", false},
	}
	for _, c := range cases {
		if got := Confusable(c.a, c.b); got != c.want {
			t.Errorf("Confusable(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
