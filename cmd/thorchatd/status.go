package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/thorchat/thorchat/admin"
	"github.com/thorchat/thorchat/config"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/store"
)

// descriptorLifetime is how long a v3 onion descriptor stays valid; tor
// uploads a new one well before it expires.
const descriptorLifetime = 3 * time.Hour

// backupStamp is the file in the data directory that records the last
// backup `thorchatd backup` wrote: its time and path.
func backupStamp(cfg *config.Config) string { return filepath.Join(cfg.Server.DataDir, "last-backup") }

// recordBackup writes the backup stamp; a failure is only reported.
func recordBackup(cfg *config.Config, out string, now time.Time, stderr io.Writer) {
	line := now.UTC().Format(time.RFC3339) + " " + out + "\n"
	if err := os.WriteFile(backupStamp(cfg), []byte(line), 0o600); err != nil {
		fmt.Fprintln(stderr, "thorchatd: backup written, but recording it for status failed:", err)
	}
}

func readBackupStamp(cfg *config.Config) (time.Time, string) {
	b, err := os.ReadFile(backupStamp(cfg))
	if err != nil || len(b) > 4096 {
		return time.Time{}, ""
	}
	ts, path, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return time.Time{}, ""
	}
	return t, path
}

// daemonSource is what the admin socket exposes: the database (backup,
// dump) and the daemon's status. The server and the onion service are set
// once they run.
type daemonSource struct {
	storeSource
	cfg     *config.Config
	started time.Time
	srv     atomic.Pointer[ircd.Server]
	onion   atomic.Pointer[onionService]
}

// Status implements admin.Source: the summary and what is wrong.
func (d *daemonSource) Status(ctx context.Context) admin.Status {
	now := time.Now()
	st := admin.Status{Version: version, Started: d.started, CheckedAt: now, Problems: []string{}}
	if srv := d.srv.Load(); srv != nil {
		snap, err := srv.Snapshot(ctx)
		if err != nil {
			st.Problems = append(st.Problems, "IRC server does not answer: "+err.Error())
		}
		for _, c := range snap.Clients {
			st.Clients = append(st.Clients, admin.ClientCount{Kind: c.Kind, Transport: c.Transport, N: c.N})
		}
		sort.Slice(st.Clients, func(i, j int) bool {
			a, b := st.Clients[i], st.Clients[j]
			return a.Kind < b.Kind || a.Kind == b.Kind && a.Transport < b.Transport
		})
		st.Channels = snap.Channels
	} else {
		st.Problems = append(st.Problems, "IRC server not started yet")
	}
	st.Store.Path = d.cfg.Store.Path
	if fi, err := os.Stat(d.cfg.Store.Path); err == nil {
		st.Store.SizeBytes = fi.Size()
	}
	if n, err := d.db.CountAccounts(); err != nil {
		st.Store.Error = err.Error()
		st.Problems = append(st.Problems, "store: "+err.Error())
	} else {
		st.Store.Accounts = n
	}
	st.Backup, st.BackupTo = readBackupStamp(d.cfg)
	if d.cfg.Listen.Onion {
		st.Tor.Enabled, st.Tor.Mode = true, d.cfg.Tor.Mode
		on := d.onion.Load()
		if on == nil {
			st.Problems = append(st.Problems, "tor: the onion service is not started")
			return st
		}
		h := on.svc.Health()
		st.Tor.Onion, st.Tor.Up, st.Tor.Bootstrap, st.Tor.Restarts, st.Tor.LastUpload =
			on.svc.OnionAddress(), h.Up, h.Bootstrap, h.Restarts, h.LastUpload
		grace := d.cfg.Metrics.DescriptorGrace.Duration
		switch {
		case !h.Up:
			st.Problems = append(st.Problems, "tor is down (restarting or its control connection is lost)")
		case !h.Published() && now.Sub(d.started) > grace:
			st.Problems = append(st.Problems, fmt.Sprintf("onion descriptor not published %s after the start", now.Sub(d.started).Round(time.Second)))
		case h.Published() && now.Sub(h.LastUpload) > descriptorLifetime+grace:
			st.Problems = append(st.Problems, fmt.Sprintf("onion descriptor not re-published for %s", now.Sub(h.LastUpload).Round(time.Second)))
		}
	}
	return st
}

// status implements `thorchatd status -config FILE`: the running daemon's
// summary; the exit status is 1 when it is unhealthy or does not answer.
func status(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("thorchatd status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "config.toml", "configuration file")
	timeout := fs.Duration("timeout", 15*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	st, err := admin.RequestStatus(ctx, adminSocket(cfg))
	if err != nil {
		if errors.Is(err, admin.ErrNoDaemon) {
			return fmt.Errorf("UNHEALTHY: %w", err)
		}
		return fmt.Errorf("UNHEALTHY: status: %w", err)
	}
	printStatus(stdout, st)
	if !st.Healthy() {
		return errUnhealthy
	}
	return nil
}

// errUnhealthy ends status with exit code 1 after the summary was printed.
var errUnhealthy = errors.New("the daemon is unhealthy")

func printStatus(w io.Writer, st admin.Status) {
	state := "healthy"
	if !st.Healthy() {
		state = "UNHEALTHY"
	}
	fmt.Fprintf(w, "thorchatd %s: %s\n", st.Version, state)
	for _, p := range st.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	fmt.Fprintf(w, "uptime    %s (since %s)\n", st.CheckedAt.Sub(st.Started).Round(time.Second), st.Started.UTC().Format(time.RFC3339))
	total := 0
	var parts []string
	for _, c := range st.Clients {
		total += c.N
		parts = append(parts, fmt.Sprintf("%s/%s %d", c.Kind, c.Transport, c.N))
	}
	fmt.Fprintf(w, "clients   %d", total)
	if len(parts) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "\nchannels  %d\n", st.Channels)
	if st.Tor.Enabled {
		up := "down"
		if st.Tor.Up {
			up = "up"
		}
		pub := "not published since start"
		if !st.Tor.LastUpload.IsZero() {
			pub = "published " + st.CheckedAt.Sub(st.Tor.LastUpload).Round(time.Second).String() + " ago"
		}
		fmt.Fprintf(w, "tor       %s (%s mode), bootstrap %d%%, %d restarts\n", up, st.Tor.Mode, st.Tor.Bootstrap, st.Tor.Restarts)
		fmt.Fprintf(w, "onion     %s, descriptor %s\n", st.Tor.Onion, pub)
	} else {
		fmt.Fprintln(w, "tor       off (listen.onion = false)")
	}
	fmt.Fprintf(w, "store     %s, %d bytes, %d accounts\n", st.Store.Path, st.Store.SizeBytes, st.Store.Accounts)
	if st.Backup.IsZero() {
		fmt.Fprintln(w, "backup    none recorded")
	} else {
		fmt.Fprintf(w, "backup    %s ago (%s)\n", st.CheckedAt.Sub(st.Backup).Round(time.Second), st.BackupTo)
	}
}

// storeSize stats the database file, for metrics.
func storeSize(path string) func() (int64, error) {
	return func() (int64, error) {
		fi, err := os.Stat(path)
		if err != nil {
			return 0, err
		}
		return fi.Size(), nil
	}
}

// historyTotal is the number of messages history holds, all targets
// together (from the per-target counts, not a scan of the messages).
func historyTotal(db *store.DB) (int64, error) {
	counts, err := db.HistoryCounts()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, c := range counts {
		n += c.Messages
	}
	return n, nil
}

var _ admin.Source = (*daemonSource)(nil)
