package main

import (
	"fmt"
	"io"
	"net"
	"strings"
)

// printSetup prints, for what was enrolled, the exact client set-up: one
// section per client, a header line starting with "== ", the lines to type
// into the client (each starting with "/") or to run, then notes, then a
// blank line. Tests parse it (package e2e): keep the shape.
func printSetup(w io.Writer, o enrollOpts, r enrolled) {
	fmt.Fprintf(w, "account %s\n\n", r.account)
	host, port, err := net.SplitHostPort(o.addr)
	if err != nil || strings.HasPrefix(o.addr, "unix:") { // stock clients cannot use a unix socket
		if r.device != nil || r.token != "" {
			fmt.Fprintf(w, "# enrolled over %s: run again with -addr ONION.onion:6667 -socks 127.0.0.1:9050 for the client set-ups\n\n", o.addr)
		}
		r.device, r.token = nil, ""
	}
	socksHost, socksPort, _ := net.SplitHostPort(o.socks)
	name := o.server

	if r.device != nil {
		fmt.Fprintf(w, "== weechat (3.8 or later): device key %q, type these lines in weechat ==\n", r.deviceLabel)
		proxy := ""
		if o.socks != "" {
			fmt.Fprintf(w, "/proxy add thorchat-tor socks5 %s %s %s %s\n", socksHost, socksPort, r.isolation, r.isolation)
			proxy = " -proxy=thorchat-tor"
		}
		fmt.Fprintf(w, "/server add %s %s/%s -notls -nossl%s\n", name, host, port, proxy)
		if o.nick != "" {
			fmt.Fprintf(w, "/set irc.server.%s.nicks %s\n", name, o.nick)
		}
		fmt.Fprintf(w, "/set irc.server.%s.sasl_mechanism ecdsa-nist256p-challenge\n", name)
		fmt.Fprintf(w, "/set irc.server.%s.sasl_username %s\n", name, r.account)
		fmt.Fprintf(w, "/set irc.server.%s.sasl_key %s\n", name, r.device.path)
		fmt.Fprintf(w, "/connect %s\n", name)
		fmt.Fprintln(w, "# -notls is the spelling of weechat 4 (TLS on by default), -nossl of weechat 3; each ignores the other.")
		if o.socks != "" {
			fmt.Fprintln(w, "# The proxy's user name and password only isolate weechat on Tor circuits of its own (the server limits connections per circuit).")
		}
		fmt.Fprintln(w, "# Inside Tor the onion service encrypts and authenticates the connection. Keep the key file private (mode 0600).")
		fmt.Fprintln(w)
	}
	if r.token != "" {
		nick := ""
		if o.nick != "" {
			nick = " -nick " + o.nick
		}
		start := "irssi"
		switch { // -i: circuits of its own (the server limits connections per circuit)
		case o.socks == "127.0.0.1:9050":
			start = "torsocks -i irssi"
		case o.socks != "":
			start = fmt.Sprintf("torsocks -i -a %s -P %s irssi", socksHost, socksPort)
		}
		fmt.Fprintf(w, "== irssi (1.4): token %q, start it as: %s, then type ==\n", o.token, start)
		ircHost := host
		if o.socks != "" && strings.HasSuffix(strings.ToLower(host), ".onion") {
			// irssi resolves names in a forked child: torsocks maps the
			// onion name to a fake address there, and the parent's
			// connect to it is refused. Tor maps an address instead.
			ircHost = o.mapIP
			fmt.Fprintf(w, "# once: irssi looks names up in a child process, where torsocks cannot map an onion name, so have tor map an address to it:\n")
			fmt.Fprintf(w, "#   echo 'MapAddress %s %s' | sudo tee -a /etc/tor/torrc && sudo systemctl reload tor\n", o.mapIP, host)
		}
		fmt.Fprintf(w, "/network add -sasl_mechanism PLAIN -sasl_username %s -sasl_password %s%s %s\n", r.account, r.token, nick, name)
		fmt.Fprintf(w, "/server add -auto -notls -network %s %s %s\n", name, ircHost, port)
		fmt.Fprintf(w, "/connect %s\n", name)
		fmt.Fprintln(w, "# The token is the SASL PLAIN password, the account the user name; the server shows it only this once.")
		fmt.Fprintln(w)

		fmt.Fprintf(w, "== bot (thorchat-bot, or package client): token %q, run ==\n", o.token)
		socks := ""
		if o.socks != "" {
			socks = " -socks " + o.socks
		}
		fmt.Fprintf(w, "thorchat-bot -addr %s%s -token-user %s -token %s -channel '#CHANNEL'\n", o.addr, socks, r.account, r.token)
		fmt.Fprintln(w, "# or in Go (package client):")
		dial := ""
		if o.socks != "" {
			fmt.Fprintf(w, "#   dial, _ := client.IsolatedSOCKSDialer(%q, \"mybot\")\n", o.socks)
			dial = "Dial: dial, "
		}
		fmt.Fprintf(w, "#   client.Config{Addr: %q, %sMechanism: \"PLAIN\", PlainUser: %q, PlainPass: %q}\n", o.addr, dial, r.account, r.token)
		fmt.Fprintln(w)
	}
	if r.listed {
		fmt.Fprintf(w, "== credentials of %s (%d) ==\n", r.account, len(r.list))
		for _, c := range r.list {
			line := fmt.Sprintf("%s %s %s", c.Label, c.Kind, c.Info)
			if c.Key != "" {
				line += ", key " + c.Key
			}
			fmt.Fprintln(w, strings.TrimSpace(line))
		}
		fmt.Fprintln(w)
	}
}
