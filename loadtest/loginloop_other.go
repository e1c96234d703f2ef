//go:build !linux

package loadtest

import (
	"context"
	"errors"

	"github.com/thorchat/thorchat/sasl"
)

// hasEpollClient reports whether epollLogins exists on this system.
const hasEpollClient = false

// epollLogins needs Linux's epoll; elsewhere the login scenario uses its
// goroutine client.
func epollLogins(context.Context, LoginConfig, sasl.Endpoint, []loginKey, int, string) (workerStats, error) {
	return workerStats{}, errors.New("login: the epoll client needs Linux")
}
