package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/proxy"

	"github.com/thorchat/thorchat/torsvc"
)

// reach retries, bounded by timeout, until an IRC registration through the
// SOCKS port at socks reaches onion:onionPort, and returns how long it took.
func reach(ctx context.Context, socks, onion string, timeout time.Duration) (time.Duration, error) {
	d, err := torsvc.Dialer(socks)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := onion + ":" + strconv.Itoa(onionPort)
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := register(ctx, d, addr, "demoprobe"+strconv.Itoa(attempt))
		if err == nil {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%s not reachable through %s within %v: %w", addr, socks, timeout, err)
		case <-time.After(2 * time.Second):
		}
	}
}

// register connects through d, registers as nick and quits at the welcome
// (001).
func register(ctx context.Context, d proxy.ContextDialer, addr, nick string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	if err := c.SetDeadline(dl); err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	if _, err := fmt.Fprintf(c, "NICK %s\r\nUSER %s 0 * :thorchat-demo probe\r\n", nick, nick); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	sc := bufio.NewScanner(io.LimitReader(c, 1<<20))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[1] == "001" {
			_, _ = io.WriteString(c, "QUIT :demo probe done\r\n")
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return errors.New("connection closed before the welcome (001)")
}
