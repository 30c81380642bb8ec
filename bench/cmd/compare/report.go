package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// report prints the header and the two tables, Markdown ready for
// docs/performance.md. It returns false when any request failed.
func report(w io.Writer, o options, started time.Time, m machineInfo, clk int64, clkSource string,
	results map[string]map[string]measure, orders map[string][]string, sizes pageSizes, rows []bytesRow, servers []*server) bool {
	ok := true
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }

	p("Command: `%s`  \n", o.cmdline)
	p("Date: %s  \n", started.Format("2006-01-02 15:04 MST"))
	p("Machine: %s CPUs (nproc), %s; %s; node %s; %s; %s  \n", m.nproc, m.cpu, m.goVersion, m.node, m.wrk, m.load)
	p("App: %s; Express replica: %s; bare Go: bench/cmd/floor  \n", m.app, m.express)
	p("Load: one stand-in for Bitbucket on 127.0.0.1 answering every request after %v (demo consumer, workspace %s) for all three; "+
		"`wrk -t%d -c%d -d%s` per route and server after %d warm-up requests each, not counted\n\n",
		o.latency, workspace, o.threads, o.connections, wrkDuration(o.duration), o.warmup)

	p("| Route | App CPU µs/request | Express CPU µs/request | Express/app | Bare Go CPU µs/request | App/bare Go | " +
		"Requests/s (app / Express / bare Go) | Errors (app / Express / bare Go) |\n")
	p("|---|--:|--:|--:|--:|--:|--:|---|\n")
	for _, route := range routes {
		a, e, f := results[route][appName], results[route][expressName], results[route][floorName]
		ua, ue, uf := perRequest(a, clk), perRequest(e, clk), perRequest(f, clk)
		p("| `%s` | %s | %s | %s | %s | %s | %s / %s / %s | %s / %s / %s |\n", route, micro(ua), micro(ue), ratio(ue, ua),
			micro(uf), ratio(ua, uf), rate(a.wrk.PerSec), rate(e.wrk.PerSec), rate(f.wrk.PerSec),
			a.wrk.Errors(), e.wrk.Errors(), f.wrk.Errors())
		for _, m := range []measure{a, e, f} {
			if m.wrk.Non2xx+m.wrk.SocketErrors() > 0 {
				ok = false
			}
		}
	}
	p("\n")
	p("Bare Go is the floor: bench/cmd/floor, a net/http server with the standard library only that makes the app's two API calls "+
		"on `/oauth-callback` (the same `fields=`, concurrently, one token kept, 8 pages at a time) and serves prebuilt pages "+
		"of the app's sizes (%s and %s bytes, measured on the app after its warm-up), and does nothing else: "+
		"no templates, no JSON decoding, no logging, no middleware. It is the least any Go server doing the same I/O costs "+
		"on this machine; App/bare Go is how much the app's own work adds to it.  \n",
		thousands(int64(sizes.landing)), thousands(int64(sizes.results)))
	p("CPU: the server process's user + system time over its own wrk run (/proc/PID/stat, %d ticks a second, %s), "+
		"divided by the requests wrk completed; the stand-in and wrk share the machine's CPUs and are counted for none. "+
		"The servers ran one after the other on each route, in this order: ", clk, clkSource)
	var order []string
	for _, route := range routes {
		order = append(order, fmt.Sprintf("`%s` %s", route, strings.Join(orders[route], ", ")))
	}
	p("%s.  \n", strings.Join(order, "; "))
	if o.gomaxprocs > 0 {
		p("GOMAXPROCS=%d for the app and the bare Go server (-gomaxprocs); node runs JavaScript on one thread whatever it is.  \n", o.gomaxprocs)
	}
	p("`/oauth-callback`: the app keeps one token across pages (its design: this run's pages reuse the token of the warm-up) "+
		"and makes its two API calls concurrently, with `fields=`; "+
		"the replica asks for a new token on every page (the original's design), then makes the two calls one after the other, "+
		"without `fields=`. So an app page waits for 1 × %v at the stand-in, a replica page for 3 × %v.\n\n", o.latency, o.latency)

	p("| Bitbucket API per results page (%d sequential pages) | Body bytes/page | vs app | API requests/page | Token requests/page |\n", o.pages)
	p("|---|--:|--:|--:|--:|\n")
	var appBytes float64
	if len(rows) > 0 && rows[0].err == nil {
		appBytes = rows[0].bytes
	}
	for i, r := range rows {
		if r.err != nil {
			ok = false
			p("| %s | failed: %s | | | |\n", r.label, cell(r.err.Error()))
			continue
		}
		vs := "1×"
		if i > 0 {
			vs = ratio(r.bytes, appBytes)
		}
		toks := number(r.toks)
		if r.noTokens {
			toks = "– (one token for all)"
		}
		p("| %s | %s | %s | %s | %s |\n", r.label, thousands(int64(math.Round(r.bytes))), vs, number(r.api), toks)
	}
	p("\nBytes: the bodies of the API's answers the stand-in wrote (BodyBytes; not the token endpoint's, not headers). " +
		"The calls without `fields=` are `GET /2.0/workspaces/" + workspace + "` and " +
		"`GET /2.0/repositories/" + workspace + "?pagelen=10&sort=-updated_on`, as the app made them before it asked for fields.\n")

	var failures []string
	for _, s := range servers {
		if s.sample != "" {
			failures = append(failures, fmt.Sprintf("%s: first failure: %s", s.name, s.sample))
		}
	}
	if len(failures) > 0 {
		p("\n")
		for _, f := range failures {
			p("- %s\n", cell(f))
		}
	}
	return ok
}

// perRequest is the server's CPU per request in µs; NaN without requests.
func perRequest(m measure, clk int64) float64 {
	if m.wrk.Requests == 0 || clk <= 0 {
		return math.NaN()
	}
	return float64(m.ticks) * 1e6 / float64(clk) / float64(m.wrk.Requests)
}

func micro(us float64) string {
	if math.IsNaN(us) {
		return "n/a"
	}
	if us < 10 {
		return strconv.FormatFloat(us, 'f', 1, 64)
	}
	return thousands(int64(math.Round(us)))
}

func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b <= 0 {
		return "n/a"
	}
	return strconv.FormatFloat(a/b, 'f', 1, 64) + "×"
}

func rate(perSec float64) string { return thousands(int64(math.Round(perSec))) }

// number prints a per-page count: whole, or with two decimals.
func number(f float64) string {
	if f == math.Trunc(f) {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

// thousands writes n with commas: 12,345.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// cell makes text safe in a Markdown table cell: one line, no pipes.
func cell(s string) string {
	s = strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ").Replace(s)
	return clip(s, 400)
}
