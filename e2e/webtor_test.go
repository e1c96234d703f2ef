package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/client"
	"github.com/thorchat/thorchat/identity"
	"github.com/thorchat/thorchat/sasl"
	"github.com/thorchat/thorchat/torsvc/tortest"
)

// The Tor web test's channels: the default one, and the operators' one
// where only operators speak.
const (
	webTorChannel = "#thorchat"
	webOpsChannel = "#node-operators"
	// webTorSeeded lines are said in webTorChannel before any browser comes.
	webTorSeeded = 60
	// pageBudget bounds one wait for what a page shows over Tor.
	pageBudget = 90 * time.Second
	// streamBudget is [tor] max_streams: tor closes a circuit with more
	// streams open at once.
	streamBudget = 8
)

// webTorConfig is the daemon's configuration for TestWebTor (%s: the
// operator's account).
const webTorConfig = `
[operators]
keys = [%q]
[web]
enabled = true
onion_port = 80
default_channels = ["#thorchat", "#node-operators"]
[[channel]]
name = "#thorchat"
topic = "ThorChat over Tor, in a browser"
modes = "+nt"
[[channel]]
name = "#node-operators"
topic = "Node operator coordination"
modes = "+nt"
speak = "operators"
`

// TestWebTor is the browser client as Tor Browser users get it: the page
// and its WebSocket from http://<onion>/ through the private Tor network's
// SOCKS port, with names resolved by tor. Chromium (remote DNS through
// SOCKS5, nothing resolved locally) plays three people, each in a browser
// context of its own on a circuit of its own, as three Tor Browsers would:
// a guest reads the operators' channel and its history and is told why it
// cannot speak there; an operator logs in with a token and posts, and a
// poll; a second user makes a device key in the page, has it enrolled by
// NickServ DEVICE ADD from a session logged in with its own key, logs in
// with it, replies, reacts and votes. A weechat client in the channel sees
// the messages and the poll as plain text. The read marker goes both ways
// between the user's page and an IRC session of the same account. The operator's page load, token
// login and a forced reconnect stay within tor's stream budget per circuit.
// Firefox ESR, headless over WebDriver BiDi through the same proxy, shows
// the default channel's history. Each step saves a screenshot.
func TestWebTor(t *testing.T) {
	tortest.Require(t)
	requireTool(t, "chromium", "chromium")
	requireTool(t, "weechat-headless", "weechat-headless")
	n := sharedTorNetwork(t)
	opKey, opAccount := newNodeKey(t)
	userKey, userAccount := newNodeKey(t)
	d := newOnionDaemon(t, n, fmt.Sprintf(webTorConfig, opAccount))
	d.start(t)
	ircAddr := net.JoinHostPort(d.Onion, "6667")
	reachIRC(t, n, ircAddr, "probe")
	site := "http://" + d.Onion + "/"
	shots := artifactDir(t)
	t.Logf("screenshots in %s", shots)

	// The operator's IRC session: history for the page, and the token the
	// operator pastes into it (what `make go-chat TOKEN=browser` mints).
	token := seedAndMint(t, n, ircAddr, opKey)

	browser := startTorBrowser(t, n.SOCKSAddr, d.Onion)
	guest := browser
	// the operator's and the user's browsers, each on circuits of its own
	opFront := startSOCKSFront(t, n, "operator-browser", d.Onion)
	op := browserContext(t, browser, opFront)
	userFront := startSOCKSFront(t, n, "user-browser", d.Onion)
	user := browserContext(t, browser, userFront)

	// a weechat guest in the channel, and how long it takes to register
	start := time.Now()
	weechat := runWeechat(t, weechatTorCommands(t, n.SOCKSAddr, ircAddr, "weeguest", webTorChannel))
	weechat.waitLog("server", "tor", "the welcome (001)", func(l logLine) bool { return strings.HasPrefix(l.message, "Welcome to the ") })
	weechatTook := time.Since(start)
	t.Logf("TIMING weechat started -> registered (001) over the same network: %.1fs", weechatTook.Seconds())
	weechat.waitJoined("tor", webTorChannel, "weeguest")

	var pageTook time.Duration
	var opNick, userNick string
	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"GuestReadsHistory", func(t *testing.T) {
			start := time.Now()
			navigate(t, guest, site)
			pageWaitFor(t, guest, "the last 50 messages of "+webTorChannel, lastSeededExpr(50), "50", pageBudget)
			pageTook = time.Since(start)
			t.Logf("TIMING page opened -> last 50 messages of %s on screen: %.1fs", webTorChannel, pageTook.Seconds())
			screenshot(t, guest, shots, "web-tor-1-guest-history.png")
		}},
		{"GuestInOperatorsChannel", func(t *testing.T) {
			selectBuffer(t, guest, webOpsChannel)
			pageWaitFor(t, guest, "why the guest cannot speak", `document.getElementById("composer-note").textContent`,
				"Only node operators and staff speak in "+webOpsChannel, pageBudget)
			pageWaitFor(t, guest, "the operators' history", `document.getElementById("messages").textContent`, "operators' history 3", pageBudget)
			screenshot(t, guest, shots, "web-tor-2-guest-operators-channel.png")
		}},
		{"OperatorTokenLogin", func(t *testing.T) {
			navigate(t, op, site)
			pageWaitFor(t, op, "the operator's page to connect", `thorchat.state.registered ? "yes" : "no"`, "yes", pageBudget)
			evalJS(t, op, `document.getElementById("login-button").click();
				document.getElementById("login-account").value = `+strconv.Quote(opAccount)+`;
				document.getElementById("login-token").value = `+strconv.Quote(token)+`;
				document.getElementById("login-token-go").click()`)
			pageWaitFor(t, op, "the operator logged in", `document.getElementById("me-kind").textContent`, opAccount, pageBudget)
			opNick = evalString(t, op, `thorchat.state.nick`)
			_, maxOpen, opened := opFront.stats()
			t.Logf("operator's browser: page load and token login (a second WebSocket): %d streams opened, at most %d open at once", opened, maxOpen)
			checkStreams(t, opFront, "page load and login")
			screenshot(t, op, shots, "web-tor-3-operator-logged-in.png")
		}},
		{"ReconnectWithinBudget", func(t *testing.T) {
			opFront.reset()
			evalJS(t, op, `window.oldWS = thorchat.state.ws; thorchat.state.ws.close()`)
			pageWaitFor(t, op, "the operator's page to reconnect and log in again",
				`(thorchat.state.ws !== window.oldWS && thorchat.state.registered && thorchat.state.account) ? "again" : "not yet"`, "again", pageBudget)
			open, maxOpen, opened := opFront.stats()
			t.Logf("operator's browser: forced reconnect: %d streams opened, at most %d open at once, %d open now", opened, maxOpen, open)
			checkStreams(t, opFront, "the reconnect")
			if banner := evalString(t, op, `document.getElementById("banner").hidden ? "" : document.getElementById("banner").textContent`); banner != "" {
				t.Fatalf("after the reconnect the page shows: %s", banner)
			}
		}},
		{"OperatorPosts", func(t *testing.T) {
			opNick = waitInChannel(t, op, webTorChannel)
			waitInChannel(t, op, webOpsChannel)
			pageWaitFor(t, op, "the operator's composer open", `document.getElementById("input").disabled ? "closed" : "open"`, "open", pageBudget)
			wee := weechat.on(t)
			sayInPage(t, op, "operators only: upgrade at 18:00 UTC")
			pageWaitFor(t, guest, "the operator's post on the guest's page", `document.getElementById("messages").textContent`, "operators only: upgrade at 18:00 UTC", pageBudget)
			screenshot(t, guest, shots, "web-tor-4-guest-sees-operator.png")

			selectBuffer(t, op, webTorChannel)
			sayInPage(t, op, "who is around for the upgrade?")
			evalJS(t, op, `document.getElementById("poll-question").value = "Upgrade this week?";
				document.getElementById("poll-options").value = "Yes\nNo";
				document.getElementById("poll-send").click()`)
			wee.waitMessage("tor", webTorChannel, opNick, "who is around for the upgrade?")
			wee.waitMessage("tor", webTorChannel, opNick, "POLL: Upgrade this week? | 1) Yes | 2) No")
			screenshot(t, op, shots, "web-tor-5-operator-poll.png")
		}},
		{"DeviceKeyUser", func(t *testing.T) {
			navigate(t, user, site)
			pageWaitFor(t, user, "the user's page to connect", `thorchat.state.registered ? "yes" : "no"`, "yes", pageBudget)
			evalJS(t, user, `document.getElementById("login-button").click();
				document.getElementById("login-account").value = `+strconv.Quote(userAccount)+`;
				document.getElementById("device-make").click()`)
			pageWaitFor(t, user, "the page's device key", `document.getElementById("device-enrol").textContent`, "/msg NickServ DEVICE ADD browser ", pageBudget)
			screenshot(t, user, shots, "web-tor-6-device-key.png")
			enrol := evalString(t, user, `document.getElementById("device-enrol").textContent`)
			pub := strings.TrimSpace(strings.TrimPrefix(enrol, "/msg NickServ DEVICE ADD browser "))
			enrolDevice(t, n, ircAddr, userKey, pub)
			evalJS(t, user, `document.getElementById("device-go").click()`)
			pageWaitFor(t, user, "the user logged in with the device key", `document.getElementById("me-kind").textContent`, userAccount, pageBudget)
			userNick = waitInChannel(t, user, webTorChannel)
			_, maxOpen, opened := userFront.stats()
			t.Logf("user's browser: page load and device-key login: %d streams opened, at most %d open at once", opened, maxOpen)
			checkStreams(t, userFront, "page load and device login")
		}},
		{"UserRepliesReactsVotes", func(t *testing.T) {
			wee := weechat.on(t)
			selectBuffer(t, user, webTorChannel)
			msg := `[...document.querySelectorAll("#messages .msg")].find(d => d.textContent.includes("who is around for the upgrade?"))`
			pageWaitFor(t, user, "the operator's question on the user's page", `String(!!(`+msg+`))`, "true", pageBudget)
			evalJS(t, user, msg+`.querySelector('.tools button[title="Reply"]').click()`)
			sayInPage(t, user, "me, after the poll closes")
			evalJS(t, user, msg+`.querySelector('.tools button[title="React"]').click()`)
			evalJS(t, user, `[...document.querySelectorAll(".emoji-picker button")].find(b => b.textContent === "👍").click()`)
			poll := `[...document.querySelectorAll("#messages .poll")].find(p => p.textContent.includes("Upgrade this week?"))`
			pageWaitFor(t, user, "the poll on the user's page", `String(!!(`+poll+`))`, "true", pageBudget)
			evalJS(t, user, poll+`.querySelector(".poll-option").click()`)

			wee.waitMessage("tor", webTorChannel, userNick, "me, after the poll closes")
			pageWaitFor(t, op, "the reply quoted on the operator's page", `document.getElementById("messages").textContent`,
				"↪ "+opNick+": who is around for the upgrade?", pageBudget)
			pageWaitFor(t, op, "the react on the operator's page", `[...document.querySelectorAll("#messages .react")].map(b => b.textContent).join(" ")`, "👍 1", pageBudget)
			pageWaitFor(t, op, "the vote in the operator's tally", `(`+poll+`)?.querySelector(".poll-option")?.textContent || ""`, "1 vote", pageBudget)
			screenshot(t, user, shots, "web-tor-7-user-reply-react-vote.png")
			screenshot(t, op, shots, "web-tor-8-operator-sees-votes.png")
		}},
		{"ReadMarkerAcrossSessions", func(t *testing.T) {
			// a second session of the user's account: a stock IRC client
			// with draft/read-marker, logged in with the user's node key
			sess := loginOnion(t, n, ircAddr, userKey, "usermark", "draft/read-marker")
			if !sess.HasCap("draft/read-marker") {
				t.Fatal("the server did not acknowledge draft/read-marker")
			}
			if err := sess.Join(webTorChannel); err != nil {
				t.Fatal(err)
			}
			selectBuffer(t, user, webOpsChannel)
			// what the IRC session saw: the two messages' server times, a
			// round trip apart (a marker is a time: messages of the same
			// millisecond are read together)
			times := map[string]string{}
			for _, text := range []string{"read marker one", "read marker two"} {
				sayInPage(t, op, text)
				readUntil(t, sess, "the operator's "+strconv.Quote(text)+" on the user's IRC session", func(m *irc.Message) bool {
					if m.Command == "PRIVMSG" && m.Trailing() == text {
						times[text] = m.Tags["time"]
					}
					return times[text] != ""
				})
			}
			unread := `"[" + ([...document.querySelectorAll("#channel-list li")].find(li => li.querySelector(".name")?.textContent === ` +
				strconv.Quote(webTorChannel[1:]) + `)?.querySelector(".badge-count")?.textContent || "none") + "]"`
			pageWaitFor(t, user, "two unread in "+webTorChannel+" on the user's page", unread, "[2]", pageBudget)

			// the IRC session reads up to the first: the page follows
			if err := sess.Send("MARKREAD", webTorChannel, "timestamp="+times["read marker one"]); err != nil {
				t.Fatal(err)
			}
			pageWaitFor(t, user, "one unread after the IRC session's marker", unread, "[1]", pageBudget)
			selectBuffer(t, user, webTorChannel)
			pageWaitFor(t, user, `the "new messages" line after what the IRC session read`,
				`document.querySelector("#messages .new-line")?.nextElementSibling?.textContent || "no line"`, "read marker two", pageBudget)
			pageWaitFor(t, user, "no unread once the page shows "+webTorChannel, unread, "[none]", pageBudget)
			screenshot(t, user, shots, "web-tor-9-read-marker.png")

			// the page read the channel: the IRC session hears the marker
			want, err := time.Parse(time.RFC3339Nano, times["read marker two"])
			if err != nil {
				t.Fatalf("time tag %q: %v", times["read marker two"], err)
			}
			readUntil(t, sess, "the page's marker on the user's IRC session", func(m *irc.Message) bool {
				if m.Command != "MARKREAD" || !strings.EqualFold(m.Param(0), webTorChannel) {
					return false
				}
				got, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(m.Param(1), "timestamp="))
				return err == nil && got.Equal(want)
			})
		}},
		{"FirefoxShowsHistory", func(t *testing.T) {
			firefoxShowsHistory(t, n.SOCKSAddr, site, shots)
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			return
		}
	}
	t.Logf("TIMING summary: page -> last 50 messages %.1fs; weechat -> registered %.1fs", pageTook.Seconds(), weechatTook.Seconds())
}

