// Command thorchat-bot is a tiny example bot on package client: it joins
// channels, answers "!ping" with "pong" and greets whoever joins. It logs
// in with its own key (-key or -sign-cmd, SASL THORCHAT-SECP256K1) or with
// a device token of an account (-token-user and -token or -token-file,
// SASL PLAIN), reaches an onion service through Tor's SOCKS port
// (-socks), and reconnects with back-off when the link drops.
//
//	thorchat-bot -addr ONION.onion:6667 -socks 127.0.0.1:9050 -key bot.key -channel '#bots'
//	thorchat-bot -addr ONION.onion:6667 -socks 127.0.0.1:9050 \
//	    -token-user thor1… -token-file bot.token -channel '#bots'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/time/rate"
	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/client"
	"github.com/thorchat/thorchat/sasl"
)

// Answer budget: a burst of 5, then one answer a second; the rest is
// dropped, so a flood of !ping cannot make the server drop the bot.
const (
	answerRate  = 1
	answerBurst = 5
	maxTokenLen = 256
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

// run is the whole program: 0 after a clean stop (ctx ended), 1 when the
// bot gives up, 2 on a usage error.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("thorchat-bot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "server `HOST:PORT` (ONION.onion:6667 with -socks), or unix:PATH")
	socks := fs.String("socks", "", "dial through Tor's SOCKS5 port at `HOST:PORT`, e.g. 127.0.0.1:9050")
	host := fs.String("host", "", "host `NAME` the key login binds (default: the host of -addr)")
	port := fs.Int("port", 0, "port the key login binds (default: the port of -addr)")
	keyFile := fs.String("key", "", "log in with the private key in `FILE` (thorchat keygen)")
	signCmd := fs.String("sign-cmd", "", "log in with an external signer `CMD` (contract: package client docs)")
	tokenUser := fs.String("token-user", "", "log in with a device token of `ACCOUNT` (thor1…), SASL PLAIN")
	token := fs.String("token", "", "the device `TOKEN` (thc_…); visible to ps, prefer -token-file")
	tokenFile := fs.String("token-file", "", "read the device token from `FILE`")
	channels := fs.String("channel", "", "channel(s) to join, comma-separated, e.g. '#bots'")
	nick := fs.String("nick", "thorchat-bot", "nick")
	maxFailures := fs.Int("max-failures", 0, "give up after this many failed connection attempts in a row (0: never)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg, err := botConfig(ctx, botFlags{
		addr: *addr, socks: *socks, host: *host, port: *port, key: *keyFile, signCmd: *signCmd,
		tokenUser: *tokenUser, token: *token, tokenFile: *tokenFile, nick: *nick, rest: fs.Args(),
	}, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "thorchat-bot: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	var chans []string
	for c := range strings.SplitSeq(*channels, ",") {
		if c = strings.TrimSpace(c); c != "" {
			chans = append(chans, c)
		}
	}
	b := &client.Bot{
		Config:      cfg,
		Channels:    chans,
		Handler:     newHandler(log).handle,
		MaxFailures: *maxFailures,
		Logger:      log,
	}
	err = b.Run(ctx)
	if ctx.Err() != nil {
		return 0
	}
	fmt.Fprintf(stderr, "thorchat-bot: %v\n", err)
	return 1
}

// usageError is a mistake in the command line.
type usageError string

func (e usageError) Error() string { return string(e) }

type botFlags struct {
	addr, socks, host string
	port              int
	key, signCmd      string
	tokenUser, token  string
	tokenFile, nick   string
	rest              []string
}

// botConfig turns the flags into a client.Config.
func botConfig(ctx context.Context, f botFlags, stderr io.Writer) (client.Config, error) {
	cfg := client.Config{Addr: f.addr, Host: f.host, Nick: f.nick, Realname: "thorchat-bot (!ping)"}
	switch {
	case len(f.rest) > 0:
		return cfg, usageError(fmt.Sprintf("unexpected argument %q", f.rest[0]))
	case f.addr == "":
		return cfg, usageError("-addr HOST:PORT is required")
	case f.port < 0 || f.port > 65535:
		return cfg, usageError(fmt.Sprintf("-port %d not in 0..65535", f.port))
	}
	cfg.Port = uint16(f.port)
	byToken := f.tokenUser != "" || f.token != "" || f.tokenFile != ""
	n := 0
	for _, set := range []bool{f.key != "", f.signCmd != "", byToken} {
		if set {
			n++
		}
	}
	if n != 1 {
		return cfg, usageError("log in with one of -key FILE, -sign-cmd CMD, or -token-user ACCOUNT with -token or -token-file")
	}
	switch {
	case f.key != "":
		k, err := client.LoadKeyFile(f.key)
		if err != nil {
			return cfg, err
		}
		cfg.Signer = sasl.NewKeySigner(k)
	case f.signCmd != "":
		s, err := client.NewCommandSigner(ctx, f.signCmd, client.CommandOptions{Stderr: stderr})
		if err != nil {
			return cfg, err
		}
		cfg.Signer = s
	default:
		tok, err := readToken(f.token, f.tokenFile)
		if err != nil {
			return cfg, err
		}
		if f.tokenUser == "" {
			return cfg, usageError("-token needs -token-user ACCOUNT (the account that minted it)")
		}
		cfg.Mechanism, cfg.PlainUser, cfg.PlainPass = sasl.MechPlain, f.tokenUser, tok
	}
	if f.socks != "" {
		// circuits of its own: the server bounds connections per circuit
		iso, err := client.NewIsolation("thorchat-bot")
		if err != nil {
			return cfg, err
		}
		if cfg.Dial, err = client.IsolatedSOCKSDialer(f.socks, iso); err != nil {
			return cfg, fmt.Errorf("-socks: %w", err)
		}
	}
	return cfg, nil
}

// readToken returns the token given directly or in a file.
func readToken(token, file string) (string, error) {
	switch {
	case token != "" && file != "":
		return "", usageError("give -token or -token-file, not both")
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("token file: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxTokenLen+1))
		if err != nil {
			return "", fmt.Errorf("token file %s: %w", file, err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" || len(token) > maxTokenLen || strings.ContainsAny(token, " \t\r\n") {
		return "", usageError("the token must be one word (thc_…)")
	}
	return token, nil
}

// handler answers !ping and greets joins, within an answer budget.
type handler struct {
	log    *slog.Logger
	budget *rate.Limiter
}

func newHandler(log *slog.Logger) *handler {
	return &handler{log: log, budget: rate.NewLimiter(answerRate, answerBurst)}
}

func (h *handler) handle(c *client.Conn, m *irc.Message) {
	if m.Prefix == nil || c.FromSelf(m) {
		return
	}
	var target, text string
	switch m.Command {
	case "PRIVMSG":
		if strings.TrimSpace(m.Trailing()) != "!ping" {
			return
		}
		target = m.Param(0)
		if !strings.HasPrefix(target, "#") {
			target = m.Prefix.Name // a private !ping
		}
		text = "pong"
	case "JOIN":
		target = m.Param(0)
		text = "welcome, " + m.Prefix.Name
	default:
		return
	}
	if !h.budget.AllowN(time.Now(), 1) {
		return
	}
	if err := c.Privmsg(target, text); err != nil {
		h.log.Warn("answer", "command", m.Command, "err", err)
	}
}
