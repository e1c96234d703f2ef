package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/thorchat/thorchat/admin"
	"github.com/thorchat/thorchat/config"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/metrics"
	"github.com/thorchat/thorchat/store"
	"github.com/thorchat/thorchat/torsvc"
)

// serve runs the daemon until ctx is cancelled.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	motd, err := loadMOTD(cfg)
	if err != nil {
		return err
	}
	if err := prepareDataDir(cfg.Server.DataDir, log); err != nil {
		return err
	}
	var srv *ircd.Server // set before the metrics are served
	var db *store.DB     // likewise
	met := metrics.New(metrics.Sources{
		Snapshot:        func(ctx context.Context) (ircd.Snapshot, error) { return srv.Snapshot(ctx) },
		StoreSize:       storeSize(cfg.Store.Path),
		HistoryMessages: func() (int64, error) { return historyTotal(db) },
	})
	db, err = openStore(ctx, cfg, log, met.ObserveCommit)
	if err != nil {
		return err
	}
	defer db.Close()
	// every start-up step that fails stops the daemon with its reason:
	// without the admin socket, backups could not reach it
	adminLn, err := admin.Listen(adminSocket(cfg))
	if err != nil {
		return err
	}
	src := &daemonSource{storeSource: storeSource{db}, cfg: cfg, started: time.Now()}
	adminCtx, stopAdmin := context.WithCancel(context.Background())
	adminDone := make(chan struct{})
	// the admin socket is closed before serve returns: a backup run right
	// after the daemon stopped must not reach a dying listener
	defer func() { stopAdmin(); <-adminDone }()
	go func() {
		defer close(adminDone)
		if err := admin.Serve(adminCtx, adminLn, src, log); err != nil {
			log.Error("admin socket", "err", err)
		}
	}()
	acc, err := newAccounts(cfg, db, met, log)
	if err != nil {
		return err
	}
	met.Mechanisms(acc.Mechanisms())
	icfg := ircd.Config{
		Name:        cfg.Server.Name,
		Network:     cfg.Server.Network,
		Version:     version,
		MOTD:        motd,
		Limits:      cfg.Limits.Limits,
		Logger:      log,
		Backend:     acc,
		MaxAccept:   cfg.Limits.MaxAccept,
		RequireSASL: cfg.Limits.RequireSASL,
		Flood: ircd.FloodOptions{
			Default:            ircd.FloodClass(cfg.Flood.FloodClass),
			Privileged:         ircd.FloodClass(cfg.Flood.Operators),
			Unregistered:       ircd.FloodClass(cfg.Flood.Unregistered),
			ConnRate:           cfg.Limits.ConnRate,
			ConnBurst:          cfg.Limits.ConnBurst,
			MaxUnauthenticated: cfg.Limits.MaxUnauthenticated,
		},
		SASL: ircd.SASLOptions{
			Timeout:     cfg.Accounts.SASLTimeout.Duration,
			MaxFailures: cfg.Accounts.SASLFailures,
		},
		Whowas: ircd.WhowasOptions{Len: cfg.Whowas.Length, TTL: cfg.Whowas.TTL.Duration},
		Registration: ircd.RegistrationOptions{
			MaxPerAccount: cfg.ChanServ.MaxPerAccount,
			MinAccountAge: cfg.ChanServ.MinAccountAge.Duration,
			MaxRegistered: cfg.ChanServ.MaxRegistered,
		},
		History: ircd.HistoryOptions{
			Private:    cfg.History.Private,
			Replay:     cfg.History.ReplayLines,
			MaxRequest: cfg.History.MaxQuery,
			Queue:      cfg.History.Queue,
		},
	}
	for _, ch := range cfg.Channels {
		icfg.Channels = append(icfg.Channels, ircd.ChannelSpec{
			Name: ch.Name, Topic: ch.Topic, Modes: ch.Modes, SpeakOperators: ch.Speak == "operators",
			History: ch.History,
		})
	}
	srv, err = ircd.New(icfg)
	if err != nil {
		return fmt.Errorf("start IRC server: %w", err)
	}
	src.srv.Store(srv)
	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	runDone := make(chan struct{})
	go func() { srv.Run(runCtx); close(runDone) }()
	expiryDone := make(chan struct{})
	go func() { acc.RunExpiry(runCtx); close(expiryDone) }()
	histExpiryDone := make(chan struct{})
	go func() { acc.RunHistoryExpiry(runCtx); close(histExpiryDone) }()
	defer func() { cancelRun(); <-expiryDone; <-histExpiryDone }()

	var wg sync.WaitGroup
	serveOn := func(ln net.Listener, id ircd.Listener) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ln, id); err != nil {
				log.Error("listener stopped", "kind", id.Kind, "err", err)
			}
		}()
	}
	var wc *webClient
	if cfg.Web.Enabled {
		if wc, err = startWeb(cfg, log, serveOn, publicHistory{srv: srv, acc: acc}); err != nil {
			srv.Shutdown(context.Background())
			return err
		}
		defer wc.close()
	}
	devListeners := 0
	for _, addr := range cfg.Listen.DevTCP {
		ln, id, err := listenDevTCP(addr)
		if err != nil {
			srv.Shutdown(context.Background())
			return err
		}
		devListeners++
		log.Info("dev TCP listener", "addr", ln.Addr().String())
		serveOn(ln, id)
	}
	for _, path := range cfg.Listen.Unix {
		ln, err := listenUnix(path)
		if err != nil {
			srv.Shutdown(context.Background())
			return err
		}
		devListeners++
		log.Info("unix listener", "path", path)
		serveOn(ln, ircd.Listener{Kind: "unix", Host: strings.ToLower(cfg.Server.Name), Port: 0})
	}
	if cfg.Listen.Onion {
		on, err := startOnion(ctx, cfg, log)
		if err != nil {
			srv.Shutdown(context.Background())
			return err
		}
		defer on.svc.Close()
		serveOn(on.ln, on.id)
		if on.webLn != nil {
			wc.serveOnion(on.webLn, on.svc.OnionAddress(), cfg.Web.OnionPort, on.svc.ExportsCircuitID())
		}
		src.onion.Store(on)
		met.SetTor(func() (torsvc.Health, bool) { return on.svc.Health(), true })
	}
	if wc != nil {
		for _, addr := range cfg.Web.DevTCP {
			if err := wc.serveDev(addr); err != nil {
				srv.Shutdown(context.Background())
				return err
			}
			devListeners++
		}
	}
	if cfg.Metrics.Enabled {
		metCtx, stopMetrics := context.WithCancel(context.Background())
		metDone := make(chan struct{})
		defer func() { stopMetrics(); <-metDone }()
		go func() {
			defer close(metDone)
			if err := metrics.Serve(metCtx, met, cfg.Metrics.Socket, cfg.Metrics.DevTCP, log); err != nil {
				log.Error("metrics socket", "err", err)
			}
		}()
	}
	if devListeners > 0 {
		log.Warn("non-onion listeners are on: use them for development and tests only", "count", devListeners)
	}
	if devListeners == 0 && !cfg.Listen.Onion {
		srv.Shutdown(context.Background())
		return errors.New("no listener: enable listen.onion or set listen.dev_tcp / listen.unix")
	}
	log.Info("thorchatd running", "server", cfg.Server.Name, "version", version)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-hup:
			if err := acc.Rehash(); err != nil {
				log.Error("reload failed; keeping the previous allowlist", "err", err)
				continue
			}
			if err := srv.Do(ctx, srv.Reclassify); err != nil {
				log.Error("reclassify", "err", err)
			}
		}
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Limits.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	cancelRun()
	<-runDone
	wg.Wait()
	return nil
}

