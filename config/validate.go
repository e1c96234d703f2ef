package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"golang.org/x/crypto/bcrypt"

	"github.com/thorchat/thorchat/channame"
	"github.com/thorchat/thorchat/ircd"
)

func bad(key, format string, args ...any) error {
	return &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// validate checks values and fills derived defaults.
func (c *Config) validate() error {
	if !validServerName(c.Server.Name) {
		return bad("server.name", "must be a host-like name (letters, digits, '-', '.'; at most 63 bytes), got %q", c.Server.Name)
	}
	if c.Server.Network == "" || strings.ContainsAny(c.Server.Network, " \r\n\x00") {
		return bad("server.network", "must be a non-empty word without spaces")
	}
	if strings.ContainsAny(c.Server.MOTD, "\r\x00") {
		return bad("server.motd", "must not contain CR or NUL")
	}
	switch c.Server.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("server.log_level", "must be debug, info, warn or error")
	}
	for i, a := range c.Listen.DevTCP {
		if err := checkLoopback(a); err != nil {
			return bad(fmt.Sprintf("listen.dev_tcp[%d]", i), "%v", err)
		}
	}
	for i, p := range c.Listen.Unix {
		if p == "" || len(p) > 100 {
			return bad(fmt.Sprintf("listen.unix[%d]", i), "unix socket path must be 1..100 bytes")
		}
	}
	if c.Listen.OnionPort < 1 || c.Listen.OnionPort > 65535 {
		return bad("listen.onion_port", "must be 1..65535")
	}
	if c.Listen.OnionSocket == "" {
		c.Listen.OnionSocket = filepath.Join(c.Server.DataDir, "irc.sock")
	}
	if len(c.Listen.OnionSocket) > 100 {
		return bad("listen.onion_socket", "unix socket path must be at most 100 bytes")
	}
	if err := c.validateLimits(); err != nil {
		return err
	}
	switch c.Tor.Mode {
	case "embedded", "control":
	default:
		return bad("tor.mode", "must be \"embedded\" or \"control\", got %q", c.Tor.Mode)
	}
	if c.Tor.DataDir == "" {
		c.Tor.DataDir = filepath.Join(c.Server.DataDir, "tor")
	}
	if c.Tor.KeyDir == "" {
		c.Tor.KeyDir = filepath.Join(c.Server.DataDir, "onion")
	}
	if c.Store.Path == "" {
		c.Store.Path = filepath.Join(c.Server.DataDir, "thorchat.db")
	}
	if err := c.validateWeb(); err != nil {
		return err
	}
	if c.Metrics.Socket == "" {
		c.Metrics.Socket = filepath.Join(c.Server.DataDir, "metrics.sock")
	}
	if len(c.Metrics.Socket) > 100 {
		return bad("metrics.socket", "unix socket path must be at most 100 bytes")
	}
	if c.Metrics.DevTCP != "" {
		if err := checkLoopback(c.Metrics.DevTCP); err != nil {
			return bad("metrics.dev_tcp", "%v", err)
		}
	}
	if c.Metrics.DescriptorGrace.Duration <= 0 {
		return bad("metrics.descriptor_grace", "must be positive")
	}
	if c.Accounts.HRP == "" || strings.ToLower(c.Accounts.HRP) != c.Accounts.HRP {
		return bad("accounts.hrp", "must be a lower-case bech32 prefix")
	}
	if c.Accounts.KeyCache < 0 || c.Accounts.KeyCache > 1_000_000 {
		return bad("accounts.key_cache", "must be within 0..1000000")
	}
	if c.Accounts.CreateRate <= 0 || c.Accounts.CreateBurst < 1 {
		return bad("accounts.create_rate", "create_rate (accounts per minute) must be more than 0 and create_burst at least 1")
	}
	if c.Accounts.ExpireUnused.Duration < 0 {
		return bad("accounts.expire_unused", "must not be negative (0 keeps every account)")
	}
	if c.Accounts.SASLFailures < 1 {
		return bad("accounts.sasl_max_failures", "must be at least 1")
	}
	for _, fc := range []struct {
		key string
		v   FloodClass
	}{{"flood", c.Flood.FloodClass}, {"flood.operators", c.Flood.Operators}, {"flood.unregistered", c.Flood.Unregistered}} {
		if fc.v.Rate < 0 || fc.v.Burst < 1 || fc.v.Excess < fc.v.Burst {
			return bad(fc.key, "need rate >= 0, burst >= 1 and excess >= burst")
		}
	}
	if c.Limits.ConnRate < 0 || c.Limits.ConnBurst < 0 || c.Limits.MaxUnauthenticated < 0 {
		return bad("limits.conn_rate", "conn_rate, conn_burst and max_unauthenticated must not be negative")
	}
	if c.Whowas.Length < 1 || c.Whowas.Length > 100000 {
		return bad("whowas.length", "must be between 1 and 100000, got %d", c.Whowas.Length)
	}
	if c.Whowas.TTL.Duration < time.Second || c.Whowas.TTL.Duration > 30*24*time.Hour {
		return bad("whowas.ttl", "must be between 1s and 720h, got %s", c.Whowas.TTL.Duration)
	}
	if err := c.History.validate(); err != nil {
		return err
	}
	if c.ChanServ.MaxPerAccount < 1 || c.ChanServ.MaxPerAccount > 10000 {
		return bad("chanserv.max_per_account", "must be between 1 and 10000, got %d", c.ChanServ.MaxPerAccount)
	}
	if c.ChanServ.MaxRegistered < 1 || c.ChanServ.MaxRegistered > 1<<20 {
		return bad("chanserv.max_registered", "must be between 1 and %d, got %d", 1<<20, c.ChanServ.MaxRegistered)
	}
	if c.ChanServ.MinAccountAge.Duration < 0 {
		return bad("chanserv.min_account_age", "must not be negative")
	}
	for name, h := range c.Opers.Passwords {
		if _, err := bcrypt.Cost([]byte(h)); err != nil || !strings.HasPrefix(h, "$2a$") && !strings.HasPrefix(h, "$2b$") && !strings.HasPrefix(h, "$2y$") {
			return bad("opers.passwords."+name, "must be a bcrypt hash (make one with: thorchatd mkpasswd)")
		}
	}
	if c.Opers.OperRate <= 0 || c.Opers.OperRate > 600 {
		return bad("opers.oper_rate", "must be more than 0 and at most 600 (checks per minute)")
	}
	if c.Opers.OperBurst < 1 || c.Opers.OperBurst > 100 {
		return bad("opers.oper_burst", "must be between 1 and 100")
	}
	if c.Opers.OperSlots < 1 || c.Opers.OperSlots > 16 {
		return bad("opers.oper_slots", "must be between 1 and 16")
	}
	for i, cl := range c.Opers.OperClasses {
		switch cl {
		case "operator", "staff", "user":
		default:
			return bad(fmt.Sprintf("opers.oper_classes[%d]", i), "must be \"operator\", \"staff\" or \"user\", got %q", cl)
		}
	}
	seen := map[string]bool{}
	for i, ch := range c.Channels {
		key := fmt.Sprintf("channel[%d]", i)
		if len(ch.Name) < 2 || ch.Name[0] != '#' || len(ch.Name) > c.Limits.ChannelLen || strings.ContainsAny(ch.Name, " ,\a\x00\r\n") {
			return bad(key+".name", "invalid channel name %q", ch.Name)
		}
		if err := channame.Check(ch.Name); err != nil {
			return bad(key+".name", "channel %q: %v", ch.Name, err)
		}
		if seen[strings.ToLower(ch.Name)] {
			return bad(key+".name", "channel %q declared twice", ch.Name)
		}
		for _, prev := range c.Channels[:i] {
			if !strings.EqualFold(prev.Name, ch.Name) && channame.Confusable(prev.Name, ch.Name) {
				return bad(key+".name", "channel %q looks like the declared channel %q (Unicode confusables)", ch.Name, prev.Name)
			}
		}
		seen[strings.ToLower(ch.Name)] = true
		switch ch.Speak {
		case "", "everyone", "operators":
		default:
			return bad(key+".speak", "must be \"everyone\" or \"operators\"")
		}
		switch ch.History {
		case "", HistoryWorld, HistoryJoined, HistoryOff:
		default:
			return bad(key+".history", "must be \"world\", \"joined\" or \"off\", got %q", ch.History)
		}
		if len(ch.Topic) > c.Limits.TopicLen {
			return bad(key+".topic", "longer than limits.topic_len")
		}
		if strings.Trim(ch.Modes, "+ntmisR") != "" || (ch.Modes != "" && ch.Modes[0] != '+') {
			return bad(key+".modes", "only flags from +ntmisR are allowed here, got %q", ch.Modes)
		}
	}
	return nil
}

