// Command thorchat-load is ThorChat's load generator. It runs in its own
// process against a running daemon on a loopback address and reports,
// for the server process, memory per idle registered client, registrations
// per second, channel fan-out throughput and latency, and (scenario
// flood, against a daemon with its default throttling) the latency of
// well-behaved clients while others flood, and (scenario login, against
// a daemon with its account store and a raised login_rate) SASL logins
// per second with real secp256k1 signatures, and (scenario history, with
// daemons it starts itself) fan-out with history off and on, stored
// messages per second, CHATHISTORY LATEST latency, the size per stored
// message and the start-up time with the store filled.
//
//	taskset -c 0 bin/thorchatd -config bench.toml &
//	taskset -c 1 thorchat-load -addr 127.0.0.1:16667 -server-pid $! -scenario all
//
// It prints a human-readable summary and, as its last line, the same
// figures as one JSON object. See docs/performance.md.
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
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/thorchat/thorchat/loadtest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	addr          string
	serverPID     int
	scenario      string
	clients       int
	settle        time.Duration
	registrations int
	concurrency   int
	members       int
	inflight      int
	messages      int
	duration      time.Duration
	pad           int
	timeout       time.Duration
	keepIdle      bool
	strict        bool
	jsonPath      string
	verbose       bool
	calm          int
	calmInterval  time.Duration
	noiseMembers  int
	flooders      int
	reconnect     bool
	pacers        int
	paceRate      float64
	paceBurst     int
	paceStagger   bool
	rounds        int
	phase         time.Duration
	accounts      int
	logins        int
	loginHost     string
	unix          string
	loginClient   string
	websocket     bool
	daemon        string
	configOff     string
	configOn      string
	dataDir       string
	logDir        string
	senders       int
	storeWindow   int
	fill          int
	storeDuration time.Duration
	queries       int
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("thorchat-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:16667", "server address (loopback only)")
	fs.IntVar(&o.serverPID, "server-pid", 0, "PID of the server process, for VmRSS (0: no memory figures)")
	fs.StringVar(&o.scenario, "scenario", "all", "idle, register, fanout, all (those three), flood (needs a throttling server), login (needs a raised login_rate) or history (runs its own daemons: -daemon, -config-off, -config-on, -data-dir)")
	fs.IntVar(&o.clients, "clients", 5000, "idle: registered idle clients")
	fs.BoolVar(&o.websocket, "ws", false, "idle: the clients speak IRC over WebSocket to -addr's /ws (the daemon's [web] dev_tcp)")
	fs.DurationVar(&o.settle, "settle", 5*time.Second, "idle: wait before reading the server's RSS (read again 2s later)")
	fs.IntVar(&o.registrations, "registrations", 20000, "register: total registrations")
	fs.IntVar(&o.concurrency, "concurrency", 100, "register: connections registering at once (login: default 64)")
	fs.IntVar(&o.members, "members", 500, "fanout: receiving channel members")
	fs.IntVar(&o.inflight, "inflight", 50, "fanout: messages not yet received by every member, at most")
	fs.IntVar(&o.messages, "messages", 20000, "fanout: messages to send at most")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "fanout: stop sending after this long")
	fs.DurationVar(&o.phase, "phase", 10*time.Second, "flood: length of each phase")
	fs.IntVar(&o.pad, "pad", 40, "fanout, flood: filler bytes in each message text (0..400)")
	fs.IntVar(&o.calm, "calm", 100, "flood: well-behaved sender/receiver pairs, a channel each")
	fs.DurationVar(&o.calmInterval, "calm-interval", time.Second, "flood: each calm sender sends one message this often")
	fs.IntVar(&o.noiseMembers, "noise-members", 5, "flood: plain members of the flooded channel")
	fs.IntVar(&o.flooders, "flooders", 1, "flood: clients writing PRIVMSGs as fast as their sockets take them (0: none)")
	fs.BoolVar(&o.reconnect, "reconnect", true, "flood: a disconnected flooder connects again at once")
	fs.IntVar(&o.pacers, "pacers", 100, "flood: clients sending at exactly the throttle's allowance in a third phase (0: none)")
	fs.Float64Var(&o.paceRate, "pace-rate", 2, "flood: the server's [flood] rate, the pacers' pace")
	fs.IntVar(&o.paceBurst, "pace-burst", 10, "flood: the server's [flood] burst, the pacers' first write")
	fs.IntVar(&o.accounts, "accounts", 2000, "login: accounts (keys), each created by a first login")
	fs.IntVar(&o.logins, "logins", 20000, "login: returning-account logins measured")
	fs.StringVar(&o.loginHost, "login-host", "", "login: the host the server's listener is configured with (default: the host of -addr)")
	fs.StringVar(&o.unix, "unix", "", "login: log in over this unix socket (the daemon's [listen] unix, the way tor's connections arrive) instead of -addr; -login-host must then be the server name")
	fs.StringVar(&o.loginClient, "login-client", "", "login: epoll (one goroutine, non-blocking sockets: the cheapest load; the default on Linux) or net (a goroutine and net.Conn per connection)")
	fs.IntVar(&o.rounds, "rounds", 3, "flood: repeat the phases this often (1..20), so the baseline rounds show the noise")
	fs.BoolVar(&o.paceStagger, "pace-stagger", false, "flood: spread the pacers' sends evenly (default: all at the same instants)")
	fs.StringVar(&o.daemon, "daemon", "", "history: the daemon's command line without -config, split at spaces (e.g. \"taskset -c 0 bin/thorchatd\"); the tool starts and stops it")
	fs.StringVar(&o.configOff, "config-off", "", "history: daemon configuration with [history] enabled = false, listening on -addr")
	fs.StringVar(&o.configOn, "config-on", "", "history: daemon configuration with [history] enabled = true, listening on -addr, with an empty data_dir")
	fs.StringVar(&o.dataDir, "data-dir", "", "history: -config-on's data_dir (its size is reported)")
	fs.StringVar(&o.logDir, "log-dir", "", "history: where the daemons' logs go (default: the directory of -config-on)")
	fs.IntVar(&o.senders, "senders", 50, "history: store senders, each pipelining into its own channel")
	fs.IntVar(&o.storeWindow, "store-window", 100, "history: messages a store sender has not seen echoed, at most")
	fs.IntVar(&o.fill, "fill", 1000000, "history: messages the store senders send in all (they also fill the store)")
	fs.DurationVar(&o.storeDuration, "store-duration", 90*time.Second, "history: stop the store senders after this long")
	fs.IntVar(&o.queries, "queries", 1000, "history: CHATHISTORY LATEST requests timed")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Minute, "hard limit for the whole run")
	fs.BoolVar(&o.keepIdle, "keep-idle", false, "all: keep the idle clients connected during register and fanout")
	fs.BoolVar(&o.strict, "strict", false, "exit 4 when a target is missed")
	fs.StringVar(&o.jsonPath, "json", "", "also write the JSON report to this file")
	fs.BoolVar(&o.verbose, "v", false, "log progress to stderr")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch o.scenario {
	case "idle", "register", "fanout", "all", "flood", "login", "history":
	default:
		return o, fmt.Errorf("-scenario %q: want idle, register, fanout, all, flood or login, or history", o.scenario)
	}
	if o.scenario == "history" {
		if strings.TrimSpace(o.daemon) == "" || o.configOff == "" || o.configOn == "" || o.dataDir == "" {
			return o, errors.New("-scenario history needs -daemon, -config-off, -config-on and -data-dir")
		}
		if o.serverPID != 0 {
			return o, errors.New("-scenario history runs its own daemons: no -server-pid")
		}
		if o.logDir == "" {
			o.logDir = filepath.Dir(o.configOn)
		}
	} else if o.daemon != "" || o.configOff != "" || o.configOn != "" || o.dataDir != "" {
		return o, errors.New("-daemon, -config-off, -config-on and -data-dir are for -scenario history")
	}
	if o.scenario == "login" {
		concurrencySet := false
		fs.Visit(func(f *flag.Flag) { concurrencySet = concurrencySet || f.Name == "concurrency" })
		if !concurrencySet {
			o.concurrency = 64
		}
	}
	if o.websocket && o.scenario != "idle" {
		return o, errors.New("-ws is for -scenario idle")
	}
	if o.unix != "" && (o.scenario != "login" || o.loginHost == "") {
		return o, errors.New("-unix is for -scenario login, with -login-host set to the server name")
	}
	if err := loadtest.CheckLoopback(o.addr); err != nil {
		return o, fmt.Errorf("-addr: %w", err)
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"clients", o.clients}, {"registrations", o.registrations}, {"concurrency", o.concurrency},
		{"members", o.members}, {"inflight", o.inflight}, {"messages", o.messages},
		{"calm", o.calm}, {"noise-members", o.noiseMembers},
		{"accounts", o.accounts}, {"logins", o.logins},
		{"senders", o.senders}, {"store-window", o.storeWindow}, {"fill", o.fill}, {"queries", o.queries}} {
		if v.n <= 0 || v.n > 1_000_000 {
			return o, fmt.Errorf("-%s %d: want 1..1000000", v.name, v.n)
		}
	}
	if o.timeout <= 0 || o.duration <= 0 || o.settle < 0 || o.storeDuration <= 0 {
		return o, errors.New("-timeout, -duration and -store-duration must be positive, -settle not negative")
	}
	if o.rounds < 1 || o.rounds > 20 {
		return o, fmt.Errorf("-rounds %d: want 1..20", o.rounds)
	}
	if o.calmInterval <= 0 || o.phase <= 0 || o.pacers < 0 || o.flooders < 0 || o.paceRate <= 0 || o.paceBurst <= 0 {
		return o, errors.New("-calm-interval, -phase, -pace-rate and -pace-burst must be positive, -pacers and -flooders not negative")
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "thorchat-load:", err)
		}
		return 2
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	// The hard limit: the context ends every scenario; the watchdog ends the
	// process should anything ignore it.
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	watchdog := time.AfterFunc(o.timeout+15*time.Second, func() {
		fmt.Fprintln(stderr, "thorchat-load: hard timeout; exiting")
		os.Exit(3)
	})
	defer watchdog.Stop()

	want := func(s string) bool { return o.scenario == s || o.scenario == "all" }
	need := uint64(o.concurrency + o.members + 256)
	if want("idle") {
		need += uint64(o.clients)
	}
	if o.scenario == "history" {
		need += uint64(o.senders)
	}
	if o.scenario == "flood" {
		need += uint64(o.calm + o.noiseMembers + o.flooders + o.pacers)
	}
	if _, err := loadtest.RaiseNoFile(need); err != nil {
		fmt.Fprintln(stderr, "thorchat-load:", err)
		return 1
	}

	rep := loadtest.NewReport(o.addr, runtime.GOMAXPROCS(0))
	if o.serverPID > 0 {
		rep.ServerCPUs, _ = loadtest.ReadCPUsAllowed(o.serverPID)
	}
	failed := false
	note := func(err error) {
		failed = true
		rep.Errors = append(rep.Errors, err.Error())
		log.Error("scenario failed", "err", err)
	}
	if want("idle") {
		cpu := loadtest.StartCPU(o.serverPID)
		res, held, err := loadtest.Idle(ctx, loadtest.IdleConfig{
			Addr: o.addr, ServerPID: o.serverPID, Clients: o.clients, Settle: o.settle, Logger: log,
			WebSocket: o.websocket,
		})
		rep.Idle = &res
		rep.CPU["idle"] = cpu.Stop()
		if err != nil {
			note(err)
		} else if o.keepIdle && o.scenario == "all" {
			defer held.Close()
		} else {
			held.Close()
		}
	}
	if want("register") && ctx.Err() == nil {
		res, err := loadtest.Register(ctx, loadtest.RegisterConfig{
			Addr: o.addr, Registrations: o.registrations, Concurrency: o.concurrency,
			ServerPID: o.serverPID, Logger: log,
		})
		rep.Register = &res
		rep.CPU["register"] = res.CPU
		if err != nil {
			note(err)
		}
	}
	if want("fanout") && ctx.Err() == nil {
		res, err := loadtest.Fanout(ctx, loadtest.FanoutConfig{
			Addr: o.addr, Members: o.members, Inflight: o.inflight, Messages: o.messages,
			Duration: o.duration, Pad: o.pad, ServerPID: o.serverPID, Logger: log,
		})
		rep.Fanout = &res
		rep.CPU["fanout"] = res.CPU
		if err != nil {
			note(err)
		}
	}
	if o.scenario == "flood" && ctx.Err() == nil {
		res, err := loadtest.Flood(ctx, loadtest.FloodConfig{
			Addr: o.addr, Phase: o.phase, Calm: o.calm, CalmInterval: o.calmInterval,
			NoiseMembers: o.noiseMembers, Flooders: o.flooders, Reconnect: o.reconnect,
			Pacers: o.pacers, PaceRate: o.paceRate, PaceBurst: o.paceBurst, PaceStagger: o.paceStagger, Rounds: o.rounds, Pad: o.pad,
			ServerPID: o.serverPID, Logger: log,
		})
		rep.Flood = &res
		if err != nil {
			note(err)
		}
	}
	if o.scenario == "login" && ctx.Err() == nil {
		res, err := loadtest.Login(ctx, loadtest.LoginConfig{
			Addr: o.addr, Unix: o.unix, Client: o.loginClient, Host: o.loginHost, Accounts: o.accounts, Logins: o.logins,
			Concurrency: o.concurrency, ServerPID: o.serverPID, Logger: log,
		})
		rep.Login = &res
		rep.CPU["login"] = res.Returning.CPU
		if err != nil {
			note(err)
		}
	}
	if o.scenario == "history" && ctx.Err() == nil {
		res, err := loadtest.History(ctx, loadtest.HistoryConfig{
			Addr: o.addr, Daemon: strings.Fields(o.daemon), ConfigOff: o.configOff, ConfigOn: o.configOn,
			DataDir: o.dataDir, LogDir: o.logDir,
			Fanout: loadtest.FanoutConfig{
				Addr: o.addr, Members: o.members, Inflight: o.inflight, Messages: o.messages,
				Duration: o.duration, Pad: o.pad, Logger: log,
			},
			Store: loadtest.StoreConfig{
				Addr: o.addr, Senders: o.senders, Window: o.storeWindow, Messages: o.fill,
				Duration: o.storeDuration, Pad: o.pad, Logger: log,
			},
			Latest: loadtest.LatestConfig{Addr: o.addr, Queries: o.queries, Logger: log},
			Logger: log,
		})
		rep.History = &res
		if err != nil {
			note(err)
		}
	}
	if ctx.Err() != nil && !failed {
		note(fmt.Errorf("stopped: %w", ctx.Err()))
	}
	rep.Judge()
	rep.WriteText(stdout)
	if err := rep.WriteJSON(stdout); err != nil {
		fmt.Fprintln(stderr, "thorchat-load:", err)
		return 1
	}
	if o.jsonPath != "" {
		f, err := os.Create(o.jsonPath)
		if err == nil {
			err = rep.WriteJSON(f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintln(stderr, "thorchat-load:", err)
			return 1
		}
	}
	switch {
	case failed:
		return 1
	case o.strict:
		for _, ok := range rep.Pass {
			if !ok {
				return 4
			}
		}
	}
	return 0
}
