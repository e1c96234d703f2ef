package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/thorchat/thorchat/client"
	"github.com/thorchat/thorchat/sasl"
	"github.com/thorchat/thorchat/torsvc"
)

// serverFlags are the flags of commands that log in to a server (login,
// link): where to dial, what the signature binds, the nick and the bound.
type serverFlags struct {
	addr, host, socks, nick string
	port                    int
	timeout                 time.Duration
}

func (f *serverFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "addr", "", "server `HOST:PORT` to dial (an onion name with -socks), or unix:PATH")
	fs.StringVar(&f.host, "host", "", "host `NAME` the signature binds (default: the host of -addr)")
	fs.IntVar(&f.port, "port", 0, "port the signature binds (default: the port of -addr)")
	fs.StringVar(&f.socks, "socks", "", "dial through Tor's SOCKS5 port at `HOST:PORT`, e.g. 127.0.0.1:9050")
	fs.StringVar(&f.nick, "nick", "", "nick to register (default: thorchat and 4 random hex digits)")
	fs.DurationVar(&f.timeout, "timeout", client.DefaultTimeout, "give up after this long")
}

// check refuses missing or out-of-range flags.
func (f *serverFlags) check() error {
	switch {
	case f.addr == "":
		return usageErr("-addr HOST:PORT is required")
	case f.port < 0 || f.port > 65535:
		return usageErr("-port %d not in 0..65535", f.port)
	}
	return nil
}

// config is the client configuration the flags describe, logging in with
// signer.
func (f *serverFlags) config(signer sasl.Signer) (client.Config, error) {
	cfg := client.Config{Addr: f.addr, Host: f.host, Port: uint16(f.port), Nick: f.nick, Signer: signer, Timeout: f.timeout}
	if f.socks != "" {
		d, err := torsvc.Dialer(f.socks)
		if err != nil {
			return cfg, fmt.Errorf("-socks: %w", err)
		}
		cfg.Dial = d.DialContext
	}
	return cfg, nil
}