// newNodeKey makes a node key and its account.
func newNodeKey(t *testing.T) (*secp256k1.PrivateKey, string) {
	t.Helper()
	k, err := client.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	acct, err := identity.AccountAddressOf(identity.DefaultAccountHRP, k.PubKey())
	if err != nil {
		t.Fatal(err)
	}
	return k, acct
}

// loginOnion logs in with a node key through the onion on a circuit of its
// own, asking for extraCaps besides client.DefaultCaps.
func loginOnion(t *testing.T, n *tortest.Network, addr string, k *secp256k1.PrivateKey, nick string, extraCaps ...string) *client.Conn {
	t.Helper()
	dial, err := client.IsolatedSOCKSDialer(n.SOCKSAddr, nick)
	if err != nil {
		t.Fatal(err)
	}
	var caps []string
	if len(extraCaps) > 0 {
		caps = append(client.DefaultCaps(), extraCaps...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), enrollBudget)
	defer cancel()
	c, err := client.Dial(ctx, client.Config{Addr: addr, Dial: dial, Signer: sasl.NewKeySigner(k), Nick: nick, Timeout: attemptBudget, Caps: caps})
	if err != nil {
		t.Fatalf("%s: log in through the onion: %v", nick, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// seedAndMint logs the operator in with its node key, says webTorSeeded
// lines in webTorChannel and three in webOpsChannel, waits until they are
// stored (a PING after them is answered only once they are: the history
// barrier), mints a PLAIN token for the browser and quits.
func seedAndMint(t *testing.T, n *tortest.Network, addr string, k *secp256k1.PrivateKey) string {
	t.Helper()
	c := loginOnion(t, n, addr, k, "opirc")
	for _, step := range []error{c.Join(webTorChannel), c.Join(webOpsChannel)} {
		if step != nil {
			t.Fatal(step)
		}
	}
	for i := 1; i <= webTorSeeded; i++ {
		if err := c.Privmsg(webTorChannel, fmt.Sprintf("history line %02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 3; i++ {
		if err := c.Privmsg(webOpsChannel, fmt.Sprintf("operators' history %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Send("PING", "seeded"); err != nil {
		t.Fatal(err)
	}
	readUntil(t, c, "the PONG after the seeded history", func(m *irc.Message) bool {
		return m.Command == "PONG" && m.Trailing() == "seeded"
	})
	ctx, cancel := context.WithTimeout(context.Background(), enrollBudget)
	defer cancel()
	token, err := c.NewToken(ctx, "browser", "")
	if err != nil {
		t.Fatalf("NickServ TOKEN NEW browser: %v", err)
	}
	_ = c.Quit("token minted")
	return token
}

// enrolDevice enrols a browser's device public key as "browser" from a
// session logged in with the account's own key.
func enrolDevice(t *testing.T, n *tortest.Network, addr string, k *secp256k1.PrivateKey, pub string) {
	t.Helper()
	c := loginOnion(t, n, addr, k, "userirc")
	ctx, cancel := context.WithTimeout(context.Background(), enrollBudget)
	defer cancel()
	if err := c.AddDevice(ctx, "browser", pub, ""); err != nil {
		t.Fatalf("NickServ DEVICE ADD browser %s: %v", pub, err)
	}
	_ = c.Quit("device enrolled")
}

// readUntil reads c's messages until match accepts one, bounded by
// pageBudget.
func readUntil(t *testing.T, c *client.Conn, desc string, match func(*irc.Message) bool) {
	t.Helper()
	found := make(chan error, 1)
	go func() {
		for {
			m, err := c.ReadMessage()
			if err != nil {
				found <- err
				return
			}
			if match(m) {
				found <- nil
				return
			}
		}
	}()
	select {
	case err := <-found:
		if err != nil {
			t.Fatalf("waiting for %s: %v", desc, err)
		}
	case <-time.After(pageBudget):
		c.Close()
		t.Fatalf("timed out after %v waiting for %s", pageBudget, desc)
	}
}

// startTorBrowser starts headless chromium whose proxy is the network's
// SOCKS port, names resolved by the proxy (chromium sends names to a
// socks5:// proxy; the resolver rule makes any local lookup fail), and
// which treats the onion's http origin as a secure context, as Tor Browser
// does (WebCrypto for the device key). The returned tab is in the default
// browser context.
func startTorBrowser(t *testing.T, socks, onion string) context.Context {
	t.Helper()
	bin := requireTool(t, "chromium", "chromium")
	opts := append([]chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir())}, chromiumFlags...)
	opts = append(opts,
		chromedp.Flag("disable-quic", true),
		chromedp.ProxyServer("socks5://"+socks),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
		chromedp.Flag("unsafely-treat-insecure-origin-as-secure", "http://"+onion),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// browserContext opens a tab in a new browser context (its own storage,
// cookies and connections) whose proxy is front: another person's Tor
// Browser. It is closed with the test.
func browserContext(t *testing.T, browser context.Context, front *socksFront) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext(func(p *target.CreateBrowserContextParams) {
		p.ProxyServer = "socks5://" + front.Addr()
	}))
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("new browser context: %v", err)
	}
	return ctx
}

// navigate loads url in the tab, bounded by pageBudget.
func navigate(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	nctx, cancel := context.WithTimeout(ctx, pageBudget)
	defer cancel()
	if err := chromedp.Do(nctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("load %s: %v", url, err)
	}
}

// pageWaitFor polls the page until expr (a JS expression yielding a
// string) contains want, failing after budget.
func pageWaitFor(t *testing.T, ctx context.Context, desc, expr, want string, budget time.Duration) {
	t.Helper()
	deadline := time.Now().Add(budget)
	var got string
	for {
		ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var err error
		got, err = chromedp.Run(ectx, chromedp.Evaluate[string](expr))
		cancel()
		if err == nil && strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
			page, perr := chromedp.Run(ectx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
			cancel()
			t.Fatalf("timed out after %v waiting for %s: %q (error %v)\nthe page (%v):\n%s", budget, desc, clipText(got), err, perr, clipText(page))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clipText shortens what a failure quotes.
func clipText(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// evalJS runs statements in the page.
func evalJS(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { `+js+`; return "" })()`)); err != nil {
		t.Fatalf("in the page: %v\n%s", err, js)
	}
}

// evalString evaluates a JS expression yielding a string.
func evalString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("in the page: %v\n%s", err, expr)
	}
	return s
}

// selectBuffer opens a channel from the sidebar.
func selectBuffer(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	li := `[...document.querySelectorAll("#channel-list li")].find(li => li.textContent.includes(` + strconv.Quote(name) + `))`
	pageWaitFor(t, ctx, name+" in the sidebar", `String(!!(`+li+`))`, "true", pageBudget)
	evalJS(t, ctx, li+`.click()`)
	pageWaitFor(t, ctx, name+" open", `document.getElementById("buffer-title").textContent`, name, pageBudget)
}

// waitInChannel opens channel in the page and waits until the page's own
// nick is in its member list (after a login the page reconnects and joins
// again); it returns that nick.
func waitInChannel(t *testing.T, ctx context.Context, channel string) string {
	t.Helper()
	selectBuffer(t, ctx, channel)
	pageWaitFor(t, ctx, "the page's nick in "+channel,
		`[...document.querySelectorAll("#member-list li")].some(li => li.textContent.includes(thorchat.state.nick)) && thorchat.state.registered ? "in" : "not yet"`, "in", pageBudget)
	return evalString(t, ctx, `thorchat.state.nick`)
}

// sayInPage types text into the composer and sends it.
func sayInPage(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	evalJS(t, ctx, `document.getElementById("input").value = `+strconv.Quote(text)+`;
		document.getElementById("composer").requestSubmit()`)
}

// lastSeededExpr counts the seeded lines among the last n on the page
// ("50" once lines webTorSeeded-n+1 … webTorSeeded all show).
func lastSeededExpr(n int) string {
	return fmt.Sprintf(`String(new Set([...document.querySelectorAll("#messages .msg .text")].map(e => e.textContent).
		filter(s => /^history line \d+$/.test(s)).map(s => +s.slice(13)).filter(i => i > %d && i <= %d)).size)`, webTorSeeded-n, webTorSeeded)
}

// screenshot saves the tab's screenshot as name in dir.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	out := filepath.Join(dir, name)
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)
}

// checkStreams fails the test when the browser behind f had more streams
// open at once on its circuit than tor allows.
func checkStreams(t *testing.T, f *socksFront, what string) {
	t.Helper()
	if _, maxOpen, _ := f.stats(); maxOpen > streamBudget {
		t.Fatalf("%s: %d streams open at once on one circuit, over [tor] max_streams (%d)", what, maxOpen, streamBudget)
	}
}

// weechatTorCommands set weechat up as a guest (nick) of the onion server
// at addr through the SOCKS proxy socks, autojoining channel.
func weechatTorCommands(t *testing.T, socks, addr, nick, channel string) []string {
	t.Helper()
	host, port, err := net.SplitHostPort(socks)
	if err != nil {
		t.Fatal(err)
	}
	cmds := weechatServerCommands(t, "tor", addr, nick, channel)
	last := len(cmds) - 1 // the /connect
	return append(append(append([]string{fmt.Sprintf("/proxy add tornet socks5 %s %s", host, port)}, cmds[:last]...),
		"/set irc.server.tor.proxy tornet"), cmds[last])
}
