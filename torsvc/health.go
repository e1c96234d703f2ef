package torsvc

import (
	"strconv"
	"sync"
	"time"
)

// Health is what the service knows of tor's state, for status and
// metrics. It names no relay, guard or client.
type Health struct {
	// Up is true while the control connection to tor is established
	// (embedded mode: tor is running).
	Up bool
	// Bootstrap is tor's last reported bootstrap progress in percent
	// (-1 before tor reported any).
	Bootstrap int
	// Restarts counts how often tor died (embedded mode) or the control
	// connection was lost (control mode) since Start.
	Restarts int
	// LastUpload is when tor last reported the descriptor uploaded to an
	// HSDir (zero: never since Start).
	LastUpload time.Time
}

// Published reports whether the descriptor was uploaded since Start.
func (h Health) Published() bool { return !h.LastUpload.IsZero() }

// health is the Service's Health, guarded by its own mutex: events update
// it on the reading goroutine, Health reads it from any.
type health struct {
	mu sync.Mutex
	h  Health
}

func (s *Service) healthUpdate(f func(*Health)) {
	s.health.mu.Lock()
	f(&s.health.h)
	s.health.mu.Unlock()
}

// Health returns a copy of the service's current health.
func (s *Service) Health() Health {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	return s.health.h
}

func (s *Service) noteUp() { s.healthUpdate(func(h *Health) { h.Up = true }) }

// noteDown records a dead tor or a lost control connection.
func (s *Service) noteDown() {
	s.healthUpdate(func(h *Health) {
		h.Up = false
		h.Restarts++
	})
}

func (s *Service) noteBootstrap(progress string) {
	if p, err := strconv.Atoi(progress); err == nil && p >= 0 && p <= 100 {
		s.healthUpdate(func(h *Health) { h.Bootstrap = p })
	}
}

func (s *Service) noteUpload() { s.healthUpdate(func(h *Health) { h.LastUpload = time.Now() }) }
