package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"gopkg.in/irc.v4"
)

// TestWebClientNoScript is Tor Browser at "Safest": chromium with
// JavaScript off loads the page, which says that only the channel pages
// work and links the default channel's; that page shows the channel's
// history, hostile text as text, and a link to older messages that works.
func TestWebClientNoScript(t *testing.T) {
	webPort := freePort(t)
	// no flood throttling: the test says 58 lines at once
	d := startDaemon(t, fmt.Sprintf("[flood]\nrate = 0.0\n[web]\ndev_tcp = [\"127.0.0.1:%d\"]\ndefault_channels = [\"#thorchat\"]\n", webPort))
	alice := dialIRC(t, d.Addr, "alice")
	alice.join("#thorchat")
	hostile := []string{
		`<img src=x onerror="document.title='pwned'">`,
		`<script>document.title='pwned'</script>`,
		`<a href="javascript:void(document.title='pwned')">a link?</a>`,
	}
	for _, text := range hostile {
		alice.privmsg("#thorchat", text)
	}
	for i := 1; i <= 55; i++ {
		alice.privmsg("#thorchat", fmt.Sprintf("plain line %02d", i))
	}
	alice.send("PING :stored")
	alice.expect("PONG after the messages", func(m *irc.Message) bool { return m.Command == "PONG" && m.Trailing() == "stored" })

	bin := requireTool(t, "chromium", "chromium")
	opts := append([]chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir())}, chromiumFlags...)
	opts = append(opts, chromedp.Flag("blink-settings", "scriptEnabled=false"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })

	site := fmt.Sprintf("http://127.0.0.1:%d", webPort)
	if err := chromedp.Do(ctx, chromedp.Navigate(site+"/")); err != nil {
		t.Fatal(err)
	}
	if got := evalString(t, ctx, `document.body.innerText`); !strings.Contains(got, "only the channel pages at /c/<channel> work") {
		t.Fatalf("the page without JavaScript says:\n%s", got)
	}
	if got := evalString(t, ctx, `typeof window.thorchat`); got != "undefined" {
		t.Fatalf("JavaScript ran: window.thorchat is %s", got)
	}
	link := evalString(t, ctx, `document.querySelector('.noscript a[href="/c/thorchat"]')?.href || ""`)
	if link != site+"/c/thorchat" {
		t.Fatalf("no link to /c/thorchat in <noscript> (%q)", link)
	}
	dir := artifactDir(t)
	screenshot(t, ctx, dir, "web-noscript-index.png")

	if err := chromedp.Do(ctx, chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	text := evalString(t, ctx, `document.body.innerText`)
	for _, want := range []string{"plain line 55", "plain line 06", "← Older"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the channel page lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "plain line 05\n") {
		t.Fatalf("the first page shows more than the latest %d:\n%s", 50, text)
	}
	screenshot(t, ctx, dir, "web-noscript-channel.png")
	older := evalString(t, ctx, `document.querySelector('a[rel=prev]').href`)
	if err := chromedp.Do(ctx, chromedp.Navigate(older)); err != nil {
		t.Fatal(err)
	}
	text = evalString(t, ctx, `document.body.innerText`)
	for _, want := range append([]string{"plain line 05", "Newer →"}, hostile...) {
		if !strings.Contains(text, want) {
			t.Fatalf("the older page lacks %q:\n%s", want, text)
		}
	}
	injected := evalString(t, ctx, `String(document.querySelectorAll("ol img, ol script, ol a, ol iframe").length) + " " + document.title`)
	if !strings.HasPrefix(injected, "0 #thorchat — ") || strings.Contains(injected, "pwned") {
		t.Fatalf("markup came through on the older page: %q", injected)
	}
	screenshot(t, ctx, dir, "web-noscript-older.png")
	t.Logf("screenshots in %s", dir)
}
