package main

import (
	"strings"
	"testing"
)

// TestInstructionsBrowser: the printed instructions open the page through
// the network's SOCKS port with the proxy resolving names.
func TestInstructionsBrowser(t *testing.T) {
	var b strings.Builder
	printInstructions(&b, instructions{Onion: "abc.onion", Port: 6667, WebPort: 80, SOCKS: "127.0.0.1:9050"})
	want := `chromium --user-data-dir="$(mktemp -d)" --proxy-server=socks5://127.0.0.1:9050 --host-resolver-rules="MAP * ~NOTFOUND , EXCLUDE 127.0.0.1" http://abc.onion/`
	if !strings.Contains(b.String(), want) {
		t.Fatalf("instructions lack %q:\n%s", want, b.String())
	}
	if got := (instructions{Onion: "abc.onion", WebPort: 8080}).WebURL(); got != "http://abc.onion:8080/" {
		t.Fatalf("WebURL with port 8080 = %q", got)
	}
}
