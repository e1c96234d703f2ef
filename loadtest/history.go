package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"
)

// HistoryConfig configures the history scenario, which runs daemons of
// its own, one after the other, on the same address:
//
//  1. with ConfigOff (history off): the fan-out scenario;
//  2. with ConfigOn (history on, an empty DataDir): the fan-out scenario
//     again, then the store scenario (which also fills the store), then
//     CHATHISTORY LATEST; then it is stopped, DataDir's size is read, and
//     it is started once more to time the start-up with what is stored.
type HistoryConfig struct {
	Addr string
	// Daemon is the daemon's command line without -config (e.g.
	// taskset -c 0 bin/thorchatd); -config FILE is appended.
	Daemon              []string
	ConfigOff, ConfigOn string
	// DataDir is ConfigOn's [server] data_dir, measured after the run.
	DataDir string
	// LogDir receives the daemons' logs (daemon-off.log, daemon-on.log).
	LogDir string
	// StartBudget bounds each daemon start (default 60 s).
	StartBudget time.Duration
	Fanout      FanoutConfig
	Store       StoreConfig
	Latest      LatestConfig
	Logger      *slog.Logger
}

// HistoryResult is the outcome of the history scenario.
type HistoryResult struct {
	FanoutOff *FanoutResult `json:"fanout_history_off,omitempty"`
	FanoutOn  *FanoutResult `json:"fanout_history_on,omitempty"`
	Store     *StoreResult  `json:"store,omitempty"`
	Latest    *LatestResult `json:"chathistory_latest,omitempty"`
	// Stored is what the history-on daemon stored: the fan-out's and the
	// store scenario's messages (the JOINs of the scenarios, a few
	// hundred events, are in the file too and not counted).
	Stored int64 `json:"messages_stored"`
	// DataBytes is the size of the data directory after the run
	// (the bbolt file); BytesPerMessage = DataBytes / Stored.
	DataBytes       int64   `json:"data_bytes"`
	BytesPerMessage float64 `json:"bytes_per_message"`
	// StartupEmpty is the history-on daemon's first start (empty store),
	// Startup its start with everything stored.
	StartupEmpty *StartupResult `json:"startup_empty,omitempty"`
	Startup      *StartupResult `json:"startup_filled,omitempty"`
}

// History runs the history scenario (see HistoryConfig). Every daemon it
// starts is stopped before it returns.
func History(ctx context.Context, cfg HistoryConfig) (HistoryResult, error) {
	var res HistoryResult
	if len(cfg.Daemon) == 0 || cfg.ConfigOff == "" || cfg.ConfigOn == "" || cfg.DataDir == "" || cfg.LogDir == "" {
		return res, errors.New("history: the daemon command, both configurations, the data and log directories are needed")
	}
	if cfg.StartBudget <= 0 {
		cfg.StartBudget = 60 * time.Second
	}
	log := orDiscard(cfg.Logger)
	start := func(config, logName string) (*Daemon, error) {
		argv := append(append([]string{}, cfg.Daemon...), "-config", config)
		return StartDaemon(ctx, argv, filepath.Join(cfg.LogDir, logName), cfg.Addr, cfg.StartBudget)
	}
	stop := func(d *Daemon, err error) error {
		if serr := d.Stop(15 * time.Second); serr != nil && err == nil {
			err = serr
		}
		return err
	}

	// 1. history off
	d, err := start(cfg.ConfigOff, "daemon-off.log")
	if err != nil {
		return res, fmt.Errorf("history off: %w", err)
	}
	fo := cfg.Fanout
	fo.ServerPID = d.PID()
	off, err := Fanout(ctx, fo)
	res.FanoutOff = &off
	if err = stop(d, err); err != nil {
		return res, fmt.Errorf("history off: %w", err)
	}
	log.Info("fan-out with history off done", "deliveries_per_second", off.DeliveriesPerSecond)

	// 2. history on
	if d, err = start(cfg.ConfigOn, "daemon-on.log"); err != nil {
		return res, fmt.Errorf("history on: %w", err)
	}
	res.StartupEmpty = &d.Startup
	on, st, lt, err := historyOn(ctx, cfg, d.PID())
	res.FanoutOn, res.Store, res.Latest = on, st, lt
	if on != nil {
		res.Stored += int64(on.Sent)
	}
	if st != nil {
		res.Stored += st.Acked
	}
	if err = stop(d, err); err != nil {
		return res, fmt.Errorf("history on: %w", err)
	}
	if res.DataBytes, err = DirBytes(cfg.DataDir); err != nil {
		return res, err
	}
	if res.Stored > 0 {
		res.BytesPerMessage = float64(res.DataBytes) / float64(res.Stored)
	}

	// 3. start-up with what is stored
	if d, err = start(cfg.ConfigOn, "daemon-on.log"); err != nil {
		return res, fmt.Errorf("history on, restart: %w", err)
	}
	res.Startup = &d.Startup
	log.Info("start-up with history", "stored", res.Stored, "registered_seconds", d.Startup.RegisteredSeconds)
	if err := stop(d, nil); err != nil {
		return res, fmt.Errorf("history on, restart: %w", err)
	}
	return res, nil
}

// historyOn runs the fan-out, store and CHATHISTORY scenarios against the
// history-on daemon.
func historyOn(ctx context.Context, cfg HistoryConfig, pid int) (*FanoutResult, *StoreResult, *LatestResult, error) {
	fo := cfg.Fanout
	fo.ServerPID = pid
	on, err := Fanout(ctx, fo)
	if err != nil {
		return &on, nil, nil, fmt.Errorf("fan-out: %w", err)
	}
	sc := cfg.Store
	sc.ServerPID = pid
	st, err := Store(ctx, sc)
	if err != nil {
		return &on, &st, nil, err
	}
	lc := cfg.Latest
	if lc.Channel == "" {
		ch := sc.Channel
		if ch == "" {
			ch = "#store"
		}
		lc.Channel = ch + "0"
	}
	lt, err := Latest(ctx, lc)
	return &on, &st, &lt, err
}
