package loadtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ReadRSS returns the resident set size of process pid in bytes, read from
// VmRSS in /proc/PID/status.
func ReadRSS(pid int) (int64, error) {
	b, err := readStatus(pid)
	if err != nil {
		return 0, err
	}
	return parseVmRSS(b)
}

// readStatus reads /proc/PID/status.
func readStatus(pid int) ([]byte, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil, fmt.Errorf("read status of pid %d: %w", pid, err)
	}
	return b, nil
}

// parseVmRSS extracts "VmRSS:   1234 kB" from a /proc status file.
func parseVmRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "VmRSS:" {
			continue
		}
		if f[2] != "kB" {
			return 0, fmt.Errorf("VmRSS: unexpected unit %q", f[2])
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS: %w", err)
		}
		return kb * 1024, nil
	}
	return 0, errors.New("VmRSS: not found")
}

// ReadCPUsAllowed returns the CPUs process pid may run on, as
// Cpus_allowed_list in /proc/PID/status shows them (e.g. "0-1").
func ReadCPUsAllowed(pid int) (string, error) {
	b, err := readStatus(pid)
	if err != nil {
		return "", err
	}
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", errors.New("Cpus_allowed_list: not found")
}

// ReadNoFile returns the soft "Max open files" limit of process pid, from
// /proc/PID/limits; 0 means unlimited.
func ReadNoFile(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		return 0, fmt.Errorf("read limits of pid %d: %w", pid, err)
	}
	return parseNoFile(b)
}

func parseNoFile(limits []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(limits))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Max open files")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 1 {
			break
		}
		if f[0] == "unlimited" {
			return 0, nil
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("max open files: %w", err)
		}
		return n, nil
	}
	return 0, errors.New("max open files: not found")
}

// RaiseNoFile raises this process's RLIMIT_NOFILE soft limit to at least
// need (and the hard limit too when that is allowed). It returns the soft
// limit in force afterwards.
func RaiseNoFile(need uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur >= need {
		return lim.Cur, nil
	}
	want := lim
	if want.Max < need {
		want.Max = need // allowed for root only; fall back below
	}
	want.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		want = lim
		want.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return lim.Cur, fmt.Errorf("setrlimit: %w", err)
		}
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur < need {
		return lim.Cur, fmt.Errorf("open-file limit is %d, need %d: raise it with ulimit -n", lim.Cur, need)
	}
	return lim.Cur, nil
}
