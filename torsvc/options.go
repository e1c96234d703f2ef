package torsvc

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Names of tor's per-service hardening options, as reported by Accepted.
const (
	OptIntroDoSDefense        = "HiddenServiceEnableIntroDoSDefense"
	OptIntroDoSRatePerSec     = "HiddenServiceEnableIntroDoSRatePerSec"
	OptIntroDoSBurstPerSec    = "HiddenServiceEnableIntroDoSBurstPerSec"
	OptPoWDefensesEnabled     = "HiddenServicePoWDefensesEnabled"
	OptPoWQueueRate           = "HiddenServicePoWQueueRate"
	OptPoWQueueBurst          = "HiddenServicePoWQueueBurst"
	OptMaxStreams             = "HiddenServiceMaxStreams"
	OptMaxStreamsCloseCircuit = "HiddenServiceMaxStreamsCloseCircuit"
	OptExportCircuitID        = "HiddenServiceExportCircuitID"
)

// option is one torrc hardening line of the service.
type option struct {
	name, value string
	// needs is the option that must be accepted for this one to make sense
	// (rates need their switch).
	needs string
	// module is the tor module the option needs ("" for none).
	module string
}

// hardeningOptions returns the hardening lines cfg asks for, in torrc order.
func hardeningOptions(cfg Config) []option {
	var opts []option
	if cfg.IntroDoSDefense {
		opts = append(opts,
			option{name: OptIntroDoSDefense, value: "1"},
			option{name: OptIntroDoSRatePerSec, value: strconv.Itoa(cfg.IntroDoSRatePerSec), needs: OptIntroDoSDefense},
			option{name: OptIntroDoSBurstPerSec, value: strconv.Itoa(cfg.IntroDoSBurstPerSec), needs: OptIntroDoSDefense})
	}
	if cfg.PoWDefenses {
		opts = append(opts,
			option{name: OptPoWDefensesEnabled, value: "1", module: "pow"},
			option{name: OptPoWQueueRate, value: strconv.Itoa(cfg.PoWQueueRate), needs: OptPoWDefensesEnabled},
			option{name: OptPoWQueueBurst, value: strconv.Itoa(cfg.PoWQueueBurst), needs: OptPoWDefensesEnabled})
	}
	if cfg.MaxStreams > 0 {
		opts = append(opts, option{name: OptMaxStreams, value: strconv.Itoa(cfg.MaxStreams)})
		if cfg.MaxStreamsCloseCircuit {
			opts = append(opts, option{name: OptMaxStreamsCloseCircuit, value: "1", needs: OptMaxStreams})
		}
	}
	if cfg.ExportCircuitID {
		opts = append(opts, option{name: OptExportCircuitID, value: "haproxy"})
	}
	return opts
}

// torSupport is what a tor binary or running tor knows.
type torSupport struct {
	// options are the torrc option names it knows.
	options map[string]bool
	// modules are its compile-time modules; nil when it cannot tell (tor
	// before 0.4.5 has no --list-modules), in which case every module is
	// assumed present.
	modules map[string]bool
}

// filterOptions splits wanted into the options sup accepts and those it
// does not, keeping order.
func filterOptions(wanted []option, sup torSupport) (accepted, rejected []option) {
	ok := map[string]bool{}
	for _, o := range wanted {
		good := sup.options[o.name] &&
			(o.needs == "" || ok[o.needs]) &&
			(o.module == "" || sup.modules == nil || sup.modules[o.module])
		if good {
			ok[o.name] = true
			accepted = append(accepted, o)
		} else {
			rejected = append(rejected, o)
		}
	}
	return accepted, rejected
}

func optionNames(opts []option) []string {
	names := make([]string, len(opts))
	for i, o := range opts {
		names[i] = o.name
	}
	return names
}

// detectBinarySupport asks the tor binary which options and modules it has
// (tor --list-torrc-options, tor --list-modules).
func detectBinarySupport(ctx context.Context, bin string) (torSupport, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--list-torrc-options").Output()
	if err != nil {
		return torSupport{}, configErr("tor.binary", "%s --list-torrc-options: %w", bin, err)
	}
	sup := torSupport{options: parseOptionList(out)}
	if len(sup.options) == 0 {
		return torSupport{}, configErr("tor.binary", "%s --list-torrc-options listed no options; is it tor?", bin)
	}
	if out, err := exec.CommandContext(ctx, bin, "--list-modules").Output(); err == nil {
		sup.modules = parseModules(out)
	}
	return sup, nil
}

// parseOptionList parses one option name per line (tor
// --list-torrc-options), or "Name Type" lines (GETINFO config/names).
func parseOptionList(b []byte) map[string]bool {
	names := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			names[f[0]] = true
		}
	}
	return names
}

// parseModules parses "name: yes|no" lines (tor --list-modules).
func parseModules(b []byte) map[string]bool {
	mods := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if ok {
			mods[strings.TrimSpace(name)] = strings.TrimSpace(val) == "yes"
		}
	}
	if len(mods) == 0 {
		return nil
	}
	return mods
}

// String is for logs and errors.
func (o option) String() string { return fmt.Sprintf("%s %s", o.name, o.value) }
