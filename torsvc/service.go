package torsvc

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cretz/bine/control"
)

// Back-off between restarts of the embedded tor and reconnections to a
// control port.
const (
	minBackoff = time.Second
	maxBackoff = 30 * time.Second
)

// Service is a published onion service. Its methods are safe for concurrent
// use.
type Service struct {
	cfg       Config
	log       *slog.Logger
	key       *onionKey
	id        string
	published chan struct{}
	pubOnce   sync.Once
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex
	accepted  []string
	exportCID bool
	pid       int

	health health

	// used only by the goroutine that reads events
	lastProgress string
	uploads      int
}

// Start publishes the onion service: in embedded mode it starts tor, in
// control mode it attaches to the tor at cfg.Control. It returns once tor
// accepted the service configuration, without waiting for bootstrap or for
// the descriptor upload (see Published). The service runs until Close is
// called or ctx is done; meanwhile a dead embedded tor is restarted and a
// lost control connection re-established, each with back-off.
//
// Bad settings give a *ConfigError naming the configuration key (tor.mode,
// tor.binary, tor.extra_torrc, tor.control, ...). log may be nil.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	key, err := loadOrCreateKey(cfg.KeyDir)
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg:       cfg,
		key:       key,
		id:        key.serviceID(),
		published: make(chan struct{}),
		done:      make(chan struct{}),
	}
	s.health.h.Bootstrap = -1
	s.log = log.With("component", "tor", "onion", s.OnionAddress())
	runCtx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	switch cfg.Mode {
	case ModeEmbedded:
		err = s.startEmbedded(runCtx)
	case ModeControl:
		err = s.startControl(runCtx)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	return s, nil
}

// OnionAddress returns the service's address, "xxxx.onion".
func (s *Service) OnionAddress() string { return s.id + ".onion" }

// Published returns a channel closed when tor first reported the descriptor
// uploaded to an HSDir (HS_DESC UPLOADED). Later uploads, after a restart
// for instance, are only logged.
func (s *Service) Published() <-chan struct{} { return s.published }

// Accepted returns the hardening options (tor option names, see the Opt
// constants) the tor in use applies to this service.
func (s *Service) Accepted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.accepted...)
}

// ExportsCircuitID reports whether tor writes a PROXY protocol v1 line before
// each stream (HiddenServiceExportCircuitID haproxy), which the daemon must
// then read with proxyproto.ReadHeader. Only embedded mode can set it; in control
// mode it is false.
func (s *Service) ExportsCircuitID() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exportCID
}

// TorPID returns the process id of the embedded tor, or 0 in control mode or
// while tor is being restarted. For tests and diagnostics.
func (s *Service) TorPID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pid
}

func (s *Service) setPID(pid int) {
	s.mu.Lock()
	s.pid = pid
	s.mu.Unlock()
}

func (s *Service) setAccepted(opts []option) {
	names := optionNames(opts)
	export := false
	for _, n := range names {
		if n == OptExportCircuitID {
			export = true
		}
	}
	s.mu.Lock()
	s.accepted, s.exportCID = names, export
	s.mu.Unlock()
}

// Close unpublishes the service: it stops the embedded tor, or closes the
// control connection (which removes the ephemeral service). The key and the
// caller's unix listener are left alone. It is safe to call more than once.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		<-s.done
	})
	return nil
}

// handleEvent logs bootstrap progress and descriptor uploads. It runs on the
// goroutine that reads the control connection.
func (s *Service) handleEvent(code control.EventCode, data string) {
	switch code {
	case control.EventCodeStatusClient:
		kv, pos := parseKeyVals(data)
		if len(pos) < 2 {
			return
		}
		if pos[1] == "BOOTSTRAP" {
			s.logBootstrap(pos[0], kv)
		} else {
			s.log.Debug("tor client status", "action", pos[1])
		}
	case control.EventCodeHSDesc:
		ev := control.ParseHSDescEvent(data)
		if ev.Address != s.id {
			return
		}
		switch ev.Action {
		case "UPLOADED":
			s.noteUpload()
			s.uploads++
			if s.uploads == 1 {
				s.log.Info("onion service descriptor published", "tor_pid", s.TorPID())
			} else {
				s.log.Debug("onion service descriptor uploaded", "uploads", s.uploads)
			}
			s.pubOnce.Do(func() { close(s.published) })
		case "FAILED":
			s.log.Warn("onion service descriptor upload failed", "reason", ev.Reason)
		}
	}
}

// logBootstrap logs a BOOTSTRAP status once per progress value. It leaves
// out HOSTADDR and HOSTID (the guard a warning is about).
func (s *Service) logBootstrap(severity string, kv map[string]string) {
	progress := kv["PROGRESS"]
	s.noteBootstrap(progress)
	if severity == "WARN" || severity == "ERR" {
		s.log.Warn("tor bootstrap problem", "progress", progress, "warning", kv["WARNING"],
			"reason", kv["REASON"], "recommendation", kv["RECOMMENDATION"])
		return
	}
	if progress == s.lastProgress {
		return
	}
	s.lastProgress = progress
	s.log.Info("tor bootstrap", "progress", progress+"%", "phase", kv["TAG"], "summary", kv["SUMMARY"])
}

// beginSession resets per-connection state, logs the current bootstrap
// phase and subscribes to events.
func (s *Service) beginSession(sess *session) error {
	s.lastProgress, s.uploads = "", 0
	s.noteUp()
	if v, err := sess.getInfo("status/bootstrap-phase"); err == nil {
		s.handleEvent(control.EventCodeStatusClient, v)
	}
	return sess.subscribe()
}

// sleepCtx waits for d or until ctx is done; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func nextBackoff(d time.Duration) time.Duration { return min(2*d, maxBackoff) }

// logOptions logs which hardening options tor applies.
func (s *Service) logOptions(version string, accepted, rejected []option) {
	s.log.Info("onion service hardening", "tor_version", version,
		"accepted", optionNames(accepted), "not_supported", optionNames(rejected))
	for _, o := range rejected {
		s.log.Warn("hardening option not applied: the tor in use does not support it here", "option", o.name)
	}
}

func (s *Service) String() string { return fmt.Sprintf("onion service %s", s.OnionAddress()) }
