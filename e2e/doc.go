// Package e2e holds end-to-end tests that drive stock IRC clients (weechat
// and irssi, as packaged by Debian) against a freshly built thorchatd.
//
// The package has no non-test code. Its helpers build the daemon once per
// test binary, start it with a generated configuration on a loopback-only
// plaintext listener, and run each client in a private home directory:
// weechat-headless is steered through its FIFO and observed through its
// logger files, irssi runs inside a private tmux server and is observed
// through the visible pane. Every wait is bounded.
//
// The browser client is driven in Debian's chromium (chromedp) and, over
// WebDriver BiDi, firefox-esr, headless; over Tor both go through the
// private network's SOCKS port with names resolved by tor.
//
// Clients that are not installed make the tests skip, naming the Debian
// package to install; with THORCHAT_REQUIRE_CLIENTS=1 they fail instead.
//
//	go test -race ./e2e/
package e2e
