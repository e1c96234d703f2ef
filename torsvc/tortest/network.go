package tortest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options configures Start. The zero value is a usable default.
type Options struct {
	// Dir is the parent of the network's directory (default os.TempDir()).
	// Keep it short: unix socket paths under it must fit in 108 bytes.
	Dir string
	// Authorities is the number of directory authorities (default 3).
	Authorities int
	// Relays is the number of extra non-exit relays (default 4). Onion
	// services need about five relays in all.
	Relays int
	// Tor and TorGencert are the executables (default "tor", "tor-gencert").
	Tor, TorGencert string
	// Progress receives one line per step and status change (nil: discard).
	Progress io.Writer
}

// Network is a running private Tor network on 127.0.0.1.
type Network struct {
	// Dir holds every node's DataDirectory and logs; it is kept after Close.
	Dir string
	// SOCKSAddr is the client's SOCKS5 port (with ExtendedErrors), usable
	// once Wait returned.
	SOCKSAddr string
	// ControlAddr is the client's control port (cookie authentication,
	// cookie file ControlCookie).
	ControlAddr   string
	ControlCookie string
	// TorrcSnippet is the path of a file holding the torrc lines another tor
	// needs to join this network.
	TorrcSnippet string
	// Client is the client tor behind SOCKSAddr and ControlAddr.
	Client *Tor

	opts        Options
	auths       []*Tor
	relays      []*Tor
	mu          sync.Mutex
	extra       []*Tor
	progress    io.Writer
	netEnabled  bool
	startedAt   time.Time
	closeOnce   sync.Once
	closeErr    error
	progressMux sync.Mutex
}

