package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Linux process and socket inspection through /proc, for the onion test:
// which sockets a pid holds, which of them listen, which child is tor.

// socketInodes returns the inodes of the sockets process pid holds open
// (/proc/PID/fd/N -> "socket:[INODE]").
func socketInodes(pid int) (map[uint64]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	inodes := make(map[uint64]bool)
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed since ReadDir
		}
		s, ok := strings.CutPrefix(target, "socket:[")
		if !ok {
			continue
		}
		if ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
			inodes[ino] = true
		}
	}
	return inodes, nil
}

// tcpListener is one LISTEN socket from /proc/net/tcp or tcp6.
type tcpListener struct {
	file  string // "tcp" or "tcp6"
	local string // hex address:port as the kernel prints it
	port  int
	inode uint64
}

// tcpListeners returns every TCP socket in LISTEN state (st 0A) of this
// network namespace, with its inode.
func tcpListeners() ([]tcpListener, error) {
	var out []tcpListener
	for _, name := range []string{"tcp", "tcp6"} {
		f, err := os.Open("/proc/net/" + name)
		if err != nil {
			return nil, fmt.Errorf("open /proc/net/%s: %w", name, err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
			fl := strings.Fields(sc.Text())
			if len(fl) < 10 || fl[3] != "0A" {
				continue
			}
			ino, err := strconv.ParseUint(fl[9], 10, 64)
			if err != nil {
				continue
			}
			l := tcpListener{file: name, local: fl[1], inode: ino}
			if i := strings.LastIndexByte(fl[1], ':'); i >= 0 {
				p, _ := strconv.ParseUint(fl[1][i+1:], 16, 16)
				l.port = int(p)
			}
			out = append(out, l)
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read /proc/net/%s: %w", name, err)
		}
	}
	return out, nil
}

// listenersOf returns the TCP LISTEN sockets held by process pid.
func listenersOf(pid int, all []tcpListener) ([]tcpListener, error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return nil, err
	}
	var out []tcpListener
	for _, l := range all {
		if inodes[l.inode] {
			out = append(out, l)
		}
	}
	return out, nil
}

// unixListening reports whether process pid holds a listening unix socket
// bound to path (/proc/net/unix: flag __SO_ACCEPTCON 00010000).
func unixListening(pid int, path string) (bool, error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		return false, fmt.Errorf("read /proc/net/unix: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		// Num RefCount Protocol Flags Type St Inode Path
		fl := strings.Fields(line)
		if len(fl) < 8 || fl[3] != "00010000" || fl[7] != path {
			continue
		}
		if ino, err := strconv.ParseUint(fl[6], 10, 64); err == nil && inodes[ino] {
			return true, nil
		}
	}
	return false, nil
}

// childTor returns the pid of the child of parent whose comm is "tor", or 0.
func childTor(parent int) (int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("list /proc: %w", err)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses
		s := string(b)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		rest := strings.Fields(s[closing+1:])
		if len(rest) < 2 || s[open+1:closing] != "tor" {
			continue
		}
		if ppid, err := strconv.Atoi(rest[1]); err == nil && ppid == parent {
			return pid, nil
		}
	}
	return 0, nil
}

// waitChildTor waits (bounded) for a tor child of parent other than not.
func waitChildTor(t *testing.T, parent, not int, budget time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(budget)
	for {
		pid, err := childTor(parent)
		if err != nil {
			t.Fatal(err)
		}
		if pid != 0 && pid != not {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no tor child of pid %d (other than %d) within %v", parent, not, budget)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitGone waits (bounded) until pid no longer exists.
func waitGone(t *testing.T, pid int, budget time.Duration) {
	t.Helper()
	deadline := time.Now().Add(budget)
	for {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		// a zombie still answers kill 0; its stat says Z
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if i := strings.LastIndexByte(string(b), ')'); i >= 0 && strings.HasPrefix(string(b[i:]), ") Z") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still running after %v", pid, budget)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
