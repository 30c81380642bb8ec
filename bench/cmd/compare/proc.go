package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// cpuTicks returns the CPU time process pid has used so far, user plus
// system, in clock ticks: fields 14 (utime) and 15 (stime) of
// /proc/PID/stat, which count every thread of the process (not its
// children, which the servers here do not have).
func cpuTicks(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStat(string(data))
}

// parseStat reads utime + stime from the text of /proc/PID/stat. The
// second field, the command name in parentheses, may hold spaces and
// parentheses itself, so the fields are counted from the last ")".
func parseStat(s string) (int64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/PID/stat: no command name in %q", clip(s, 80))
	}
	// After ")": field 3 (state) onwards; utime and stime are 14 and 15.
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/PID/stat: %d fields after the command name, want at least 13", len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || utime < 0 || stime < 0 {
		return 0, fmt.Errorf("/proc/PID/stat: utime %q, stime %q: not counts of ticks", clip(f[11], 20), clip(f[12], 20))
	}
	return utime + stime, nil
}

// clockTicks is CLK_TCK, the ticks per second /proc counts in. Go's
// standard library cannot call sysconf, so it asks getconf; Linux fixes
// USER_HZ at 100 on every common architecture, the value used if getconf
// is missing.
func clockTicks(ctx context.Context) (int64, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			return n, "getconf CLK_TCK"
		}
	}
	return 100, "assumed: getconf CLK_TCK failed"
}
