// Package admin is the daemon's local control socket: a unix socket (mode
// 0600, in the data directory) through which offline tools ask the running
// daemon for what only it can do while it holds the database lock — a
// consistent hot backup and a JSON dump.
//
// The protocol is one request line per connection, "BACKUP", "DUMP" or
// "STATUS" (JSON of Status); the answer is "OK\n" followed by the bytes
// until the daemon closes the connection, or "ERR reason\n".
package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"
)

// Source is what the daemon exposes: its open database and its status.
type Source interface {
	WriteBackup(w io.Writer) (int64, error)
	DumpJSON(w io.Writer) error
	Status(ctx context.Context) Status
}

// Serve accepts admin requests on the unix socket at path until ctx ends.
func Serve(ctx context.Context, path string, src Source, log *slog.Logger) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
			c.Close()
			return fmt.Errorf("admin socket %s is in use by another daemon", path)
		}
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	// the data directory is 0700 already; the socket itself is owner-only too
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("admin socket: %w", err)
	}
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("admin socket: %w", err)
		}
		go handle(conn, src, log)
	}
}

func handle(conn net.Conn, src Source, log *slog.Logger) {
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReaderSize(io.LimitReader(conn, 64), 64)
	line, err := r.ReadString('\n')
	if err != nil {
		return
	}
	conn.SetReadDeadline(time.Time{})
	conn.SetWriteDeadline(time.Now().Add(10 * time.Minute))
	w := bufio.NewWriterSize(conn, 64<<10)
	defer w.Flush()
	switch strings.TrimSpace(line) {
	case "BACKUP":
		io.WriteString(w, "OK\n")
		n, err := src.WriteBackup(w)
		if err != nil {
			log.Error("admin backup failed", "err", err)
			return
		}
		log.Info("admin backup written", "bytes", n)
	case "DUMP":
		io.WriteString(w, "OK\n")
		if err := src.DumpJSON(w); err != nil {
			log.Error("admin dump failed", "err", err)
		}
	case "STATUS":
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st := src.Status(ctx)
		cancel()
		b, err := json.Marshal(st)
		if err != nil {
			io.WriteString(w, "ERR "+err.Error()+"\n")
			return
		}
		io.WriteString(w, "OK\n")
		w.Write(b)
	default:
		io.WriteString(w, "ERR unknown request\n")
	}
}

// ErrNoDaemon means no daemon answers on the admin socket.
var ErrNoDaemon = errors.New("no running daemon answers on the admin socket")

// Request sends req ("BACKUP" or "DUMP") to the daemon at path and copies
// the answer to w.
func Request(ctx context.Context, path, req string, w io.Writer) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("%w (%s): %v", ErrNoDaemon, path, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, req+"\n"); err != nil {
		return fmt.Errorf("admin request: %w", err)
	}
	r := bufio.NewReader(conn)
	status, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("admin request: no answer: %w", err)
	}
	if status != "OK\n" {
		return fmt.Errorf("daemon refused: %s", strings.TrimSpace(status))
	}
	if _, err := io.Copy(w, r); err != nil {
		return fmt.Errorf("admin request: %w", err)
	}
	return nil
}
