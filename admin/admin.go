// Package admin is the daemon's local control socket: a unix socket in the
// data directory, mode 0600 from the moment it exists and answering only
// peers that run as the daemon's user (SO_PEERCRED), through which offline
// tools ask the running daemon for what only it can do while it holds the
// database lock — a consistent hot backup and a JSON dump.
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
	"sync"
	"time"
)

// Source is what the daemon exposes: its open database and its status.
type Source interface {
	WriteBackup(w io.Writer) (int64, error)
	DumpJSON(w io.Writer) error
	Status(ctx context.Context) Status
}

// Listen opens the admin socket at path (mode 0600), replacing a stale
// socket file; it fails when another daemon answers there.
func Listen(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("admin socket %s is in use by another daemon", path)
		}
		os.Remove(path)
	}
	ln, err := listenPrivate(path)
	if err != nil {
		return nil, err
	}
	return &removingListener{UnixListener: ln, path: path}, nil
}

// removingListener removes the socket file when it is closed: the socket
// was bound under another name and renamed into place, so the listener's
// own unlink-on-close does not apply.
type removingListener struct {
	*net.UnixListener
	path string
	once sync.Once
}

// Close stops the listener and removes its socket file.
func (l *removingListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() { os.Remove(l.path) })
	return err
}

// Serve accepts admin requests on ln (from Listen) until ctx ends, then
// closes it.
func Serve(ctx context.Context, ln net.Listener, src Source, log *slog.Logger) error {
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
	// only the daemon's own user, whatever the file modes say (the request
	// line is read first so that the refusal reaches the client)
	if ok, err := samePeerUser(conn); !ok {
		log.Warn("admin socket: refused a connection from another user", "err", err)
		io.WriteString(w, "ERR permission denied: not the daemon's user\n")
		return
	}
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
