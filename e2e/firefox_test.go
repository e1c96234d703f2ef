package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// firefoxPrefs are the user.js of the test's fresh Firefox profile: the
// proxy as Tor Browser sets it (everything through SOCKS5, names resolved
// by the proxy, no local DNS at all, nothing direct), some of its privacy
// settings, and nothing that phones home. %s: SOCKS host, %s: port.
const firefoxPrefs = `
user_pref("network.proxy.type", 1);
user_pref("network.proxy.socks", "%s");
user_pref("network.proxy.socks_port", %s);
user_pref("network.proxy.socks_version", 5);
user_pref("network.proxy.socks_remote_dns", true);
user_pref("network.proxy.no_proxies_on", "");
user_pref("network.proxy.failover_direct", false);
user_pref("network.dns.disabled", true);
user_pref("network.http.http3.enable", false);
user_pref("network.prefetch-next", false);
user_pref("network.predictor.enabled", false);
user_pref("network.http.speculative-parallel-limit", 0);
user_pref("media.peerconnection.enabled", false);
user_pref("privacy.firstparty.isolate", true);
user_pref("privacy.resistFingerprinting", true);
user_pref("browser.cache.disk.enable", false);
user_pref("dom.securecontext.allowlist_onions", true);
user_pref("dom.security.https_only_mode", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.newtabpage.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("app.update.auto", false);
user_pref("extensions.update.enabled", false);
user_pref("services.settings.server", "");
`

// bidiListeningRE finds the WebDriver BiDi address Firefox prints.
var bidiListeningRE = regexp.MustCompile(`WebDriver BiDi listening on ws://(?:127\.0\.0\.1|localhost):(\d+)`)

// firefoxShowsHistory starts headless Firefox ESR with a fresh profile
// whose proxy is socks (remote DNS, Tor Browser's proxy prefs), loads site
// over WebDriver BiDi and polls what the page shows until the default
// channel's last 50 seeded messages are there; then saves a screenshot.
func firefoxShowsHistory(t *testing.T, socks, site, shots string) {
	bin := requireTool(t, "firefox-esr", "firefox-esr")
	host, port, err := net.SplitHostPort(socks)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	profile := filepath.Join(dir, "profile")
	if err := os.Mkdir(profile, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(profile, "user.js"), fmt.Appendf(nil, firefoxPrefs, host, port), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "firefox.log")
	logOnFailure(t, "firefox output", logPath)
	start := time.Now()
	p := startProcess(t, "firefox", logPath, []string{"HOME=" + dir, "MOZ_HEADLESS=1"},
		bin, "--headless", "--no-remote", "--profile", profile, "--remote-debugging-port=0", "about:blank")
	t.Cleanup(func() { p.stop(5 * time.Second) })
	var wsURL string
	waitFor(t, "Firefox's WebDriver BiDi address", func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("firefox exited (%v)", p.waitErr)
		}
		log, err := readBounded(logPath)
		if m := bidiListeningRE.FindStringSubmatch(log); m != nil {
			wsURL = "ws://127.0.0.1:" + m[1]
		}
		return wsURL != "", err
	}, func() string { return tailFile(logPath, 2<<10) })

	b := dialBiDi(t, wsURL+"/session")
	b.call(t, "session.new", map[string]any{"capabilities": map[string]any{}})
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	b.callInto(t, "browsingContext.getTree", map[string]any{}, &tree)
	if len(tree.Contexts) == 0 {
		t.Fatal("Firefox has no browsing context")
	}
	bc := tree.Contexts[0].Context
	loadStart := time.Now()
	b.call(t, "browsingContext.navigate", map[string]any{"context": bc, "url": site, "wait": "complete"})
	deadline := time.Now().Add(pageBudget)
	var got string
	for {
		got = b.evaluate(t, bc, lastSeededExpr(50))
		if got == "50" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Firefox: timed out after %v waiting for the last 50 messages of %s; the page shows %q of them and: %q",
				pageBudget, webTorChannel, got, clipText(b.evaluate(t, bc, `document.body.innerText`)))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("TIMING Firefox: page opened -> last 50 messages on screen: %.1fs (%.1fs with Firefox's start)",
		time.Since(loadStart).Seconds(), time.Since(start).Seconds())
	var shot struct {
		Data string `json:"data"`
	}
	b.callInto(t, "browsingContext.captureScreenshot", map[string]any{"context": bc}, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Fatalf("Firefox screenshot: %v", err)
	}
	out := filepath.Join(shots, "web-tor-9-firefox-history.png")
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)
	b.call(t, "session.end", map[string]any{})
}

// bidi is a minimal WebDriver BiDi client: one command at a time over a
// WebSocket, events skipped.
type bidi struct {
	conn net.Conn
	rd   *bufio.Reader
	id   int
}

func dialBiDi(t *testing.T, url string) *bidi {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		t.Fatalf("WebDriver BiDi %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close() })
	b := &bidi{conn: conn}
	if br != nil {
		b.rd = br
	} else {
		b.rd = bufio.NewReader(conn)
	}
	return b
}

// call sends a command and waits (bounded) for its answer.
func (b *bidi) call(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	b.id++
	msg, err := json.Marshal(map[string]any{"id": b.id, "method": method, "params": params})
	if err != nil {
		t.Fatal(err)
	}
	_ = b.conn.SetDeadline(time.Now().Add(pageBudget))
	if err := wsutil.WriteClientText(b.conn, msg); err != nil {
		t.Fatalf("BiDi %s: %v", method, err)
	}
	for {
		data, err := wsutil.ReadServerText(struct {
			io.Reader
			io.Writer
		}{b.rd, b.conn})
		if err != nil {
			t.Fatalf("BiDi %s: %v", method, err)
		}
		var resp struct {
			ID      *int            `json:"id"`
			Type    string          `json:"type"`
			Result  json.RawMessage `json:"result"`
			Error   string          `json:"error"`
			Message string          `json:"message"`
		}
		if err := json.Unmarshal(data, &resp); err != nil {
			t.Fatalf("BiDi %s: %v", method, err)
		}
		if resp.ID == nil || *resp.ID != b.id {
			continue // an event
		}
		if resp.Type == "error" {
			t.Fatalf("BiDi %s: %s: %s", method, resp.Error, resp.Message)
		}
		return resp.Result
	}
}

func (b *bidi) callInto(t *testing.T, method string, params, into any) {
	t.Helper()
	if err := json.Unmarshal(b.call(t, method, params), into); err != nil {
		t.Fatalf("BiDi %s: %v", method, err)
	}
}

// evaluate returns the string a JS expression yields in context bc ("" for
// anything else, or an exception).
func (b *bidi) evaluate(t *testing.T, bc, expr string) string {
	t.Helper()
	var r struct {
		Type   string `json:"type"`
		Result struct {
			Type  string `json:"type"`
			Value any    `json:"value"`
		} `json:"result"`
	}
	b.callInto(t, "script.evaluate", map[string]any{
		"expression": expr, "target": map[string]any{"context": bc}, "awaitPromise": false,
	}, &r)
	if s, ok := r.Result.Value.(string); ok && r.Type == "success" {
		return s
	}
	return ""
}
