package main

import (
	"maps"
	"strings"
	"testing"
	"time"
)

// wrk 4.1.0's summaries, as it prints them.
const (
	outClean = `Running 5s test @ http://localhost:34869/healthcheck
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.06ms    1.32ms  30.21ms   91.02%
    Req/Sec    16.02k     1.91k   19.83k    72.00%
  159411 requests in 5.01s, 21.74MB read
Requests/sec:  31823.47
Transfer/sec:      4.34MB
`
	outNon2xx = `Running 2s test @ http://127.0.0.1:18181/nope
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.94ms    2.17ms  28.17ms   90.87%
    Req/Sec     1.44k   400.48     2.07k    55.00%
  2856 requests in 2.02s, 1.42MB read
  Non-2xx or 3xx responses: 2856
Requests/sec:   1414.53
Transfer/sec:    718.32KB
`
	outSockets = `Running 5s test @ http://127.0.0.1:46825/oauth-callback
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.81s   210.33ms   1.99s    91.00%
    Req/Sec     8.10      5.02    20.00     62.50%
  84 requests in 5.02s, 1.10MB read
  Socket errors: connect 0, read 12, write 1, timeout 30
  Non-2xx or 3xx responses: 7
Requests/sec:     16.73
Transfer/sec:    224.05KB
`
)

