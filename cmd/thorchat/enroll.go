package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/thorchat/thorchat/client"
)

// labelRE is what the server accepts as a credential label.
var labelRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)

// nickRE is a nick the printed set-ups may carry (RFC 2812 letters).
var nickRE = regexp.MustCompile(`^[A-Za-z\[\]\\^_{|}` + "`" + `][A-Za-z0-9\[\]\\^_{|}` + "`" + `-]{0,29}$`)

// expiredRE finds "expired" in the info of a NickServ LIST line.
var expiredRE = regexp.MustCompile(`(^|, )expired($|,)`)

// onionAddr reports whether addr ("host:port") names an onion service.
func onionAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".onion")
}

// validMapIP reports whether s is an IPv4 address torsocks passes to tor:
// not loopback, not unspecified.
func validMapIP(s string) bool {
	ip, err := netip.ParseAddr(s)
	return err == nil && ip.Is4() && !ip.IsLoopback() && !ip.IsUnspecified()
}

// validTTL reports whether the server will take s as a lifetime: "30d",
// a Go duration ("12h", "90m"), "0" or "never".
func validTTL(s string) bool {
	if s == "0" || strings.EqualFold(s, "never") {
		return true
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		return err == nil && d > 0 && d <= 3650
	}
	d, err := time.ParseDuration(s)
	return err == nil && d > 0
}

// enrollOpts are the flags of thorchat enroll.
type enrollOpts struct {
	signer     signerFlags
	addr       string
	host       string
	port       int
	socks      string
	nick       string
	weechatKey string // device key PEM, created if missing
	label      string // label of the device key
	token      string // label of a new token
	ttl        string
	revoke     string
	list       bool
	server     string // name of the server in the printed client set-ups
	mapIP      string // address tor maps to the onion for irssi
}

func cmdEnroll(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("thorchat enroll", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o enrollOpts
	o.signer.register(fs)
	fs.StringVar(&o.addr, "addr", "", "server `HOST:PORT` to dial (ONION.onion:6667 with -socks)")
	fs.StringVar(&o.socks, "socks", "", "dial through Tor's SOCKS5 port at `HOST:PORT`, e.g. 127.0.0.1:9050 (also put in the printed set-ups)")
	fs.StringVar(&o.host, "host", "", "host `NAME` the login signature binds (default: the host of -addr)")
	fs.IntVar(&o.port, "port", 0, "port the login signature binds (default: the port of -addr)")
	fs.StringVar(&o.weechatKey, "weechat-key", "", "enrol the P-256 device key in `PATH` (a PEM file, created mode 0600 if missing) for weechat's ecdsa-nist256p-challenge")
	fs.StringVar(&o.label, "label", "weechat", "`LABEL` of the device key enrolled with -weechat-key")
	fs.StringVar(&o.token, "token", "", "mint a SASL PLAIN token labelled `LABEL` (for irssi and bots; printed once)")
	fs.StringVar(&o.ttl, "ttl", "", "lifetime of the new credentials, e.g. 30d or 12h (default: no expiry)")
	fs.StringVar(&o.revoke, "revoke", "", "revoke the credential labelled `LABEL` first")
	fs.BoolVar(&o.list, "list", false, "print the account's credentials at the end")
	fs.StringVar(&o.nick, "nick", "", "nick to put in the printed client set-ups")
	fs.StringVar(&o.server, "name", "thorchat", "`NAME` of the server in the printed client set-ups")
	fs.StringVar(&o.mapIP, "map-ip", "10.40.40.40", "`IPV4` address the irssi set-up has tor map to the onion (MapAddress)")
	timeout := fs.Duration("timeout", client.DefaultTimeout, "bound for connecting and for each NickServ answer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := o.validate(fs); err != nil {
		return fail(stderr, "enroll", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var dev *deviceKey
	if o.weechatKey != "" {
		var err error
		if dev, err = loadOrCreateDeviceKey(o.weechatKey, stderr); err != nil {
			return fail(stderr, "enroll", err)
		}
	}
	signer, err := o.signer.signer(ctx, stderr)
	if err != nil {
		return fail(stderr, "enroll", err)
	}
	cfg := client.Config{Addr: o.addr, Host: o.host, Port: uint16(o.port), Signer: signer, Timeout: *timeout}
	if o.socks != "" {
		// a circuit of its own: the server bounds connections per circuit
		iso, err := client.NewIsolation("thorchat-enroll")
		if err != nil {
			return fail(stderr, "enroll", err)
		}
		if cfg.Dial, err = client.IsolatedSOCKSDialer(o.socks, iso); err != nil {
			return fail(stderr, "enroll", fmt.Errorf("-socks: %w", err))
		}
	}
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		var se *client.SASLError
		if errors.As(err, &se) {
			fmt.Fprintf(stderr, "thorchat enroll: login with the account key refused: %s %s\n", se.Code, se.Text)
			if se.Code == "904" {
				fmt.Fprintf(stderr, "hint: the signature bound %s; for an onion service that must be its .onion name and virtual port (-host, -port)\n", bound(cfg))
			}
			return 1
		}
		return fail(stderr, "enroll", err)
	}
	defer func() { _ = c.Quit("thorchat enroll") }()
	res, err := o.manage(ctx, c, dev, stderr)
	if err != nil {
		return fail(stderr, "enroll", err)
	}
	res.account = c.Account()
	if res.isolation, err = client.NewIsolation("weechat"); err != nil {
		return fail(stderr, "enroll", err)
	}
	printSetup(stdout, o, res)
	return 0
}

func (o *enrollOpts) validate(fs *flag.FlagSet) error {
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case o.addr == "":
		return usageErr("-addr HOST:PORT is required")
	case o.weechatKey == "" && o.token == "" && o.revoke == "" && !o.list:
		return usageErr("nothing to do: give -weechat-key PATH and/or -token LABEL (or -revoke LABEL, -list)")
	case o.socks == "" && onionAddr(o.addr):
		return usageErr("-addr %s is an onion service: give -socks with Tor's SOCKS port, e.g. -socks 127.0.0.1:9050", o.addr)
	case o.port < 0 || o.port > 65535:
		return usageErr("-port %d not in 0..65535", o.port)
	case o.ttl != "" && !validTTL(o.ttl):
		return usageErr("-ttl %q: want e.g. 30d, 12h or never", o.ttl)
	case !validMapIP(o.mapIP):
		return usageErr("-map-ip %q: want an IPv4 address outside 127.0.0.0/8 (torsocks refuses loopback)", o.mapIP)
	case !labelRE.MatchString(o.server):
		return usageErr("-name %q: want 1-32 letters, digits, '.', '-' or '_'", o.server)
	case o.nick != "" && !nickRE.MatchString(o.nick):
		return usageErr("-nick %q is not a valid nick", o.nick)
	}
	for _, l := range []struct{ flag, v string }{{"-label", o.label}, {"-token", o.token}, {"-revoke", o.revoke}} {
		if l.v != "" && !labelRE.MatchString(l.v) || l.flag == "-label" && o.weechatKey != "" && l.v == "" {
			return usageErr("%s %q: labels are 1-32 letters, digits, '.', '-' or '_'", l.flag, l.v)
		}
	}
	if o.weechatKey != "" && o.token != "" && o.label == o.token {
		return usageErr("-label and -token must differ (both are %q)", o.token)
	}
	return nil
}

// deviceKey is the weechat key file and its public key.
type deviceKey struct {
	path string // absolute
	pub  string // base64 compressed point
}

// loadOrCreateDeviceKey reads the P-256 key at path, or creates it.
func loadOrCreateDeviceKey(path string, stderr io.Writer) (*deviceKey, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("-weechat-key: %w", err)
	}
	d := &deviceKey{path: abs}
	var k *ecdsa.PrivateKey
	switch _, err := os.Lstat(abs); {
	case errors.Is(err, fs.ErrNotExist):
		if k, err = client.GenerateDeviceKey(); err != nil {
			return nil, err
		}
		if err := client.WriteDeviceKeyFile(abs, k); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "wrote a new P-256 device key to %s\n", abs)
	case err != nil:
		return nil, fmt.Errorf("-weechat-key: %w", err)
	default:
		if k, err = client.LoadDeviceKeyFile(abs); err != nil {
			return nil, err
		}
	}
	if d.pub, err = client.DevicePublicKey(&k.PublicKey); err != nil {
		return nil, err
	}
	return d, nil
}

