package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/config"
	"github.com/thorchat/thorchat/web"
)

// hostileTexts are stored messages that try to become markup or script on
// the pages without JavaScript.
var hostileTexts = []string{
	`<script>alert(1)</script>`,
	`<img src=x onerror="alert(2)">`,
	`"><a href="javascript:alert(3)">click</a>`,
	`</li></ol><iframe srcdoc="<script>alert(4)</script>"></iframe>`,
	`&lt;already escaped&gt; &amp; 'single' "double"`,
	"\x01ACTION <svg onload=alert(5)>\x01",
	"<style>body{display:none}</style>\x02bold\x02 \x034,5colour",
}

// TestChannelPages: GET /c/<channel> on the real daemon serves a public
// channel's stored history as plain HTML under the CSP, hostile text
// escaped, PageSize a page with older/newer links that walk the whole
// history; channels not everyone may read (+s, +i, +k, +R, "joined" or
// "off" policy, missing) are 404, bad references 400 or 404; the page at /
// links the default channel's page for browsers without JavaScript.
func TestChannelPages(t *testing.T) {
	tc := newTestConfig(t)
	webPort := freePort(t)
	tc.Channels = []config.Channel{
		{Name: "#open", Modes: "+nt"},
		{Name: "#regonly", Modes: "+ntR"},
	}
	tc.Extra = fmt.Sprintf(`[[channel]]
name = "#joinedpol"
modes = "+nt"
history = "joined"
[[channel]]
name = "#offpol"
modes = "+nt"
history = "off"
[[channel]]
name = "#worldinvite"
modes = "+nti"
history = "world"
[web]
dev_tcp = ["127.0.0.1:%d"]
default_channels = ["#open"]
`, webPort)
	startDaemon(t, tc.write(t))
	base := fmt.Sprintf("http://127.0.0.1:%d", webPort)
	alice := dial(t, tc.addr(), "alice", newKey(t))
	for _, ch := range []string{"#open", "#regonly", "#joinedpol", "#offpol", "#secret", "#keyed", "#invite"} {
		alice.join(ch, "")
		alice.send("PRIVMSG " + ch + " :said in " + ch)
	}
	alice.expectSelfEcho("MODE #secret +s")
	alice.expectSelfEcho("MODE #keyed +k sesame")
	alice.expectSelfEcho("MODE #invite +i")
	for _, text := range hostileTexts {
		alice.send("PRIVMSG #open :" + text)
	}
	alice.send("NOTICE #open :<b>a notice</b>")
	const lines = 120
	for i := 1; i <= lines; i++ {
		alice.send(fmt.Sprintf("PRIVMSG #open :line %03d", i))
	}
	// the history barrier: the PONG comes once every message is stored
	alice.send("PING :stored")
	alice.expect("PONG", func(m *irc.Message) bool { return m.Trailing() == "stored" })

	get := func(t *testing.T, path string) (int, http.Header, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header, string(b)
	}
	lineRE := regexp.MustCompile(`<span class="text">line (\d{3})</span>`)
	linkRE := regexp.MustCompile(`<a rel="(prev|next)" href="([^"]+)">`)
	page := func(t *testing.T, path string) (nums []string, links map[string]string, body string) {
		t.Helper()
		code, h, body := get(t, path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, code, body)
		}
		if h.Get("Content-Security-Policy") != web.ContentSecurityPolicy || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET %s: headers %v", path, h)
		}
		if n := strings.Count(body, "<li "); n > web.PageSize {
			t.Fatalf("GET %s: %d messages, over the page size %d", path, n, web.PageSize)
		}
		for _, m := range lineRE.FindAllStringSubmatch(body, -1) {
			nums = append(nums, m[1])
		}
		links = map[string]string{}
		for _, m := range linkRE.FindAllStringSubmatch(body, -1) {
			links[m[1]] = strings.ReplaceAll(m[2], "&amp;", "&")
		}
		return nums, links, body
	}

	t.Run("LatestPage", func(t *testing.T) {
		nums, links, body := page(t, "/c/open")
		if len(nums) != web.PageSize || nums[0] != "071" || nums[len(nums)-1] != "120" {
			t.Fatalf("latest page shows lines %v, want 071…120", nums)
		}
		if links["prev"] == "" || links["next"] != "" {
			t.Fatalf("latest page links %v: want older only", links)
		}
		if !strings.Contains(body, "<h1>#open</h1>") {
			t.Fatalf("no title:\n%s", body)
		}
		// the same page by its escaped name
		if again, _, _ := page(t, "/c/%23open"); strings.Join(again, ",") != strings.Join(nums, ",") {
			t.Fatalf("/c/%%23open shows %v, /c/open %v", again, nums)
		}
	})

	t.Run("WalkOlderAndBack", func(t *testing.T) {
		_, links, _ := page(t, "/c/open")
		var seen []string
		var pages []string
		for path := links["prev"]; path != ""; {
			nums, l, _ := page(t, path)
			seen = append(nums, seen...)
			pages = append(pages, path)
			path = l["prev"]
			if len(pages) > 10 {
				t.Fatal("older links never end")
			}
		}
		if len(seen) != lines-web.PageSize || seen[0] != "001" || seen[len(seen)-1] != "070" {
			t.Fatalf("older pages show %d lines %v…, want 001…070", len(seen), seen[:min(3, len(seen))])
		}
		// newer from the second page leads back to the latest lines
		_, l, _ := page(t, pages[0])
		nums, back, _ := page(t, l["next"])
		if len(nums) != web.PageSize || nums[0] != "071" || nums[len(nums)-1] != "120" || back["next"] != "" {
			t.Fatalf("newer from page 2 shows %v with links %v, want 071…120 and no newer", nums, back)
		}
	})

	t.Run("HostileTextEscaped", func(t *testing.T) {
		_, links, _ := page(t, "/c/open")
		var body string
		for path := links["prev"]; path != ""; {
			var l map[string]string
			_, l, body = page(t, path)
			path = l["prev"]
		}
		for _, bad := range []string{"<script", "<img", "<iframe", "<svg", "<style", "<b>", `href="javascript`, "\x01", "\x02", "\x03"} {
			if strings.Contains(body, bad) {
				t.Errorf("the oldest page contains %q:\n%s", bad, body)
			}
		}
		for _, want := range []string{
			"&lt;script&gt;alert(1)&lt;/script&gt;",
			"&lt;img src=x onerror=&#34;alert(2)&#34;&gt;",
			"&amp;lt;already escaped&amp;gt; &amp;amp;",
			`<span class="nick">* alice</span> <span class="text">&lt;svg onload=alert(5)&gt;</span>`,
			`<span class="nick">-alice-</span> <span class="text">&lt;b&gt;a notice&lt;/b&gt;</span>`,
			"&lt;/li&gt;&lt;/ol&gt;&lt;iframe",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the oldest page lacks %q:\n%s", want, body)
			}
		}
	})

	t.Run("NotPublic", func(t *testing.T) {
		for _, tt := range []struct {
			path string
			code int
		}{
			{"/c/secret", 404},
			{"/c/keyed", 404},
			{"/c/invite", 404},
			{"/c/regonly", 404},
			{"/c/joinedpol", 404},
			{"/c/offpol", 404},
			{"/c/worldinvite", 404},
			{"/c/nosuchchannel", 404},
			{"/c/", 404},
			{"/c/open/x", 404},
			{"/c/" + strings.Repeat("x", 80), 404},
			{"/c/open?before=not%20a%20msgid", 400},
			{"/c/open?before=" + strings.Repeat("a", 65), 400},
			{"/c/open?before=x&after=y", 400},
			{"/c/open?before=nosuchmsgid", 404},
		} {
			code, h, body := get(t, tt.path)
			if code != tt.code {
				t.Errorf("GET %s: %d, want %d\n%s", tt.path, code, tt.code, body)
			}
			if h.Get("Content-Security-Policy") != web.ContentSecurityPolicy {
				t.Errorf("GET %s: no CSP", tt.path)
			}
			if strings.Contains(body, "said in") {
				t.Errorf("GET %s shows history:\n%s", tt.path, body)
			}
		}
		if code, _, body := get(t, "/c/open?before=2000-01-01T00:00:00Z"); code != 200 || strings.Contains(body, "line ") {
			t.Errorf("before a time with nothing earlier: %d\n%s", code, body)
		}
	})

	t.Run("SameRuleAsChathistory", func(t *testing.T) {
		// an IRC guest in none of the channels reads over CHATHISTORY
		// exactly the history of the channels whose pages are public
		guest := dial(t, tc.addr(), "observer", nil)
		guest.send("CAP REQ :batch draft/chathistory")
		guest.expect("CAP", func(m *irc.Message) bool { return m.Param(1) == "ACK" })
		for _, ch := range []string{"#open", "#regonly", "#joinedpol", "#offpol", "#secret", "#keyed", "#invite", "#worldinvite"} {
			code, _, _ := get(t, "/c/"+ch[1:])
			guest.send("CHATHISTORY LATEST " + ch + " * 10")
			read, refused := false, false
			for done := false; !done; {
				m, err := guest.next(waitFor)
				if err != nil {
					t.Fatalf("CHATHISTORY LATEST %s: %v", ch, err)
				}
				switch {
				case m.Command == "FAIL" && m.Param(0) == "CHATHISTORY":
					refused, done = true, true
				case m.Command == "PRIVMSG":
					read = true
				case m.Command == "BATCH" && strings.HasPrefix(m.Param(0), "-"):
					done = true
				}
			}
			if public := code == http.StatusOK; public != read || (public && refused) {
				t.Errorf("%s: page %d, but a guest's CHATHISTORY read it: %v (refused: %v)", ch, code, read, refused)
			}
		}
	})

	t.Run("IndexLinksPages", func(t *testing.T) {
		code, _, body := get(t, "/")
		if code != 200 || !strings.Contains(body, `<a href="/c/open">#open</a>`) || !strings.Contains(body, "only the\n    channel pages at /c/&lt;channel&gt; work") {
			t.Fatalf("GET /: %d, no link to the channel page in <noscript>:\n%s", code, body)
		}
	})
}
