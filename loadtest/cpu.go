package loadtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/PID/stat times on Linux.
const clockTick = 10 * time.Millisecond

// ProcessCPU returns the user+system CPU time process pid has used, from
// /proc/PID/stat.
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime and stime (fields 14 and 15) from a stat line;
// the command name in parentheses may hold spaces, so fields are counted
// from the last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("stat: no command name")
	}
	f := bytes.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime 15.
	if len(f) < 13 {
		return 0, errors.New("stat: too few fields")
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("stat: %w", err)
	}
	return time.Duration(ut+st) * clockTick, nil
}

// SelfCPU returns the CPU time (user+system) this process has used.
func SelfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// ProcessSyscalls returns the read and write system calls process pid
// has made (syscr and syscw in /proc/PID/io).
func ProcessSyscalls(pid int) (reads, writes uint64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return 0, 0, fmt.Errorf("read io of pid %d: %w", pid, err)
	}
	return parseIO(b)
}

func parseIO(b []byte) (reads, writes uint64, err error) {
	found := 0
	for line := range bytes.Lines(b) {
		k, v, ok := bytes.Cut(bytes.TrimSpace(line), []byte(":"))
		if !ok {
			continue
		}
		var dst *uint64
		switch string(k) {
		case "syscr":
			dst = &reads
		case "syscw":
			dst = &writes
		default:
			continue
		}
		n, perr := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
		if perr != nil {
			return 0, 0, fmt.Errorf("io %s: %w", k, perr)
		}
		*dst = n
		found++
	}
	if found != 2 {
		return 0, 0, errors.New("io: syscr or syscw missing")
	}
	return reads, writes, nil
}

// RunDelay returns how long the threads of process pid have waited on a
// run queue for a CPU (the second field of each
// /proc/PID/task/TID/schedstat): time the process wanted to run but
// another task had its CPU.
func RunDelay(pid int) (time.Duration, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("list threads of pid %d: %w", pid, err)
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread ended
		}
		d, err := parseSchedstat(b)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

func parseSchedstat(b []byte) (time.Duration, error) {
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, errors.New("schedstat: too few fields")
	}
	ns, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("schedstat: %w", err)
	}
	return time.Duration(ns), nil
}

// CPUUsage is the CPU both processes used during one scenario, as a
// fraction of one core over its wall-clock time, and the server's read
// and write system calls in that time.
type CPUUsage struct {
	Seconds float64 `json:"seconds"`
	Server  float64 `json:"server_core_fraction,omitempty"`
	Load    float64 `json:"load_core_fraction"`
	// ServerRunWait and LoadRunWait are the time each process's threads
	// waited for a CPU, as a fraction of the wall-clock time: well above
	// zero, other work on the machine held the figures down.
	ServerRunWait float64 `json:"server_runqueue_wait_fraction,omitempty"`
	LoadRunWait   float64 `json:"load_runqueue_wait_fraction,omitempty"`
	ServerReads   uint64  `json:"server_read_syscalls,omitempty"`
	ServerWrites  uint64  `json:"server_write_syscalls,omitempty"`
	// Steal is the time the hypervisor ran something else while this
	// machine's CPUs wanted to run (all CPUs, /proc/stat), as a fraction
	// of the wall-clock time: on a virtual machine, a cause of noise no
	// process here can see otherwise.
	Steal float64 `json:"host_steal_fraction,omitempty"`
}

// HostSteal returns the steal time of all CPUs from /proc/stat.
func HostSteal() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("read /proc/stat: %w", err)
	}
	return parseSteal(b)
}

// parseSteal reads the steal field (the eighth number) of the "cpu" line.
func parseSteal(stat []byte) (time.Duration, error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0, errors.New("/proc/stat: no cpu line with a steal field")
	}
	n, err := strconv.ParseUint(string(f[8]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/stat steal: %w", err)
	}
	return time.Duration(n) * clockTick, nil
}

// CPUMeter measures CPUUsage between Start and Stop.
type CPUMeter struct {
	pid        int
	t0         time.Time
	srv0, own0 time.Duration
	r0, w0     uint64
	wait0      time.Duration
	ownWait0   time.Duration
	steal0     time.Duration
	stealOK    bool
}

// StartCPU starts measuring; pid 0 measures this process only.
func StartCPU(pid int) *CPUMeter {
	m := &CPUMeter{pid: pid, t0: time.Now()}
	if pid > 0 {
		m.srv0, _ = ProcessCPU(pid)
		m.r0, m.w0, _ = ProcessSyscalls(pid)
		m.wait0, _ = RunDelay(pid)
	}
	m.own0, _ = SelfCPU()
	m.ownWait0, _ = RunDelay(os.Getpid())
	var err error
	m.steal0, err = HostSteal()
	m.stealOK = err == nil
	return m
}

// Stop returns the usage since StartCPU.
func (m *CPUMeter) Stop() CPUUsage {
	wall := time.Since(m.t0)
	u := CPUUsage{Seconds: wall.Seconds()}
	if own, err := SelfCPU(); err == nil {
		u.Load = float64(own-m.own0) / float64(wall)
	}
	if d, err := RunDelay(os.Getpid()); err == nil && m.ownWait0 > 0 {
		u.LoadRunWait = float64(d-m.ownWait0) / float64(wall)
	}
	if st, err := HostSteal(); err == nil && m.stealOK {
		u.Steal = float64(st-m.steal0) / float64(wall)
	}
	if m.pid > 0 {
		if srv, err := ProcessCPU(m.pid); err == nil {
			u.Server = float64(srv-m.srv0) / float64(wall)
		}
		if r, w, err := ProcessSyscalls(m.pid); err == nil && m.r0+m.w0 > 0 {
			u.ServerReads, u.ServerWrites = r-m.r0, w-m.w0
		}
		if d, err := RunDelay(m.pid); err == nil && m.wait0 > 0 {
			u.ServerRunWait = float64(d-m.wait0) / float64(wall)
		}
	}
	return u
}
