package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Status is the daemon's answer to a STATUS request: a summary for
// operators, without identities. Problems lists why the daemon is
// unhealthy; empty means healthy.
type Status struct {
	Version   string        `json:"version"`
	Started   time.Time     `json:"started"`
	Clients   []ClientCount `json:"clients"`
	Channels  int           `json:"channels"`
	Tor       TorStatus     `json:"tor"`
	Store     StoreStatus   `json:"store"`
	Backup    time.Time     `json:"last_backup"` // zero: none recorded
	BackupTo  string        `json:"last_backup_path,omitempty"`
	Problems  []string      `json:"problems"`
	CheckedAt time.Time     `json:"checked_at"`
}

// ClientCount is how many clients of a kind are connected over a
// transport.
type ClientCount struct {
	Kind      string `json:"kind"`
	Transport string `json:"transport"`
	N         int    `json:"n"`
}

// TorStatus is the onion service's state.
type TorStatus struct {
	Enabled    bool      `json:"enabled"`
	Mode       string    `json:"mode,omitempty"`
	Onion      string    `json:"onion,omitempty"`
	Up         bool      `json:"up"`
	Bootstrap  int       `json:"bootstrap_percent"`
	Restarts   int       `json:"restarts"`
	LastUpload time.Time `json:"last_descriptor_upload"` // zero: none since start
}

// StoreStatus is the database's state.
type StoreStatus struct {
	Path      string `json:"path"`
	SizeBytes int64  `json:"size_bytes"`
	Accounts  int    `json:"accounts"`
	Error     string `json:"error,omitempty"`
}

// Healthy reports whether no problem was found.
func (s Status) Healthy() bool { return len(s.Problems) == 0 }

// RequestStatus asks the daemon at path for its Status.
func RequestStatus(ctx context.Context, path string) (Status, error) {
	var buf bytes.Buffer
	if err := Request(ctx, path, "STATUS", &limitedWriter{w: &buf, n: 1 << 20}); err != nil {
		return Status{}, err
	}
	var st Status
	if err := json.Unmarshal(buf.Bytes(), &st); err != nil {
		return Status{}, fmt.Errorf("admin status: %w", err)
	}
	return st, nil
}

// limitedWriter fails past n bytes.
type limitedWriter struct {
	w *bytes.Buffer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.w.Len()+len(p) > l.n {
		return 0, fmt.Errorf("answer longer than %d bytes", l.n)
	}
	return l.w.Write(p)
}