func (c *Config) validateLimits() error {
	l := &c.Limits
	if err := ircd.ValidateLimits(l.Limits); err != nil {
		var le *ircd.LimitError
		if errors.As(err, &le) {
			return bad("limits."+le.Key, "%s", le.Msg)
		}
		return bad("limits", "%v", err)
	}
	if l.MaxAccept < 1 || l.MaxAccept > 1000 {
		return bad("limits.max_accept", "must be between 1 and 1000, got %d", l.MaxAccept)
	}
	return nil
}

// checkLoopback accepts "host:port" only when host is a loopback IP literal
// (127.0.0.0/8 or ::1) or "localhost".
func checkLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("not host:port: %q", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("bad port in %q (0 is allowed only in tests)", addr)
	}
	return CheckLoopbackHost(host)
}

// CheckLoopbackHost refuses any host that is not a loopback IP literal or
// "localhost"; dev listeners must never be reachable from the network.
func CheckLoopbackHost(host string) error {
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() || ip.Zone() != "" {
		return fmt.Errorf("%q is not a loopback address (127.0.0.0/8 or ::1): the dev listener must never be reachable from the network", host)
	}
	return nil
}

func validServerName(s string) bool {
	if s == "" || len(s) > 63 || !strings.Contains(s, ".") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

func splitKey(k string) toml.Key {
	if i := strings.IndexByte(k, '['); i >= 0 {
		k = k[:i]
	}
	return strings.Split(k, ".")
}

// keyLine finds the line on which a dotted key is set, scanning section
// headers; it returns 0 when the key is not written in the file.
func keyLine(raw []byte, key toml.Key) int {
	if len(key) == 0 {
		return 0
	}
	section := strings.Join(key[:len(key)-1], ".")
	last := key[len(key)-1]
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	sectionLine := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			cur = strings.Trim(line, "[] ")
			if cur == strings.Join(key, ".") {
				sectionLine = n
			}
			continue
		}
		if cur != section {
			continue
		}
		if k, _, ok := strings.Cut(line, "="); ok && strings.Trim(strings.TrimSpace(k), `"`) == last {
			return n
		}
	}
	return sectionLine
}

