package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/thorchat/thorchat/admin"
	"github.com/thorchat/thorchat/config"
	"github.com/thorchat/thorchat/store"
)

func adminSocket(cfg *config.Config) string { return filepath.Join(cfg.Server.DataDir, "admin.sock") }

// storeSource exposes the open database on the admin socket.
type storeSource struct{ db *store.DB }

func (s storeSource) WriteBackup(w io.Writer) (int64, error) { return s.db.WriteBackup(w) }
func (s storeSource) DumpJSON(w io.Writer) error             { return s.db.Dump(w, store.DumpOptions{}) }

// withDatabase runs req through the running daemon when there is one, and
// otherwise opens the database itself.
func withDatabase(cfg *config.Config, req string, w io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	err := admin.Request(ctx, adminSocket(cfg), req, w)
	if err == nil || !errors.Is(err, admin.ErrNoDaemon) {
		return err
	}
	db, oerr := store.Open(ctx, cfg.Store.Path, store.Options{})
	if errors.Is(oerr, store.ErrLocked) {
		return fmt.Errorf("%s is held by a running thorchatd, and its admin socket %s does not answer: run this as the daemon's user, from the daemon's working directory", cfg.Store.Path, adminSocket(cfg))
	}
	if oerr != nil {
		return oerr
	}
	defer db.Close()
	if req == "BACKUP" {
		_, err = db.WriteBackup(w)
		return err
	}
	return db.Dump(w, store.DumpOptions{})
}

// backup implements `thorchatd backup -config FILE -out PATH`.
func backup(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("thorchatd backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "config.toml", "configuration file")
	out := fs.String("out", "", "where to write the backup (a bbolt file; must not exist unless -force)")
	force := fs.Bool("force", false, "replace -out if it exists")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *out == "" {
		fmt.Fprintln(stderr, "usage: thorchatd backup -config FILE -out PATH [-force]")
		return errUsage
	}
	if _, err := os.Lstat(*out); err == nil && !*force {
		return fmt.Errorf("backup: %s exists; pass -force to replace it", *out)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".backup-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("backup: %w", err)
	}
	if err := withDatabase(cfg, "BACKUP", tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("backup: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("backup: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// check the copy opens as a database before calling it a backup
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, tmp.Name(), store.Options{Verify: store.VerifyFull})
	if err != nil {
		return fmt.Errorf("backup: the copy does not open: %w", err)
	}
	n, _ := db.CountAccounts()
	db.Close()
	if err := placeBackup(tmp.Name(), *out, *force); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	recordBackup(cfg, *out, time.Now(), stderr)
	fmt.Fprintf(stdout, "backup written to %s (%d accounts)\n", *out, n)
	return nil
}

// placeBackup moves the finished copy to out. Without force it links
// instead of renaming, which fails if out appeared meanwhile, so an
// existing file is never replaced.
func placeBackup(tmp, out string, force bool) error {
	if force {
		return os.Rename(tmp, out)
	}
	if err := os.Link(tmp, out); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists; pass -force to replace it", out)
		}
		return err
	}
	return os.Remove(tmp)
}

// dump implements `thorchatd dump -config FILE`: accounts and channels as
// JSON on stdout, for audits.
func dump(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("thorchatd dump", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "config.toml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	return withDatabase(cfg, "DUMP", stdout)
}
