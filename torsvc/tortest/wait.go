package tortest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Wait blocks until every authority's consensus lists every relay, then turns
// on the client's network and blocks until the client sees every relay as an
// HSDir and is bootstrapped 100%. Bound it with ctx (about 50 s is typical on
// two cores; give it 3 minutes). It fails at once when a node exits.
func (n *Network) Wait(ctx context.Context) error {
	c, err := n.dialClient(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	total := len(n.auths) + len(n.relays)
	clientConsensus := filepath.Join(n.Client.Dir, "cached-microdesc-consensus")
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		for _, t := range n.all() {
			select {
			case <-t.Exited():
				return fmt.Errorf("tortest: %s exited: %v (see %s)", t.Name, t.exitError(), filepath.Join(t.Dir, "notice.log"))
			default:
			}
		}
		full, listed := 0, 0
		for _, a := range n.auths {
			k := countLines(filepath.Join(a.Dir, "cached-microdesc-consensus"), "r ")
			listed = max(listed, k)
			if k >= total {
				full++
			}
		}
		if full == len(n.auths) && !n.netEnabled {
			if err := c.setConf("DisableNetwork", "0"); err != nil {
				return fmt.Errorf("tortest: enable client network: %w", err)
			}
			n.netEnabled = true
			n.logf("full consensus published; client network enabled")
		}
		hsdirs := countLines(clientConsensus, "s ", "HSDir")
		progress, boot := "0", "client network off until then"
		if n.netEnabled {
			v, err := c.getInfo("status/bootstrap-phase")
			if err != nil {
				return fmt.Errorf("tortest: %w", err)
			}
			var summary string
			progress, summary = bootstrapPhase(v)
			boot = fmt.Sprintf("client bootstrapped %s%% (%s)", progress, summary)
		}
		now := fmt.Sprintf("consensus lists %d/%d relays (%d/%d authorities complete); client sees %d/%d HSDirs; %s",
			listed, total, full, len(n.auths), hsdirs, total, boot)
		if now != last {
			n.logf("%s", now)
			last = now
		}
		if full == len(n.auths) && hsdirs >= total && progress == "100" {
			n.logf("ready")
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("tortest: network not ready (%s): %w; client log tail:\n%s",
				now, ctx.Err(), tail(filepath.Join(n.Client.Dir, "notice.log"), 15))
		case <-tick.C:
		}
	}
}

// dialClient connects to the client's control port, retrying while the
// client is still starting (a loaded machine can keep tor busy for seconds).
func (n *Network) dialClient(ctx context.Context) (*ctl, error) {
	for {
		c, err := dialControl(ctx, "tcp", n.ControlAddr)
		if err == nil {
			return c, nil
		}
		select {
		case <-n.Client.Exited():
			return nil, fmt.Errorf("tortest: client exited: %v (see %s)", n.Client.exitError(), n.Client.Dir)
		case <-ctx.Done():
			return nil, fmt.Errorf("tortest: client control port: %w (last: %v)", ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// tail returns the last n lines of a file (bounded read of its last 8 KiB).
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const maxRead = 8 << 10
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-maxRead, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var (
	progressRE = regexp.MustCompile(`\bPROGRESS=([0-9]{1,3})\b`)
	summaryRE  = regexp.MustCompile(`\bSUMMARY="((?:[^"\\]|\\.)*)"`)
)

// bootstrapPhase extracts PROGRESS and SUMMARY from a GETINFO
// status/bootstrap-phase value.
func bootstrapPhase(v string) (progress, summary string) {
	if m := progressRE.FindStringSubmatch(v); m != nil {
		progress = m[1]
	}
	if m := summaryRE.FindStringSubmatch(v); m != nil {
		summary = m[1]
	}
	return progress, summary
}