// Bounds of the [history] keys. maxHistoryQuery matches the store's
// MaxHistoryQuery.
const (
	maxHistoryPerTarget = 10_000_000
	maxHistoryQuery     = 10000
)

func (h *History) validate() error {
	if h.Expire.Duration < 0 {
		return bad("history.expire", "must not be negative (\"0s\": no age limit)")
	}
	if h.PrivateExpire.Duration < 0 {
		return bad("history.private_expire", "must not be negative (\"0s\": no age limit)")
	}
	if h.MaxPerTarget < 1 || h.MaxPerTarget > maxHistoryPerTarget {
		return bad("history.max_per_target", "must be between 1 and %d, got %d", maxHistoryPerTarget, h.MaxPerTarget)
	}
	if h.MaxQuery < 1 || h.MaxQuery > maxHistoryQuery {
		return bad("history.max_query", "must be between 1 and %d, got %d", maxHistoryQuery, h.MaxQuery)
	}
	if h.ReplayLines < 0 || h.ReplayLines > h.MaxQuery {
		return bad("history.replay_lines", "must be between 0 (off) and history.max_query (%d), got %d", h.MaxQuery, h.ReplayLines)
	}
	if h.Queue < 16 || h.Queue > 1<<20 {
		return bad("history.queue", "must be between 16 and %d, got %d", 1<<20, h.Queue)
	}
	return nil
}

// validateWeb checks [web] and derives its unix socket.
func (c *Config) validateWeb() error {
	w := &c.Web
	if w.OnionPort < 1 || w.OnionPort > 65535 {
		return bad("web.onion_port", "must be 1..65535")
	}
	if w.Enabled && c.Listen.Onion && w.OnionPort == c.Listen.OnionPort {
		return bad("web.onion_port", "must differ from listen.onion_port (%d)", c.Listen.OnionPort)
	}
	for i, a := range w.DevTCP {
		if err := checkLoopback(a); err != nil {
			return bad(fmt.Sprintf("web.dev_tcp[%d]", i), "%v", err)
		}
	}
	if len(w.DefaultChannels) > 20 {
		return bad("web.default_channels", "at most 20 channels")
	}
	for i, ch := range w.DefaultChannels {
		key := fmt.Sprintf("web.default_channels[%d]", i)
		if len(ch) < 2 || ch[0] != '#' || len(ch) > c.Limits.ChannelLen || strings.ContainsAny(ch, " ,\a\x00\r\n") {
			return bad(key, "invalid channel name %q", ch)
		}
		if err := channame.Check(ch); err != nil {
			return bad(key, "%v", err)
		}
	}
	w.Socket = filepath.Join(c.Server.DataDir, "http.sock")
	if w.Enabled && c.Listen.Onion && len(w.Socket) > 100 {
		return bad("server.data_dir", "too long for the web client's unix socket %s (at most 100 bytes)", w.Socket)
	}
	return nil
}