// enrolled is what manage did, for printSetup.
type enrolled struct {
	account     string
	isolation   string // SOCKS credentials that give weechat circuits of its own
	device      *deviceKey
	deviceLabel string // the label the device key is enrolled under
	token       string
	list        []client.Credential
	listed      bool
}

// manage runs the NickServ commands: revoke, enrol the device key unless
// it is enrolled already, mint the token, list.
func (o *enrollOpts) manage(ctx context.Context, c *client.Conn, dev *deviceKey, stderr io.Writer) (enrolled, error) {
	var res enrolled
	if o.revoke != "" {
		if err := c.RevokeCredential(ctx, o.revoke); err != nil {
			return res, err
		}
		fmt.Fprintf(stderr, "revoked %s\n", o.revoke)
	}
	if dev != nil {
		list, err := c.ListCredentials(ctx)
		if err != nil {
			return res, err
		}
		for _, cr := range list {
			if cr.Kind == "device" && cr.Key == dev.pub && !expiredRE.MatchString(cr.Info) {
				res.deviceLabel = cr.Label
				fmt.Fprintf(stderr, "the device key in %s is enrolled already, as %s\n", dev.path, cr.Label)
			}
		}
		if res.deviceLabel == "" {
			if err := c.AddDevice(ctx, o.label, dev.pub, o.ttl); err != nil {
				return res, fmt.Errorf("%w (a label in use needs -label NAME or -revoke %s)", err, o.label)
			}
			res.deviceLabel = o.label
			fmt.Fprintf(stderr, "enrolled the device key in %s as %s\n", dev.path, o.label)
		}
		res.device = dev
	}
	if o.token != "" {
		tok, err := c.NewToken(ctx, o.token, o.ttl)
		if err != nil {
			return res, err
		}
		res.token = tok
		fmt.Fprintf(stderr, "minted token %s (shown once, below)\n", o.token)
	}
	if o.list {
		list, err := c.ListCredentials(ctx)
		if err != nil {
			return res, err
		}
		res.list, res.listed = list, true
	}
	return res, nil
}
