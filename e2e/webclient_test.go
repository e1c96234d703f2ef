package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
	"gopkg.in/irc.v4"
)

// chromiumFlags are the headless flags every browser test uses.
var chromiumFlags = []chromedp.ExecAllocatorOption{
	chromedp.Flag("headless", true),
	chromedp.Flag("no-sandbox", true),
	chromedp.Flag("disable-gpu", true),
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.Flag("no-first-run", true),
	chromedp.WindowSize(1280, 800),
}

// startBrowser starts Debian's chromium headless (skipping, or failing
// with THORCHAT_REQUIRE_CLIENTS=1, when it is missing) and returns a tab.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	bin := requireTool(t, "chromium", "chromium")
	opts := append([]chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir())}, chromiumFlags...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	return ctx
}

// pageText polls the page until expr (a JS expression yielding a string)
// contains want.
func pageWait(t *testing.T, ctx context.Context, desc, expr, want string) {
	t.Helper()
	var got string
	waitFor(t, desc, func() (bool, error) {
		var err error
		if got, err = chromedp.Run(ctx, chromedp.Evaluate[string](expr)); err != nil {
			return false, err
		}
		return strings.Contains(got, want), nil
	}, func() string { return "page shows: " + got })
}

// artifactDir is where screenshots go: $THORCHAT_ARTIFACTS if set.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("THORCHAT_ARTIFACTS"); d != "" {
		return d
	}
	return t.TempDir()
}

// TestWebClientGuest: the real daemon serves the page on [web] dev_tcp;
// headless chromium loads it as a guest, joins the default channel and
// shows what an IRC client says there, the topic and the member list —
// and hostile text in a message, topic or part reason stays text.
func TestWebClientGuest(t *testing.T) {
	webPort := freePort(t)
	d := startDaemon(t, fmt.Sprintf("[web]\ndev_tcp = [\"127.0.0.1:%d\"]\ndefault_channels = [\"#thorchat\"]\n", webPort))
	irc := dialIRC(t, d.Addr, "alice")
	irc.join("#thorchat")
	hostileTopic := `<script>window.pwned=1</script> topic <img src=x onerror="window.pwned=2">`
	irc.send("TOPIC #thorchat :" + hostileTopic)

	ctx := startBrowser(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", webPort)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("load %s: %v", url, err)
	}
	pageWait(t, ctx, "the guest to join #thorchat", `document.getElementById("member-list").textContent`, "alice")
	pageWait(t, ctx, "the topic", `document.getElementById("buffer-topic").textContent`, hostileTopic)

	irc.privmsg("#thorchat", "hello from IRC")
	pageWait(t, ctx, "alice's message on the page", `document.getElementById("messages").textContent`, "hello from IRC")

	hostile := []string{
		`<img src=x onerror="window.pwned=3">`,
		`<script>window.pwned=4</script>`,
		`<b>bold?</b> <a href="javascript:window.pwned=5">link</a>`,
		`<iframe srcdoc="<script>parent.pwned=6</script>"></iframe>`,
		`&lt;escaped&gt; &amp; "quotes" 'single'`,
		"\x01ACTION <svg onload=window.pwned=7>\x01",
		`POLL: <img src=x onerror=window.pwned=8>? | 1) <b>yes</b> | 2) <script>window.pwned=9</script>`,
	}
	for i, text := range hostile {
		irc.privmsg("#thorchat", text)
		want := strings.TrimSuffix(strings.TrimPrefix(text, "\x01ACTION "), "\x01")
		if strings.HasPrefix(text, "POLL: ") {
			want = "<script>window.pwned=9</script>"
		}
		pageWait(t, ctx, "hostile message "+strconv.Itoa(i)+" shown as text", `document.getElementById("messages").textContent`, want)
	}
	irc.send("PART #thorchat :<img src=x onerror=window.pwned=10>")
	pageWait(t, ctx, "the part reason as text", `document.getElementById("messages").textContent`, "<img src=x onerror=window.pwned=10>")

	time.Sleep(500 * time.Millisecond) // let any injected handler fire, were there one
	elements, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#messages img, #messages script, #messages b, #messages a, #messages iframe, #messages svg, #buffer-topic *").length`))
	if err != nil {
		t.Fatal(err)
	}
	pwned, err := chromedp.Run(ctx, chromedp.Evaluate[string](`String(window.pwned)`))
	if err != nil {
		t.Fatal(err)
	}
	if elements != 0 || pwned != "undefined" {
		t.Fatalf("markup came through: %d injected elements, window.pwned = %s", elements, pwned)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(artifactDir(t), "web-guest.png")
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)
}