func TestParseWrk(t *testing.T) {
	for _, c := range []struct {
		name, out string
		want      wrkResult
		errors    string
		wantErr   string
	}{
		{name: "clean", out: outClean, want: wrkResult{Requests: 159411, PerSec: 31823.47}, errors: "0"},
		{name: "non-2xx", out: outNon2xx, want: wrkResult{Requests: 2856, PerSec: 1414.53, Non2xx: 2856}, errors: "2,856 non-2xx/3xx"},
		{name: "socket errors", out: outSockets,
			want:   wrkResult{Requests: 84, PerSec: 16.73, Non2xx: 7, Read: 12, Write: 1, Timeout: 30},
			errors: "7 non-2xx/3xx, 43 socket (connect 0, read 12, write 1, timeout 30)"},
		{name: "no total", out: "unable to connect to 127.0.0.1:1 Connection refused\n", wantErr: "requests in"},
		{name: "no rate", out: strings.Replace(outClean, "Requests/sec:", "Requests/s:", 1), wantErr: "Requests/sec"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseWrk(c.out)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("parseWrk: error %v, want one mentioning %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseWrk: %v", err)
			}
			if got != c.want {
				t.Errorf("parseWrk = %+v, want %+v", got, c.want)
			}
			if e := got.Errors(); e != c.errors {
				t.Errorf("Errors() = %q, want %q", e, c.errors)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	// Fields 14 and 15 (utime, stime) are 1234 and 567 in each line; the
	// command names hold spaces and parentheses.
	rest := " S 1 2 3 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 9 0 100 200 300"
	for _, c := range []struct {
		name, stat string
		want       int64
		wantErr    bool
	}{
		{name: "plain", stat: "4242 (node)" + rest, want: 1801},
		{name: "spaces and parentheses", stat: "4242 (my app) (x))" + rest, want: 1801},
		{name: "truncated", stat: "4242 (node) S 1 2 3", wantErr: true},
		{name: "no name", stat: "4242 node S", wantErr: true},
		{name: "not a number", stat: "4242 (node) S 1 2 3 0 -1 4194560 100 0 0 0 x 567 0", wantErr: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseStat(c.stat)
			if c.wantErr {
				if err == nil {
					t.Fatalf("parseStat = %d, want an error", got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("parseStat = %d, %v; want %d", got, err, c.want)
			}
		})
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 31189: "31,189", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPageText(t *testing.T) {
	page := "<!doctype html><html><head><title>Error</title><style>p{color:red}</style></head>" +
		"<body><h1>Bitbucket   answered 500</h1>\n<p>Reload &amp; try again \x1b[31m</p><script>x()</script></body></html>"
	if got, want := pageText([]byte(page), 200), "Error Bitbucket answered 500 Reload & try again ?[31m"; got != want {
		t.Errorf("pageText = %q, want %q", got, want)
	}
	if got := pageText([]byte("<p>"+strings.Repeat("é", 100)+"</p>"), 11); got != "ééééé…" {
		t.Errorf("pageText clipped = %q, want five é and an ellipsis (cut on a rune boundary)", got)
	}
}

func TestWrkVersion(t *testing.T) {
	for line, want := range map[string]string{
		"wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer": "wrk debian/4.1.0-3+b2",
		"wrk 4.2.0 [kqueue] Copyright (C) 2012 Will Glozer":            "wrk 4.2.0",
		"bash: wrk: command not found":                                 "",
		"":                                                             "",
	} {
		if got := wrkVersion(line); got != want {
			t.Errorf("wrkVersion(%q) = %q, want %q", line, got, want)
		}
	}
}

func TestReport(t *testing.T) {
	// clk 100 ticks a second: a tick is 10,000 µs. m is a wrk run of n
	// requests that cost the server ticks ticks.
	m := func(ticks int64, n int, perSec float64) measure {
		return measure{ticks: ticks, wrk: wrkResult{Requests: n, PerSec: perSec}}
	}
	clean := map[string]map[string]measure{
		"/healthcheck":    {appName: m(19, 20000, 4000), expressName: m(300, 15000, 3000), floorName: m(16, 20000, 4000)},
		"/":               {appName: m(150, 20000, 4000), expressName: m(450, 10000, 2000), floorName: m(100, 20000, 4000)},
		"/oauth-callback": {appName: m(440, 4000, 800), expressName: m(460, 2000, 400), floorName: m(160, 4000, 800)},
	}
	withErrors := map[string]map[string]measure{}
	for route, byServer := range clean {
		withErrors[route] = maps.Clone(byServer)
	}
	broken := withErrors["/oauth-callback"][floorName]
	broken.wrk.Non2xx = 12
	withErrors["/oauth-callback"][floorName] = broken
	noFloor := map[string]map[string]measure{}
	for route, byServer := range clean {
		noFloor[route] = map[string]measure{appName: byServer[appName], expressName: byServer[expressName]}
	}
	orders := map[string][]string{
		"/healthcheck":    {appName, expressName, floorName},
		"/":               {expressName, floorName, appName},
		"/oauth-callback": {floorName, appName, expressName},
	}

	for _, c := range []struct {
		name       string
		results    map[string]map[string]measure
		gomaxprocs int
		ok         bool
		want       []string // lines or parts of lines the report holds
		notWant    []string
	}{
		{name: "clean", results: clean, ok: true, want: []string{
			"| Route | App CPU µs/request | Express CPU µs/request | Express/app | Bare Go CPU µs/request | App/bare Go | " +
				"Requests/s (app / Express / bare Go) | Errors (app / Express / bare Go) |\n",
			"| `/healthcheck` | 9.5 | 200 | 21.1× | 8.0 | 1.2× | 4,000 / 3,000 / 4,000 | 0 / 0 / 0 |\n",
			"| `/` | 75 | 450 | 6.0× | 50 | 1.5× | 4,000 / 2,000 / 4,000 | 0 / 0 / 0 |\n",
			"| `/oauth-callback` | 1,100 | 2,300 | 2.1× | 400 | 2.8× | 800 / 400 / 800 | 0 / 0 / 0 |\n",
			"Bare Go is the floor: bench/cmd/floor",
			"of the app's sizes (12,345 and 23,456 bytes",
			"in this order: `/healthcheck` app, Express, bare Go; `/` Express, bare Go, app; `/oauth-callback` bare Go, app, Express.",
		}, notWant: []string{"GOMAXPROCS="}},
		{name: "one P", results: clean, gomaxprocs: 1, ok: true, want: []string{
			"GOMAXPROCS=1 for the app and the bare Go server (-gomaxprocs)",
		}},
		{name: "the floor failed", results: withErrors, ok: false, want: []string{
			"| `/oauth-callback` | 1,100 | 2,300 | 2.1× | 400 | 2.8× | 800 / 400 / 800 | 0 / 0 / 12 non-2xx/3xx |\n",
		}},
		{name: "no floor figures", results: noFloor, ok: true, want: []string{
			"| `/oauth-callback` | 1,100 | 2,300 | 2.1× | n/a | n/a | 800 / 400 / 0 | 0 / 0 / 0 |\n",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			o := options{cmdline: "bench/compare.sh", threads: 2, connections: 32, duration: 5 * time.Second,
				latency: 20 * time.Millisecond, warmup: 50, pages: 20, gomaxprocs: c.gomaxprocs}
			ok := report(&b, o, time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), machineInfo{}, 100, "getconf CLK_TCK",
				c.results, orders, pageSizes{landing: 12345, results: 23456}, nil, nil)
			if ok != c.ok {
				t.Errorf("report returned %v, want %v", ok, c.ok)
			}
			for _, w := range c.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("the report lacks %q; it is:\n%s", w, b.String())
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(b.String(), w) {
					t.Errorf("the report holds %q; it is:\n%s", w, b.String())
				}
			}
		})
	}
}

func TestOptionsCheck(t *testing.T) {
	valid := options{express: "/tmp/express", threads: 2, connections: 32, duration: 5 * time.Second,
		latency: 20 * time.Millisecond, warmup: 50, pages: 20, timeout: time.Minute}
	for _, c := range []struct {
		name   string
		change func(*options)
		want   string // in the error; "" for none
	}{
		{"the defaults", func(*options) {}, ""},
		{"one P", func(o *options) { o.gomaxprocs = 1 }, ""},
		{"no replica", func(o *options) { o.express = "" }, "-express is required"},
		{"half a second", func(o *options) { o.duration = 1500 * time.Millisecond }, "whole number of seconds"},
		{"negative GOMAXPROCS", func(o *options) { o.gomaxprocs = -1 }, "-gomaxprocs must be"},
		{"GOMAXPROCS past 1024", func(o *options) { o.gomaxprocs = 1025 }, "-gomaxprocs must be"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := valid
			c.change(&o)
			err := o.check()
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Errorf("check() = %v, want an error with %q", err, c.want)
			}
		})
	}
}