// listenDevTCP opens a plaintext loopback listener; config validation has
// already refused non-loopback hosts, and this checks the bound address too.
func listenDevTCP(addr string) (net.Listener, ircd.Listener, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, ircd.Listener{}, fmt.Errorf("listen.dev_tcp %q: %w", addr, err)
	}
	if err := config.CheckLoopbackHost(host); err != nil {
		return nil, ircd.Listener{}, fmt.Errorf("listen.dev_tcp: %w", err)
	}
	// no TCP keep-alive: the IRC PING already detects dead peers, and it
	// saves setsockopt calls on every connection
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, ircd.Listener{}, fmt.Errorf("listen.dev_tcp %q: %w", addr, err)
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		ln.Close()
		return nil, ircd.Listener{}, fmt.Errorf("listen.dev_tcp %q: bound to a non-loopback address", addr)
	}
	port, _ := strconv.Atoi(portStr)
	// the origin of a dev connection is its remote address and port (on
	// loopback, each connection is its own origin for max_per_circuit);
	// new connections are rate-limited per remote IP address
	// (origin_conn_rate), so clients bound to distinct loopback addresses
	// (127.0.0.2, 127.0.0.3, …) are distinct origins there
	origin := func(c net.Conn) string { return c.RemoteAddr().String() }
	return ln, ircd.Listener{Kind: "tcp", Host: strings.ToLower(host), Port: port, Origin: origin, RateOrigin: remoteIP}, nil
}

// remoteIP is the dev TCP listener's rate origin: the remote IP address.
func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return ""
}

// listenUnix opens a unix socket (mode 0660), replacing a stale socket file.
func listenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("unix socket %s is in use by another process", path)
		}
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on unix socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return ln, nil
}

func loadMOTD(cfg *config.Config) ([]string, error) {
	text := cfg.Server.MOTD
	if cfg.Server.MOTDFile != "" {
		b, err := os.ReadFile(cfg.Server.MOTDFile)
		if err != nil {
			return nil, fmt.Errorf("server.motd_file: %w", err)
		}
		if len(b) > 64<<10 {
			return nil, errors.New("server.motd_file: larger than 64 KiB")
		}
		text = string(b)
	}
	text = strings.TrimRight(text, "\n")
	if text == "" {
		return nil, nil
	}
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimRight(l, "\r")
		for len(l) > 400 {
			lines = append(lines, l[:400])
			l = l[400:]
		}
		lines = append(lines, l)
	}
	return lines, nil
}
