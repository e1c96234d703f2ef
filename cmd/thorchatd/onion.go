package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/thorchat/thorchat/config"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/proxyproto"
	"github.com/thorchat/thorchat/torsvc"
)

func torConfig(cfg *config.Config) torsvc.Config {
	t := cfg.Tor
	return torsvc.Config{
		Mode:                   t.Mode,
		Binary:                 t.Binary,
		DataDir:                t.DataDir,
		ExtraTorrc:             t.ExtraTorrc,
		Control:                t.Control,
		ControlPassword:        t.ControlPassword,
		KeyDir:                 t.KeyDir,
		VirtualPort:            cfg.Listen.OnionPort,
		Target:                 cfg.Listen.OnionSocket,
		IntroDoSDefense:        t.IntroDoSDefense,
		IntroDoSRatePerSec:     t.IntroDoSRatePerSec,
		IntroDoSBurstPerSec:    t.IntroDoSBurstPerSec,
		PoWDefenses:            t.PoWDefenses,
		PoWQueueRate:           t.PoWQueueRate,
		PoWQueueBurst:          t.PoWQueueBurst,
		MaxStreams:             t.MaxStreams,
		MaxStreamsCloseCircuit: t.MaxStreamsClose,
		ExportCircuitID:        t.ExportCircuitID,
	}
}

// onionService is the published onion service and the unix listener it
// forwards to.
type onionService struct {
	svc *torsvc.Service
	ln  net.Listener
	id  ircd.Listener
	// webLn is the web client's unix socket ([web] enabled), the onion
	// service's second virtual port
	webLn net.Listener
}

// startOnion opens the daemon's unix socket, then starts (or attaches to)
// tor and publishes the onion service that forwards to it. The socket is
// open first, so connections can arrive as soon as tor lets them.
func startOnion(ctx context.Context, cfg *config.Config, log *slog.Logger) (*onionService, error) {
	sock := cfg.Listen.OnionSocket
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		return nil, fmt.Errorf("listen.onion_socket: %w", err)
	}
	ln, err := listenUnix(sock)
	if err != nil {
		return nil, fmt.Errorf("listen.onion_socket: %w", err)
	}
	if abs, err := filepath.Abs(sock); err == nil {
		sock = abs
	}
	tc := torConfig(cfg)
	tc.Target = sock
	var webLn net.Listener
	if cfg.Web.Enabled {
		if webLn, err = listenUnix(cfg.Web.Socket); err != nil {
			ln.Close()
			return nil, fmt.Errorf("web: %w", err)
		}
		target := cfg.Web.Socket
		if abs, err := filepath.Abs(target); err == nil {
			target = abs
		}
		tc.ExtraPorts = []torsvc.PortMap{{Port: cfg.Web.OnionPort, Target: target}}
	}
	svc, err := torsvc.Start(ctx, tc, log)
	if err != nil {
		ln.Close()
		if webLn != nil {
			webLn.Close()
		}
		return nil, err
	}
	addr := svc.OnionAddress()
	log.Info("onion service configured", "address", addr, "port", cfg.Listen.OnionPort, "hardening", svc.Accepted())
	go func() {
		select {
		case <-svc.Published():
			log.Info("onion service descriptor published; reachable", "address", addr)
		case <-ctx.Done():
		}
	}()
	on := &onionService{
		svc:   svc,
		ln:    ln,
		webLn: webLn,
		id:    ircd.Listener{Kind: "onion", Host: addr, Port: cfg.Listen.OnionPort},
	}
	if svc.ExportsCircuitID() {
		// tor starts each stream with a PROXY line naming its circuit:
		// read here, before ircd sees the connection, which then carries
		// the circuit only as its origin key
		pl := proxyproto.NewListener(ln, proxyproto.Options{Refuse: []byte("ERROR :Closing Link: bad PROXY header\r\n")})
		on.ln, on.id.Origin, on.id.OriginKind = pl, pl.Origin, "Tor circuit"
	}
	return on, nil
}

// printOnion implements `thorchatd onion -config FILE`: the address, from
// the kept key (created if absent), without starting anything.
func printOnion(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("thorchatd onion", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "config.toml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	addr, err := torsvc.OnionAddressFromKey(cfg.Tor.KeyDir)
	if err != nil {
		return fmt.Errorf("tor.key_dir: %w", err)
	}
	fmt.Fprintln(stdout, addr)
	return nil
}
