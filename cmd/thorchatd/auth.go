package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/thorchat/thorchat/accounts"
	"github.com/thorchat/thorchat/config"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/store"
)

// openStore opens the database, creating its directory.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger, commits func(time.Duration)) (*store.DB, error) {
	if err := os.MkdirAll(filepath.Dir(cfg.Store.Path), 0o700); err != nil {
		return nil, fmt.Errorf("store.path: %w", err)
	}
	db, err := store.Open(ctx, cfg.Store.Path, store.Options{Logger: log, CommitObserver: commits})
	if err != nil {
		return nil, fmt.Errorf("store.path %s: %w", cfg.Store.Path, err)
	}
	return db, nil
}

func policyConfig(cfg *config.Config) accounts.PolicyConfig {
	return accounts.PolicyConfig{
		HRP:           cfg.Accounts.HRP,
		OperatorKeys:  cfg.Operators.Keys,
		OperatorsFile: cfg.Operators.File,
		Staff:         cfg.Staff.Accounts,
		Opers:         cfg.Opers.Accounts,
		OperPasswords: cfg.Opers.Passwords,
		OperClasses:   cfg.Opers.OperClasses,
	}
}

// newAccounts returns the host side of the IRC server's seam; obs receives
// the IRC server's counts (metrics).
func newAccounts(cfg *config.Config, db *store.DB, obs ircd.Observer, log *slog.Logger) (*accounts.Service, error) {
	pol, err := accounts.LoadPolicy(policyConfig(cfg))
	if err != nil {
		return nil, err
	}
	log.Info("operator allowlist loaded", "operators", pol.Operators.Len(), "staff", len(pol.Staff), "opers", len(pol.Opers))
	keyCache := cfg.Accounts.KeyCache
	if keyCache == 0 {
		keyCache = -1 // key_cache = 0 turns the cache off
	}
	return accounts.New(accounts.Config{
		HRP:        cfg.Accounts.HRP,
		Store:      db,
		Policy:     pol,
		LoginRate:  cfg.Accounts.LoginRate,
		LoginBurst: cfg.Accounts.LoginBurst,
		KeyCache:   keyCache,
		Reload:     func() (accounts.Policy, error) { return reloadPolicy(cfg.Path, log) },
		// per minute in the configuration, per second here
		CreateRate:   cfg.Accounts.CreateRate / 60,
		CreateBurst:  cfg.Accounts.CreateBurst,
		ExpireUnused: cfg.Accounts.ExpireUnused.Duration,
		OperRate:     cfg.Opers.OperRate / 60,
		OperBurst:    cfg.Opers.OperBurst,
		OperSlots:    cfg.Opers.OperSlots,
		Observer:     obs,
		Logger:       log,
		History: accounts.HistoryConfig{
			Enabled:       cfg.History.Enabled,
			Expire:        cfg.History.Expire.Duration,
			PrivateExpire: cfg.History.PrivateExpire.Duration,
			MaxPerTarget:  cfg.History.MaxPerTarget,
		},
	})
}

// reloadPolicy re-reads the configuration's operators/staff/opers and the
// allowlist file (SIGHUP, REHASH). Other settings need a restart.
func reloadPolicy(path string, log *slog.Logger) (accounts.Policy, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return accounts.Policy{}, err
	}
	pol, err := accounts.LoadPolicy(policyConfig(cfg))
	if err != nil {
		return accounts.Policy{}, err
	}
	log.Info("operator allowlist reloaded", "operators", pol.Operators.Len(), "staff", len(pol.Staff), "opers", len(pol.Opers))
	return pol, nil
}