// TestWebClientRedaction: a message its sender deletes from an IRC client
// (REDACT, draft/message-redaction) is greyed out on a guest's page with
// the reason, its text gone, and a reply quoting it says it was deleted.
func TestWebClientRedaction(t *testing.T) {
	webPort := freePort(t)
	d := startDaemon(t, fmt.Sprintf("[web]\ndev_tcp = [\"127.0.0.1:%d\"]\ndefault_channels = [\"#thorchat\"]\n", webPort))
	alice := dialIRC(t, d.Addr, "alice")
	alice.send("CAP REQ :message-tags echo-message draft/message-redaction")
	alice.expect("CAP ACK", func(m *irc.Message) bool { return m.Command == "CAP" && m.Param(1) == "ACK" })
	alice.join("#thorchat")

	ctx := startBrowser(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", webPort)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("load %s: %v", url, err)
	}
	pageWait(t, ctx, "the guest to join #thorchat", `document.getElementById("member-list").textContent`, "alice")
	pageWait(t, ctx, "the page to take redactions", `thorchat.state.caps.has("draft/message-redaction") ? "yes" : "no"`, "yes")

	const secret = "the old password is hunter2"
	alice.privmsg("#thorchat", secret)
	echo := alice.expect("the echo of alice's message with its msgid", func(m *irc.Message) bool {
		return m.Command == "PRIVMSG" && m.Trailing() == secret && m.Tags["msgid"] != ""
	})
	msgid := echo.Tags["msgid"]
	alice.send("@+draft/reply=" + msgid + " PRIVMSG #thorchat :oops, wrong channel")
	pageWait(t, ctx, "the reply quoting the message", `document.getElementById("messages").textContent`, "↪ alice: "+secret)

	alice.send("REDACT #thorchat " + msgid + " :posted by mistake")
	alice.expect("alice's REDACT back", func(m *irc.Message) bool { return m.Command == "REDACT" && m.Param(1) == msgid })
	msg := `document.querySelector('#messages .msg[data-msgid="` + msgid + `"]')`
	pageWait(t, ctx, "the message greyed out", `(`+msg+`?.className || "") + " | " + (`+msg+`?.textContent || "gone")`, "redacted")
	pageWait(t, ctx, "the reason in place of the text", msg+`?.textContent || ""`, "message deleted (posted by mistake)")
	pageWait(t, ctx, "the quote of the deleted message", `document.getElementById("messages").textContent`, "↪ alice: (deleted)")
	if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("messages").textContent`)); err != nil {
		t.Fatal(err)
	} else if strings.Contains(text, secret) {
		t.Fatalf("the deleted text is still on the page: %q", text)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(artifactDir(t), "web-redaction.png")
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)
}

// TestWebClientCrypto runs the page's own conversions in chromium and
// checks them against Go: WebCrypto's r‖s to DER (leading zeros dropped,
// a zero byte before a set top bit), the compressed P-256 point that
// NickServ DEVICE ADD takes, and the plain-text poll format.
func TestWebClientCrypto(t *testing.T) {
	webPort := freePort(t)
	startDaemon(t, fmt.Sprintf("[web]\ndev_tcp = [\"127.0.0.1:%d\"]\n", webPort))
	ctx := startBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("http://127.0.0.1:%d/", webPort))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "the page's script", `typeof window.thorchat === "object" ? "ready" : "not yet"`, "ready")

	ints := []*big.Int{big.NewInt(1), big.NewInt(0x80), new(big.Int).Lsh(big.NewInt(1), 255), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)), big.NewInt(0x7f)}
	for i, r := range ints {
		s := ints[(i+2)%len(ints)]
		raw := make([]byte, 64)
		r.FillBytes(raw[:32])
		s.FillBytes(raw[32:])
		var b cryptobyte.Builder
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1BigInt(r); b.AddASN1BigInt(s) })
		want := base64.StdEncoding.EncodeToString(b.BytesOrPanic())
		expr := fmt.Sprintf(`btoa(String.fromCharCode(...window.thorchat.rawToDER(Uint8Array.from(atob(%q), c => c.charCodeAt(0)))))`, base64.StdEncoding.EncodeToString(raw))
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("rawToDER(r=%x, s=%x) = %s, want %s", r, s, got, want)
		}
	}
	for range 4 {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		uncompressed := elliptic.Marshal(elliptic.P256(), k.X, k.Y) //nolint:staticcheck // the raw point WebCrypto exports
		want := base64.StdEncoding.EncodeToString(elliptic.MarshalCompressed(elliptic.P256(), k.X, k.Y))
		expr := fmt.Sprintf(`btoa(String.fromCharCode(...window.thorchat.compressPoint(Uint8Array.from(atob(%q), c => c.charCodeAt(0)))))`, base64.StdEncoding.EncodeToString(uncompressed))
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("compressPoint = %s, want %s", got, want)
		}
	}
	for _, tc := range []struct{ text, want string }{
		{"POLL: Upgrade this week? | 1) Yes | 2) No", `{"question":"Upgrade this week?","options":["Yes","No"]}`},
		{"POLL: Only one? | 1) Yes", "null"},
		{"POLL: Wrong order | 2) a | 1) b", "null"},
		{"poll: lower case | 1) a | 2) b", "null"},
	} {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`JSON.stringify(window.thorchat.parsePoll(%q))`, tc.text)))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("parsePoll(%q) = %s, want %s", tc.text, got, tc.want)
		}
	}
}
