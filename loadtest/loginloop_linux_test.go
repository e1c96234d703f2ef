//go:build linux

package loadtest

import (
	"syscall"
	"testing"
)

func TestEpollTarget(t *testing.T) {
	tests := []struct {
		name   string
		cfg    LoginConfig
		domain int
		port   int
		fail   bool
	}{
		{"ipv4", LoginConfig{Addr: "127.0.0.1:6667"}, syscall.AF_INET, 6667, false},
		{"ipv6", LoginConfig{Addr: "[::1]:6668"}, syscall.AF_INET6, 6668, false},
		{"localhost", LoginConfig{Addr: "localhost:6669"}, syscall.AF_INET, 6669, false},
		{"unix", LoginConfig{Addr: "127.0.0.1:1", Unix: "/tmp/x.sock"}, syscall.AF_UNIX, 0, false},
		{"not loopback", LoginConfig{Addr: "192.0.2.1:6667"}, 0, 0, true},
		{"no port", LoginConfig{Addr: "127.0.0.1"}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sa, domain, err := epollTarget(tt.cfg)
			if tt.fail {
				if err == nil {
					t.Fatalf("epollTarget(%q) accepted", tt.cfg.Addr)
				}
				return
			}
			if err != nil || domain != tt.domain {
				t.Fatalf("epollTarget = %v, domain %d, %v", sa, domain, err)
			}
			switch a := sa.(type) {
			case *syscall.SockaddrInet4:
				if a.Port != tt.port || a.Addr != [4]byte{127, 0, 0, 1} {
					t.Fatalf("got %v", a)
				}
			case *syscall.SockaddrInet6:
				if a.Port != tt.port || a.Addr[15] != 1 {
					t.Fatalf("got %v", a)
				}
			case *syscall.SockaddrUnix:
				if a.Name != tt.cfg.Unix {
					t.Fatalf("got %v", a)
				}
			}
		})
	}
}
