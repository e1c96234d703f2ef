// Command thorchat-demo runs ThorChat on a private Tor network on this
// machine, for trying it with a stock IRC client.
//
//	make demo
//	go run ./cmd/thorchat-demo -thorchatd bin/thorchatd
//
// It starts a private Tor network on 127.0.0.1 (package torsvc/tortest: three
// directory authorities, four relays and a client, nothing contacts the
// public Tor network), starts thorchatd with only its onion listener and its
// embedded tor joined to that network, waits until the onion answers IRC
// through the network's SOCKS port, and prints the lines that connect
// weechat (SOCKS5 proxy) and irssi (torsocks, to an address the network's
// client tor maps to the onion) to it, and the chromium command that opens
// the browser client (port 80 of the onion) through it. Ctrl-C stops thorchatd
// and the network (only the processes it started) and removes the
// temporary directories unless -keep is given. See docs/tor.md.
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
	"syscall"
	"time"

	"github.com/thorchat/thorchat/torsvc/tortest"
)

// Bounds of the demo's waits.
const (
	networkTimeout = 4 * time.Minute
	publishTimeout = 3 * time.Minute
	reachTimeout   = 2 * time.Minute
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command-line flags.
type options struct {
	thorchatd string
	dir       string
	nick      string
	keep      bool
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("thorchat-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.thorchatd, "thorchatd", "bin/thorchatd", "the thorchatd binary to run")
	fs.StringVar(&o.dir, "dir", os.TempDir(), "parent of the demo's temporary directories (keep it short: unix socket paths)")
	fs.StringVar(&o.nick, "nick", "guest", "nick in the printed irssi command line")
	fs.BoolVar(&o.keep, "keep", false, "keep the network's and the daemon's directories (logs) after exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := demo(ctx, o, stdout, stderr, log); err != nil {
		log.Error("demo failed", "err", err)
		return 1
	}
	return 0
}

// dropTime removes the time from the demo's own log lines.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// demo brings everything up, prints the instructions, waits for ctx (Ctrl-C)
// or the daemon's exit, and tears everything down.
func demo(ctx context.Context, o options, stdout, stderr io.Writer, log *slog.Logger) (err error) {
	if missing := tortest.Missing(); missing != "" {
		return fmt.Errorf("%s is not installed: apt-get install -y tor", missing)
	}
	bin, err := filepath.Abs(o.thorchatd)
	if err != nil {
		return fmt.Errorf("-thorchatd: %w", err)
	}
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("-thorchatd %s: not an executable (run make build first)", o.thorchatd)
	}

	log.Info("starting a private Tor network on 127.0.0.1 (about a minute)")
	start := time.Now()
	nctx, cancel := context.WithTimeout(ctx, networkTimeout)
	defer cancel()
	n, err := tortest.Start(nctx, tortest.Options{Dir: o.dir, Progress: stderr})
	if err != nil {
		return fmt.Errorf("private tor network: %w", err)
	}
	defer func() {
		if cerr := n.Close(); cerr != nil {
			log.Warn("stopping the tor network", "err", cerr)
		}
		cleanup(log, o.keep || err != nil, "tor network", n.Dir)
	}()
	if err := n.Wait(nctx); err != nil {
		return fmt.Errorf("private tor network not ready (logs in %s): %w", n.Dir, err)
	}
	log.Info("tor network ready", "took", time.Since(start).Round(100*time.Millisecond).String(), "socks", n.SOCKSAddr)

	dir, err := os.MkdirTemp(o.dir, "tcd")
	if err != nil {
		return fmt.Errorf("daemon directory: %w", err)
	}
	defer func() { cleanup(log, o.keep || err != nil, "daemon", dir) }()
	d, err := prepareDaemon(ctx, bin, dir, n.TorrcSnippet)
	if err != nil {
		return err
	}
	log.Info("starting thorchatd", "onion", d.onion, "log", d.logPath)
	if err := d.start(); err != nil {
		return err
	}
	defer func() {
		if serr := d.stop(); serr != nil {
			log.Warn("stopping thorchatd", "err", serr)
			if err == nil {
				err = serr
			}
		}
	}()
	if err := d.waitPublished(ctx, publishTimeout); err != nil {
		return err
	}
	log.Info("onion descriptor published; checking that it answers IRC through the network's SOCKS port")
	took, err := reach(ctx, n.SOCKSAddr, d.onion, reachTimeout)
	if err != nil {
		return fmt.Errorf("%w; thorchatd log: %s", err, d.logPath)
	}
	log.Info("onion reachable", "after", took.Round(100*time.Millisecond).String(), "total", time.Since(start).Round(100*time.Millisecond).String())

	if err := mapAddress(ctx, n.ControlAddr, irssiAddr, d.onion); err != nil {
		return err
	}
	torsocksConf := filepath.Join(dir, "torsocks.conf")
	if err := writeTorsocksConf(torsocksConf, n.SOCKSAddr); err != nil {
		return err
	}
	printInstructions(stdout, instructions{
		Onion: d.onion, Port: onionPort, WebPort: webPort, SOCKS: n.SOCKSAddr, IrssiAddr: irssiAddr,
		TorsocksConf: torsocksConf, Nick: o.nick, DaemonLog: d.logPath,
	})

	select {
	case <-ctx.Done():
		log.Info("stopping thorchatd and the tor network")
		return nil
	case <-d.exited:
		return fmt.Errorf("thorchatd exited (%v); log: %s", d.waitErr, d.logPath)
	}
}

// cleanup removes a temporary directory, or says where it was kept.
func cleanup(log *slog.Logger, keep bool, what, dir string) {
	if keep {
		log.Info("kept "+what+" directory", "dir", dir)
		return
	}
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Warn("remove "+what+" directory", "dir", dir, "err", err)
	}
}
