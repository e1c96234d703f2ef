package torsvc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

func (s *Service) startControl(ctx context.Context) error {
	network, addr, err := parseControlAddr(s.cfg.Control)
	if err != nil {
		return err
	}
	sess, err := dialSession(ctx, network, addr, s.cfg.ControlPassword)
	if err != nil {
		return &ConfigError{Key: "tor.control", Err: err}
	}
	if err := s.publishControl(sess); err != nil {
		sess.close()
		return err
	}
	go s.superviseControl(ctx, network, addr, sess)
	return nil
}

// publishControl subscribes to events and publishes the service with
// ADD_ONION and the stored key. The service lives as long as this control
// connection (no Detach flag).
func (s *Service) publishControl(sess *session) error {
	version, _ := sess.getInfo("version")
	names, err := sess.getInfo("config/names")
	if err != nil {
		return fmt.Errorf("tor control: %w", err)
	}
	if err := s.beginSession(sess); err != nil {
		return fmt.Errorf("tor control: %w", err)
	}
	// ADD_ONION knows MaxStreams, MaxStreamsCloseCircuit and the PoW
	// settings (tor 0.4.8+); the intro DoS defense and the circuit ID export
	// exist only as torrc options of a HiddenServiceDir service.
	sup := torSupport{options: map[string]bool{
		OptMaxStreams: true, OptMaxStreamsCloseCircuit: true,
	}}
	known := parseOptionList([]byte(names))
	for _, o := range []string{OptPoWDefensesEnabled, OptPoWQueueRate, OptPoWQueueBurst} {
		sup.options[o] = known[o]
	}
	accepted, rejected := filterOptions(hardeningOptions(s.cfg), sup)
	resp, err := sess.request("%s", addOnionCommand(s.key, s.cfg, accepted))
	if err != nil && hasOption(accepted, OptPoWDefensesEnabled) && strings.Contains(err.Error(), "PoW") {
		// a tor that lists the option but whose ADD_ONION lacks the keywords
		var pow []option
		accepted, pow = splitOptions(accepted, OptPoWDefensesEnabled, OptPoWQueueRate, OptPoWQueueBurst)
		rejected = append(rejected, pow...)
		resp, err = sess.request("%s", addOnionCommand(s.key, s.cfg, accepted))
	}
	if err != nil {
		return &ConfigError{Key: "tor.control", Err: fmt.Errorf("ADD_ONION refused: %w", err)}
	}
	got := ""
	for _, d := range resp.Data {
		if v, ok := strings.CutPrefix(d, "ServiceID="); ok {
			got = v
		}
	}
	if got != s.id {
		return fmt.Errorf("tor control: ADD_ONION published %q, want %q", got, s.id)
	}
	s.setAccepted(accepted)
	s.logOptions(strings.TrimSpace(version), accepted, rejected)
	s.log.Info("onion service added through tor control")
	return nil
}

// addOnionCommand returns the ADD_ONION command line. It contains the key:
// never log it.
func addOnionCommand(k *onionKey, cfg Config, opts []option) string {
	var b strings.Builder
	b.WriteString("ADD_ONION ED25519-V3:" + k.addOnionBlob())
	var flags []string
	for _, o := range opts {
		switch o.name {
		case OptMaxStreams:
			b.WriteString(" MaxStreams=" + o.value)
		case OptMaxStreamsCloseCircuit:
			flags = append(flags, "MaxStreamsCloseCircuit")
		case OptPoWDefensesEnabled:
			b.WriteString(" PoWDefensesEnabled=1")
		case OptPoWQueueRate:
			b.WriteString(" PoWQueueRate=" + o.value)
		case OptPoWQueueBurst:
			b.WriteString(" PoWQueueBurst=" + o.value)
		}
	}
	if len(flags) > 0 {
		b.WriteString(" Flags=" + strings.Join(flags, ","))
	}
	b.WriteString(" Port=" + strconv.Itoa(cfg.VirtualPort) + ",unix:" + cfg.Target)
	for _, pm := range cfg.ExtraPorts {
		b.WriteString(" Port=" + strconv.Itoa(pm.Port) + ",unix:" + pm.Target)
	}
	return b.String()
}

func hasOption(opts []option, name string) bool {
	for _, o := range opts {
		if o.name == name {
			return true
		}
	}
	return false
}

// splitOptions removes the named options from opts and returns them apart.
func splitOptions(opts []option, names ...string) (kept, removed []option) {
	for _, o := range opts {
		found := false
		for _, n := range names {
			found = found || o.name == n
		}
		if found {
			removed = append(removed, o)
		} else {
			kept = append(kept, o)
		}
	}
	return kept, removed
}

// superviseControl follows tor's events and, when the control connection
// drops, reconnects and re-publishes with back-off until ctx is done.
func (s *Service) superviseControl(ctx context.Context, network, addr string, sess *session) {
	defer close(s.done)
	for {
		err := sess.readEvents(ctx, s.handleEvent)
		sess.close() // removes the ephemeral service if tor is still there
		if ctx.Err() != nil {
			s.log.Info("onion service removed: control connection closed")
			return
		}
		s.noteDown()
		delay := minBackoff
		s.log.Error("tor control connection lost; reconnecting", "err", err.Error(), "retry_in", delay.String())
		for {
			if !sleepCtx(ctx, delay) {
				return
			}
			delay = nextBackoff(delay)
			sess, err = dialSession(ctx, network, addr, s.cfg.ControlPassword)
			if err == nil {
				if err = s.publishControl(sess); err == nil {
					break
				}
				sess.close()
			}
			if ctx.Err() != nil {
				return
			}
			var ce *ConfigError
			if errors.As(err, &ce) {
				s.log.Error("re-publishing through tor control failed", "err", err.Error(), "retry_in", delay.String())
			} else {
				s.log.Warn("reconnect to tor control failed", "err", err.Error(), "retry_in", delay.String())
			}
		}
		s.log.Info("reconnected to tor control and re-published")
	}
}
