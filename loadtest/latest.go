package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// LatestConfig configures the CHATHISTORY scenario: one client with
// draft/chathistory and batch joins Channel and sends Queries requests
// "CHATHISTORY LATEST <Channel> * <Limit>" one after the other, each timed
// from its write to the end of its chathistory batch.
type LatestConfig struct {
	Addr     string
	Channel  string // default "#store0", a channel the store scenario filled
	Queries  int
	Limit    int // messages asked for (default 100)
	NickBase string
	Logger   *slog.Logger
}

// LatestResult reports the latency of CHATHISTORY LATEST.
type LatestResult struct {
	Channel string `json:"channel"`
	Queries int    `json:"queries"`
	Limit   int    `json:"limit"`
	// Short are answers with fewer than Limit messages.
	Short     int     `json:"short_answers"`
	Messages  int64   `json:"messages_received"`
	P50Micros float64 `json:"p50_us"`
	P99Micros float64 `json:"p99_us"`
	MaxMicros float64 `json:"max_us"`
}

// Latest runs the CHATHISTORY scenario (see LatestConfig).
func Latest(ctx context.Context, cfg LatestConfig) (LatestResult, error) {
	if cfg.Queries <= 0 {
		return LatestResult{}, errors.New("latest: queries must be positive")
	}
	if cfg.Channel == "" {
		cfg.Channel = "#store0"
	}
	if cfg.Limit <= 0 {
		cfg.Limit = 100
	}
	if cfg.NickBase == "" {
		cfg.NickBase = "hq"
	}
	log := orDiscard(cfg.Logger)
	res := LatestResult{Channel: cfg.Channel, Queries: cfg.Queries, Limit: cfg.Limit}
	c, err := dial(ctx, cfg.Addr)
	if err != nil {
		return res, fmt.Errorf("latest: %w", err)
	}
	defer c.Close()
	lr := newLineReader(c, 64<<10)
	if err := register(ctx, lr, cfg.NickBase); err != nil {
		return res, fmt.Errorf("latest: %w", err)
	}
	if err := requestCaps(ctx, lr, "draft/chathistory batch"); err != nil {
		return res, fmt.Errorf("latest: %w", err)
	}
	// a member reads a "world" channel's whole history
	if err := join(ctx, lr, cfg.Channel); err != nil {
		return res, fmt.Errorf("latest: %w", err)
	}
	req := []byte("CHATHISTORY LATEST " + cfg.Channel + " * " + strconv.Itoa(cfg.Limit) + "\r\n")
	var h Histogram
	for i := range cfg.Queries {
		if ctx.Err() != nil {
			return res, fmt.Errorf("latest: %w", ctx.Err())
		}
		c.SetDeadline(stepDeadline(ctx))
		start := time.Now()
		if _, err := c.Write(req); err != nil {
			return res, fmt.Errorf("latest: query %d: write: %w", i, err)
		}
		n, err := readHistoryBatch(lr)
		if err != nil {
			return res, fmt.Errorf("latest: query %d: %w", i, err)
		}
		h.Record(time.Since(start))
		res.Messages += int64(n)
		if n < cfg.Limit {
			res.Short++
		}
	}
	res.P50Micros = micros(h.Quantile(0.50))
	res.P99Micros = micros(h.Quantile(0.99))
	res.MaxMicros = micros(h.Max())
	log.Info("chathistory done", "queries", cfg.Queries, "p99_us", res.P99Micros)
	return res, nil
}

// readHistoryBatch reads one chathistory batch and returns the number of
// PRIVMSG and NOTICE lines in it; a FAIL is an error.
func readHistoryBatch(lr *lineReader) (int, error) {
	n := 0
	started := false
	for {
		line, err := lr.next()
		if err != nil {
			return n, fmt.Errorf("read: %w", err)
		}
		switch string(command(line)) {
		case "BATCH":
			ref := batchRef(line)
			switch {
			case bytes.HasPrefix(ref, []byte("+")):
				started = true
			case bytes.HasPrefix(ref, []byte("-")) && started:
				return n, nil
			}
		case "PRIVMSG", "NOTICE":
			if started {
				n++
			}
		case "FAIL":
			return n, fmt.Errorf("server answered %q", line[:min(len(line), 160)])
		case "PING":
			if err := pong(lr.conn); err != nil {
				return n, err
			}
		case "ERROR":
			return n, errors.New("server sent ERROR")
		}
	}
}

// batchRef returns the first parameter of a BATCH line ("+ref" or
// "-ref").
func batchRef(line []byte) []byte {
	i := bytes.Index(line, []byte("BATCH "))
	if i < 0 {
		return nil
	}
	rest := line[i+len("BATCH "):]
	if j := bytes.IndexByte(rest, ' '); j >= 0 {
		rest = rest[:j]
	}
	return rest
}
