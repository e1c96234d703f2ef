package torsvc

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
)

// torOutput receives a tor process's stdout/stderr ("Log notice stdout"),
// forwards each line to slog (err and warn at their level, the rest at debug)
// and keeps the last lines for error messages. Memory is bounded.
type torOutput struct {
	log *slog.Logger

	mu      sync.Mutex
	partial []byte
	ring    [tailLines]string
	next    int
	count   int
}

const (
	tailLines   = 12
	maxLineSize = 4 << 10
)

func newTorOutput(log *slog.Logger) *torOutput { return &torOutput{log: log} }

// Write implements io.Writer for exec.Cmd.
func (o *torOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxLineSize - len(o.partial)
			if len(p) > room {
				o.partial = append(o.partial, p[:room]...)
				o.emit(string(o.partial))
				o.partial = o.partial[:0]
				p = p[room:]
				continue
			}
			o.partial = append(o.partial, p...)
			break
		}
		line := p[:i]
		if len(o.partial)+len(line) > maxLineSize {
			line = line[:max(0, maxLineSize-len(o.partial))]
		}
		o.partial = append(o.partial, line...)
		o.emit(string(o.partial))
		o.partial = o.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

// emit logs one line: "Nov 23 17:45:26.000 [warn] message".
func (o *torOutput) emit(line string) {
	line = strings.TrimRight(line, "\r")
	if line == "" {
		return
	}
	level, msg := "", line
	if i := strings.Index(line, " ["); i >= 0 {
		if j := strings.Index(line[i:], "] "); j > 0 {
			level, msg = line[i+2:i+j], line[i+j+2:]
		}
	}
	o.ring[o.next] = msg
	o.next = (o.next + 1) % tailLines
	o.count++
	switch level {
	case "err":
		o.log.Error("tor says", "msg", msg)
	case "warn":
		o.log.Warn("tor says", "msg", msg)
	default:
		o.log.Debug("tor says", "level", level, "msg", msg)
	}
}

// tail returns the last lines tor printed, oldest first.
func (o *torOutput) tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := min(o.count, tailLines)
	lines := make([]string, 0, n)
	for i := range n {
		lines = append(lines, o.ring[(o.next-n+i+tailLines)%tailLines])
	}
	return strings.Join(lines, " | ")
}
