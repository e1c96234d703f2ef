//go:build !unix

package store

import (
	"context"
	"os"
	"time"
)

// openShared opens path read-only. Without flock the pre-check cannot detect
// a running daemon; bbolt's own lock at open still does.
func openShared(_ context.Context, path string, _ time.Duration) (*os.File, error) {
	return os.Open(path)
}