func (o Options) withDefaults() Options {
	if o.Dir == "" {
		o.Dir = os.TempDir()
	}
	if o.Authorities <= 0 {
		o.Authorities = 3
	}
	if o.Relays < 0 {
		o.Relays = 0
	} else if o.Relays == 0 {
		o.Relays = 4
	}
	if o.Tor == "" {
		o.Tor = "tor"
	}
	if o.TorGencert == "" {
		o.TorGencert = "tor-gencert"
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return o
}

// Start creates keys for the authorities and starts every node of a new
// network in a fresh directory under opts.Dir. It returns once the processes
// run; call Wait before starting tors that join the network. On error,
// everything already started is stopped.
func Start(ctx context.Context, opts Options) (*Network, error) {
	opts = opts.withDefaults()
	if opts.Authorities > 9 || opts.Relays > 20 {
		return nil, fmt.Errorf("tortest: at most 9 authorities and 20 relays")
	}
	dir, err := os.MkdirTemp(opts.Dir, "tn")
	if err != nil {
		return nil, fmt.Errorf("tortest: create network dir: %w", err)
	}
	n := &Network{Dir: dir, opts: opts, progress: opts.Progress, startedAt: time.Now()}
	if err := n.start(ctx); err != nil {
		_ = n.Close()
		return nil, fmt.Errorf("tortest: %w (logs in %s)", err, dir)
	}
	return n, nil
}

func (n *Network) logf(format string, args ...any) {
	n.progressMux.Lock()
	defer n.progressMux.Unlock()
	fmt.Fprintf(n.progress, "tortest: [%4.1fs] %s\n", time.Since(n.startedAt).Seconds(), fmt.Sprintf(format, args...))
}

func (n *Network) start(ctx context.Context) error {
	o := n.opts
	// two ports per authority (OR, Dir), one per relay (OR), one SOCKS port
	ports, err := reservePorts(2*o.Authorities + o.Relays + 1)
	if err != nil {
		return err
	}
	defer ports.release()

	auths := make([]authority, o.Authorities)
	errs := make([]error, o.Authorities)
	var wg sync.WaitGroup
	for i := range auths {
		auths[i] = authority{
			name:    fmt.Sprintf("auth%d", i),
			orPort:  ports.port(2 * i),
			dirPort: ports.port(2*i + 1),
		}
		auths[i].dir = filepath.Join(n.Dir, auths[i].name)
		wg.Go(func() { errs[i] = auths[i].makeKeys(ctx, o.Tor, o.TorGencert) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	n.logf("keys for %d authorities created", len(auths))

	n.TorrcSnippet = filepath.Join(n.Dir, "snippet.torrc")
	if err := os.WriteFile(n.TorrcSnippet, []byte(snippet(auths)), 0o600); err != nil {
		return fmt.Errorf("write torrc snippet: %w", err)
	}

	for i, a := range auths {
		t, err := n.newNode(a.name, nodeAuthority, torrcNode{orPort: a.orPort, dirPort: a.dirPort})
		if err != nil {
			return err
		}
		ports.releaseOne(2 * i)
		ports.releaseOne(2*i + 1)
		if err := t.start(); err != nil {
			return err
		}
		n.auths = append(n.auths, t)
	}
	for i := range o.Relays {
		idx := 2*o.Authorities + i
		t, err := n.newNode(fmt.Sprintf("relay%d", i), nodeRelay, torrcNode{orPort: ports.port(idx)})
		if err != nil {
			return err
		}
		ports.releaseOne(idx)
		if err := t.start(); err != nil {
			return err
		}
		n.relays = append(n.relays, t)
	}
	socksIdx := 2*o.Authorities + o.Relays
	socks := ports.port(socksIdx)
	client, err := n.newNode("client", nodeClient, torrcNode{socksPort: socks})
	if err != nil {
		return err
	}
	ports.releaseOne(socksIdx)
	if err := client.start(); err != nil {
		return err
	}
	n.Client = client
	n.SOCKSAddr = fmt.Sprintf("127.0.0.1:%d", socks)
	n.ControlCookie = filepath.Join(client.Dir, "control_auth_cookie")

	addr, err := n.readControlPortFile(ctx, client)
	if err != nil {
		return err
	}
	n.ControlAddr = addr
	n.logf("started %d tor processes; client SOCKS %s, control %s", len(n.auths)+len(n.relays)+1, n.SOCKSAddr, n.ControlAddr)
	return nil
}

// readControlPortFile waits (bounded) for the client to write its control
// port file.
func (n *Network) readControlPortFile(ctx context.Context, client *Tor) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	path := filepath.Join(client.Dir, "control.port")
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(path); err == nil {
			s := strings.TrimSpace(string(b))
			if addr, ok := strings.CutPrefix(s, "PORT="); ok && strings.HasPrefix(addr, "127.0.0.1:") {
				return addr, nil
			}
		}
		select {
		case <-client.Exited():
			return "", fmt.Errorf("client tor exited at start: %v (see %s)", client.exitError(), client.Dir)
		case <-ctx.Done():
			return "", fmt.Errorf("client control port file: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// all returns every process of the network, extra tors included.
func (n *Network) all() []*Tor {
	n.mu.Lock()
	defer n.mu.Unlock()
	var ts []*Tor
	ts = append(ts, n.auths...)
	ts = append(ts, n.relays...)
	if n.Client != nil {
		ts = append(ts, n.Client)
	}
	return append(ts, n.extra...)
}

// Close stops exactly the processes this network started (the nodes and the
// tors from StartTor), SIGTERM first and SIGKILL after a few seconds. The
// directory and logs are kept. It is safe to call more than once.
func (n *Network) Close() error {
	n.closeOnce.Do(func() {
		var wg sync.WaitGroup
		ts := n.all()
		errs := make([]error, len(ts))
		for i, t := range ts {
			wg.Go(func() { errs[i] = t.Stop() })
		}
		wg.Wait()
		n.closeErr = errors.Join(errs...)
		n.logf("stopped %d tor processes; logs kept in %s", len(ts), n.Dir)
	})
	return n.closeErr
}
