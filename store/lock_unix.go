//go:build unix

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// openShared opens path read-only under a shared flock, waiting up to
// timeout for a writer (a running daemon) to release its exclusive lock.
// bbolt uses flock too, so this conflicts with any read-write bbolt handle,
// in this process or another. Closing the file releases the lock.
func openShared(ctx context.Context, path string, timeout time.Duration) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("store: lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			_ = f.Close()
			return nil, fmt.Errorf("%w (waited %s)", ErrLocked, timeout)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("store: waiting for database lock: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
