package torsvc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thorchat/thorchat/proxyproto"
	"github.com/thorchat/thorchat/torsvc/tortest"
)

// One private network serves every e2e test of the package: it takes about
// 50 s to come up.
var shared struct {
	once  sync.Once
	net   *tortest.Network
	err   error
	ready time.Duration
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.net != nil {
		if err := shared.net.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "closing the tor network:", err)
			code = 1
		}
		if code == 0 && os.Getenv("THORCHAT_KEEP_TORNET") == "" {
			os.RemoveAll(shared.net.Dir)
		} else {
			fmt.Fprintln(os.Stderr, "tor network logs kept in", shared.net.Dir)
		}
	}
	os.Exit(code)
}

// progressWriter shows the network's progress only with go test -v.
type progressWriter struct{}

func (progressWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		return os.Stderr.Write(p)
	}
	return len(p), nil
}

// network returns the shared private network, starting it on first use.
func network(t *testing.T) *tortest.Network {
	t.Helper()
	tortest.Require(t)
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		start := time.Now()
		n, err := tortest.Start(ctx, tortest.Options{Progress: progressWriter{}})
		if err == nil {
			shared.net = n
			err = n.Wait(ctx)
		}
		shared.err, shared.ready = err, time.Since(start)
		if err == nil {
			fmt.Fprintf(os.Stderr, "TIMING network up+ready: %.1fs\n", shared.ready.Seconds())
		}
	})
	if shared.err != nil {
		t.Fatalf("private tor network: %v", shared.err)
	}
	return shared.net
}

// shortDir returns a fresh short directory (unix socket paths must stay
// under 108 bytes, which t.TempDir() does not guarantee).
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ts")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(dir)
		} else {
			t.Logf("kept %s for inspection", dir)
		}
	})
	return dir
}

// testLogger logs to the test's output at info level (debug with -v).
func testLogger(t *testing.T) *slog.Logger {
	level := slog.LevelInfo
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: level}))
}

// echoServer is a line echo server on a unix socket, standing in for the
// daemon. With proxy set it first reads the PROXY line tor sends.
type echoServer struct {
	ln    net.Listener
	proxy bool
	mu    sync.Mutex
	ids   []uint32
	errs  []error
	wg    sync.WaitGroup
}

func startEcho(t *testing.T, path string, proxy bool) *echoServer {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{ln: ln, proxy: proxy}
	e.wg.Go(e.serve)
	t.Cleanup(func() {
		ln.Close()
		e.wg.Wait()
	})
	return e
}

func (e *echoServer) serve() {
	for {
		c, err := e.ln.Accept()
		if err != nil {
			return
		}
		e.wg.Go(func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(time.Minute))
			br := bufio.NewReader(c)
			if e.proxy {
				id, err := proxyproto.ReadHeader(br)
				e.mu.Lock()
				e.ids, e.errs = append(e.ids, id), append(e.errs, err)
				e.mu.Unlock()
				if err != nil {
					return
				}
			}
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if _, err := io.WriteString(c, "echo: "+line); err != nil {
					return
				}
			}
		})
	}
}

// proxyResults returns the circuit IDs and errors of every stream so far.
func (e *echoServer) proxyResults() ([]uint32, []error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]uint32(nil), e.ids...), append([]error(nil), e.errs...)
}

// reach connects to addr through the network's SOCKS port until a line
// echoes back or ctx ends; it returns how long that took. After a failed
// attempt it sends NEWNYM to the client tor, which drops the client's cached
// descriptor and intro point state: a client holding the descriptor of a
// service instance that was killed can otherwise keep waiting on dead intro
// points for minutes, which is client-side behaviour this test does not
// measure.
func reach(ctx context.Context, t *testing.T, n *tortest.Network, addr string) (time.Duration, error) {
	t.Helper()
	d, err := Dialer(n.SOCKSAddr)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	var last error
	for attempt := 1; ; attempt++ {
		if last = echoOnce(ctx, d, addr, attempt); last == nil {
			return time.Since(start), nil
		}
		if testing.Verbose() {
			t.Logf("attempt %d at %.1fs: %v", attempt, time.Since(start).Seconds(), last)
		}
		if err := newnym(ctx, n); err != nil {
			t.Logf("NEWNYM: %v", err)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%s not reachable after %.0fs: %w", addr, time.Since(start).Seconds(), last)
		case <-time.After(time.Second):
		}
	}
}

// newnym sends SIGNAL NEWNYM to the network's client tor.
func newnym(ctx context.Context, n *tortest.Network) error {
	sess, err := dialSession(ctx, "tcp", n.ControlAddr, "")
	if err != nil {
		return err
	}
	defer sess.close()
	_, err = sess.request("SIGNAL NEWNYM")
	return err
}

func echoOnce(ctx context.Context, d interface {
	DialContext(context.Context, string, string) (net.Conn, error)
}, addr string, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	msg := fmt.Sprintf("hello onion %d\n", n)
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read echo: %w", err)
	}
	if got != "echo: "+msg {
		return fmt.Errorf("echo: got %q, want %q", got, "echo: "+msg)
	}
	return nil
}

// sockPath returns dir/name, checked to fit a unix socket.
func sockPath(t *testing.T, dir, name string) string {
	p := filepath.Join(dir, name)
	if len(p) >= 100 || strings.ContainsAny(p, " ") {
		t.Fatalf("socket path unusable: %q", p)
	}
	return p
}
