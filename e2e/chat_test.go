package e2e

import (
	"regexp"
	"testing"
)

// chatChannel is the channel every chat test meets in.
const chatChannel = "#e2e"

// chatMessages are the texts exchanged in each direction: plain text, a
// text whose first character is the trailing-parameter colon, and UTF-8.
var chatMessages = []struct {
	name, text string
}{
	{"plain", "hello there"},
	{"leading colon", ":) colon first"},
	{"utf-8", "grüße ⚡ 雷"},
}

// welcomed matches irssi's display of RPL_WELCOME (001): registration done.
var welcomed = regexp.MustCompile(`(?m)-!- Welcome to `)

// startIrssiOn starts irssi as nick connected to d and waits until it is
// registered.
func startIrssiOn(t *testing.T, d *daemon, nick string) *irssiProc {
	t.Helper()
	ir := runIrssi(t, irssiOptions{Nick: nick, Args: irssiConnectArgs(d.Host, d.Port)})
	ir.waitScreen("the server's welcome (001)", welcomed.MatchString)
	return ir
}

// TestWeechatChat: weechat-headless joins a channel on the dev listener and
// exchanges messages with a raw protocol client, both ways.
func TestWeechatChat(t *testing.T) {
	t.Parallel()
	requireTool(t, "weechat-headless", "weechat-headless")
	d := startDaemon(t, "")
	goc := dialIRC(t, d.Addr, "gopher")
	goc.join(chatChannel)

	w := runWeechat(t, weechatServerCommands(t, "thor", d.Addr, "wee", chatChannel))
	goc.expectJoin("wee", chatChannel)
	w.waitJoined("thor", chatChannel, "wee")

	for _, m := range chatMessages {
		t.Logf("%s: weechat -> raw client", m.name)
		w.say("thor", chatChannel, "wee: "+m.text)
		goc.expectPrivmsg("wee", chatChannel, "wee: "+m.text)

		t.Logf("%s: raw client -> weechat", m.name)
		goc.privmsg(chatChannel, m.text)
		w.waitMessage("thor", chatChannel, "gopher", m.text)
	}
}

// TestIrssiChat: irssi joins a channel on the dev listener and exchanges
// messages with a raw protocol client, both ways.
func TestIrssiChat(t *testing.T) {
	t.Parallel()
	requireTool(t, "irssi", "irssi")
	requireTool(t, "tmux", "tmux")
	d := startDaemon(t, "")
	goc := dialIRC(t, d.Addr, "gopher")
	goc.join(chatChannel)

	ir := startIrssiOn(t, d, "irs")
	ir.typeLine("/join " + chatChannel)
	goc.expectJoin("irs", chatChannel)
	ir.waitJoined("irs", chatChannel)

	for _, m := range chatMessages {
		t.Logf("%s: irssi -> raw client", m.name)
		ir.typeLine("irs: " + m.text)
		goc.expectPrivmsg("irs", chatChannel, "irs: "+m.text)

		t.Logf("%s: raw client -> irssi", m.name)
		goc.privmsg(chatChannel, m.text)
		ir.waitMessage("gopher", m.text)
	}
}

// TestWeechatIrssiChat: weechat and irssi, both on the dev listener, talk to
// each other in one channel; a raw client in the channel confirms what the
// server relayed.
func TestWeechatIrssiChat(t *testing.T) {
	t.Parallel()
	requireTool(t, "weechat-headless", "weechat-headless")
	requireTool(t, "irssi", "irssi")
	requireTool(t, "tmux", "tmux")
	d := startDaemon(t, "")
	watcher := dialIRC(t, d.Addr, "watcher")
	watcher.join(chatChannel)

	w := runWeechat(t, weechatServerCommands(t, "thor", d.Addr, "wee", chatChannel))
	watcher.expectJoin("wee", chatChannel)
	w.waitJoined("thor", chatChannel, "wee")

	ir := startIrssiOn(t, d, "irs")
	ir.typeLine("/join " + chatChannel)
	watcher.expectJoin("irs", chatChannel)
	ir.waitJoined("irs", chatChannel)
	irsJoin := regexp.MustCompile(`^irs \S.* has joined ` + regexp.QuoteMeta(chatChannel) + `$`)
	w.waitLog("thor", chatChannel, "irs joining", func(l logLine) bool {
		return l.prefix == "-->" && irsJoin.MatchString(l.message)
	})

	for _, m := range chatMessages {
		t.Logf("%s: weechat -> irssi", m.name)
		w.say("thor", chatChannel, "from weechat "+m.text)
		watcher.expectPrivmsg("wee", chatChannel, "from weechat "+m.text)
		ir.waitMessage("wee", "from weechat "+m.text)

		t.Logf("%s: irssi -> weechat", m.name)
		ir.typeLine("from irssi " + m.text)
		watcher.expectPrivmsg("irs", chatChannel, "from irssi "+m.text)
		w.waitMessage("thor", chatChannel, "irs", "from irssi "+m.text)
	}
}
