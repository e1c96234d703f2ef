package e2e

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/thorchat/thorchat/torsvc/tortest"
)

// sharedTor is the private Tor network the package's onion tests share.
//
// Why package-level state: starting a network (keys for 3 authorities, 8
// tors, a first consensus) takes 40-60 s on a loaded 2-core machine
// (docs/tor.md), most of the budget of an onion test, and a network holds
// no per-test state a test could break: each test runs its own daemon (its
// own embedded tor joins the network) and its own clients. So the first
// test that asks starts it, under once; later ones reuse it; TestMain
// closes it after every test ran, the only place that outlives the tests.
// Nothing writes it outside once and closeSharedTorNetwork.
var sharedTor struct {
	once sync.Once
	n    *tortest.Network
	err  error
	took time.Duration
}

// sharedTorNetwork returns the package's private Tor network, starting it
// on first use (bounded by networkBudget). The test skips without tor
// (fails with THORCHAT_REQUIRE_TOR=1); a network that failed to start
// fails every test that asks for it.
func sharedTorNetwork(t *testing.T) *tortest.Network {
	t.Helper()
	tortest.Require(t)
	first := false
	sharedTor.once.Do(func() {
		first = true
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), networkBudget)
		defer cancel()
		n, err := tortest.Start(ctx, tortest.Options{Progress: verboseStderr{}})
		if err == nil {
			if err = n.Wait(ctx); err != nil {
				_ = n.Close()
				fmt.Fprintf(os.Stderr, "e2e: private tor network logs kept in %s\n", n.Dir)
			}
		}
		if err != nil {
			sharedTor.err = fmt.Errorf("private tor network: %w", err)
			return
		}
		sharedTor.n, sharedTor.took = n, time.Since(start)
	})
	if sharedTor.err != nil {
		t.Fatal(sharedTor.err)
	}
	if first {
		t.Logf("TIMING shared tor network up and ready: %.1fs", sharedTor.took.Seconds())
	} else {
		t.Logf("reusing the shared tor network (started in %.1fs)", sharedTor.took.Seconds())
	}
	return sharedTor.n
}

// closeSharedTorNetwork stops the shared network if a test started it, and
// removes its directory unless tests failed or THORCHAT_KEEP_TORNET is set.
// TestMain calls it once, after m.Run.
func closeSharedTorNetwork(failed bool) {
	n := sharedTor.n
	if n == nil {
		return
	}
	if err := n.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: closing the shared tor network: %v\n", err)
	}
	if failed || os.Getenv(keepNetEnv) != "" {
		fmt.Fprintf(os.Stderr, "e2e: shared tor network logs kept in %s\n", n.Dir)
		return
	}
	_ = os.RemoveAll(n.Dir)
}
