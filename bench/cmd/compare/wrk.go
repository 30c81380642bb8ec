package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	Requests int     // responses wrk completed, whatever their status
	PerSec   float64 // its Requests/sec line
	Non2xx   int     // "Non-2xx or 3xx responses"
	// Socket errors, by kind.
	Connect, Read, Write, Timeout int
}

// SocketErrors is the sum of wrk's four kinds of socket error.
func (r wrkResult) SocketErrors() int { return r.Connect + r.Read + r.Write + r.Timeout }

// Errors summarises the failed requests for a table cell: "0", or what
// went wrong and how often.
func (r wrkResult) Errors() string {
	var parts []string
	if r.Non2xx > 0 {
		parts = append(parts, fmt.Sprintf("%s non-2xx/3xx", thousands(int64(r.Non2xx))))
	}
	if n := r.SocketErrors(); n > 0 {
		parts = append(parts, fmt.Sprintf("%s socket (connect %d, read %d, write %d, timeout %d)",
			thousands(int64(n)), r.Connect, r.Read, r.Write, r.Timeout))
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, ", ")
}

var (
	wrkTotal   = regexp.MustCompile(`(?m)^\s*(\d+) requests in [0-9.]+\w+, [0-9.]+\w+ read\s*$`)
	wrkPerSec  = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)\s*$`)
	wrkNon2xx  = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses: (\d+)\s*$`)
	wrkSockets = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$`)
)

// parseWrk reads wrk's summary. The request total and the rate must be
// there; the error lines appear only when there were errors.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := wrkTotal.FindStringSubmatch(out)
	if m == nil {
		return r, errors.New(`no "N requests in T, B read" line in wrk's output`)
	}
	var err error
	if r.Requests, err = strconv.Atoi(m[1]); err != nil {
		return r, fmt.Errorf("wrk's request count %q: %w", m[1], err)
	}
	m = wrkPerSec.FindStringSubmatch(out)
	if m == nil {
		return r, errors.New(`no "Requests/sec:" line in wrk's output`)
	}
	if r.PerSec, err = strconv.ParseFloat(m[1], 64); err != nil {
		return r, fmt.Errorf("wrk's Requests/sec %q: %w", m[1], err)
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.Atoi(m[1]) // \d+ of a sane length: the regexp vouches for it
	}
	if m := wrkSockets.FindStringSubmatch(out); m != nil {
		for i, p := range []*int{&r.Connect, &r.Read, &r.Write, &r.Timeout} {
			*p, _ = strconv.Atoi(m[i+1])
		}
	}
	return r, nil
}

// runWrk loads url with wrk for o.duration, o.threads threads and
// o.connections connections, and parses its summary.
func runWrk(ctx context.Context, o options, url string) (wrkResult, error) {
	ctx, cancel := context.WithTimeout(ctx, o.duration+30*time.Second)
	defer cancel()
	args := []string{
		"-t" + strconv.Itoa(o.threads),
		"-c" + strconv.Itoa(o.connections),
		"-d" + wrkDuration(o.duration),
		url,
	}
	cmd := exec.CommandContext(ctx, o.wrk, args...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return wrkResult{}, fmt.Errorf("wrk %s: %w", strings.Join(args, " "), ctx.Err())
		}
		return wrkResult{}, fmt.Errorf("wrk %s: %w: %s", strings.Join(args, " "), err, clip(stderr.String()+stdout.String(), 500))
	}
	r, err := parseWrk(stdout.String())
	if err != nil {
		return r, fmt.Errorf("wrk %s: %w:\n%s", strings.Join(args, " "), err, clip(stdout.String(), 2000))
	}
	return r, nil
}

// wrkDuration writes d the way wrk reads -d: a whole number of seconds
// (wrk takes s, m and h, not ms; main checks d is whole seconds).
func wrkDuration(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}
