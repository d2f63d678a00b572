package main

// CPU time and memory of the server process, read from /proc (Linux only).

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// procSample is one reading of a process's counters.
type procSample struct {
	cpuTicks uint64 // utime + stime, in clock ticks
	rssKB    uint64 // VmRSS
}

// readProc reads utime+stime from /proc/PID/stat and VmRSS from /proc/PID/status.
func readProc(pid int) (procSample, error) {
	var s procSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name (field 2) is in parentheses and may hold spaces or
	// parentheses itself: the fields we want follow the last ')'.
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return s, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	fields := bytes.Fields(stat[end+1:])
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return s, fmt.Errorf("/proc/%d/stat: only %d fields", pid, len(fields)+2)
	}
	for _, i := range []int{utime, stime} {
		v, err := strconv.ParseUint(string(fields[i]), 10, 64)
		if err != nil {
			return s, fmt.Errorf("/proc/%d/stat field %d: %v", pid, i+3, err)
		}
		s.cpuTicks += v
	}

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for line := range bytes.SplitSeq(status, []byte{'\n'}) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(rest) // "12345 kB"
			if len(f) != 2 || string(f[1]) != "kB" {
				return s, fmt.Errorf("/proc/%d/status: odd VmRSS line %q", pid, line)
			}
			s.rssKB, err = strconv.ParseUint(string(f[0]), 10, 64)
			return s, err
		}
	}
	return s, fmt.Errorf("/proc/%d/status: no VmRSS (zombie?)", pid)
}

// machineBusyTicks reads the first line of /proc/stat: the clock ticks all
// CPUs spent busy (user, nice, system, irq, softirq, steal) since boot. Guest
// time is already part of user time.
func machineBusyTicks() (uint64, error) {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := bytes.Cut(stat, []byte{'\n'})
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0, fmt.Errorf("/proc/stat: odd first line %q", line)
	}
	var busy uint64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		v, err := strconv.ParseUint(string(f[i]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %v", err)
		}
		busy += v
	}
	return busy, nil
}

// clockTicks returns USER_HZ, the unit of utime/stime in /proc/PID/stat, and
// whether it was read rather than assumed. Without cgo there is no sysconf, but
// the kernel hands the value to every process in its auxiliary vector
// (AT_CLKTCK). If that cannot be read, assume 100, the value on every
// mainstream Linux architecture.
func clockTicks() (hz uint64, measured bool) {
	const atClkTck = 17
	auxv, err := os.ReadFile("/proc/self/auxv")
	if err == nil && strconv.IntSize == 64 {
		for i := 0; i+16 <= len(auxv); i += 16 { // 64-bit: pairs of uint64
			key := binary.NativeEndian.Uint64(auxv[i:])
			val := binary.NativeEndian.Uint64(auxv[i+8:])
			if key == 0 {
				break
			}
			if key == atClkTck && val > 0 {
				return val, true
			}
		}
	}
	return 100, false
}

// selfCPU is the CPU time (user+system) used so far by this load generator.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
