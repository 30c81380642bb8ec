// Command compare measures the app against a Node/Express replica of the
// original sample, and against a bare Go floor, side by side, in one run
// on loopback, and prints Markdown tables for docs/performance.md: the CPU
// each server spends on a request of each route, and the bytes a results
// page reads from Bitbucket's API.
//
// Run it through bench/compare.sh (make compare), which installs wrk when
// missing, copies the replica to a temporary directory and runs npm ci
// there. The command itself, from bench/:
//
//  1. builds the app from the repository root (or takes -bin), and the
//     floor (bench/cmd/floor) from the bench module;
//  2. starts one stand-in for Bitbucket (internal/standin) in this
//     process, answering every request after -latency, with the demo
//     consumer and no request recording;
//  3. starts the app (Bitbucket mode, BITBUCKET_WORKSPACE=bitbucket-demo)
//     and the replica (node app.js, with the same environment and a PORT of
//     its own), both pointed at that stand-in;
//  4. warms both up with -warmup requests a route, not counted;
//  5. measures the app's landing and results pages (one GET each), then
//     starts the floor with the same environment and those two sizes, and
//     warms it up the same way;
//  6. for /healthcheck, / and /oauth-callback in turn, loads each server
//     with wrk -t -c -d, one after the other (the order rotates by route,
//     so that each goes first once), and divides the server process's CPU
//     time over its wrk run (utime + stime from /proc/PID/stat) by the
//     requests wrk completed;
//  7. counts the API body bytes a results page reads: the stand-in's
//     BodyBytes over -pages sequential warm loads of the app's
//     /oauth-callback, the same two API calls made without fields= (as the
//     app made them before it asked for fields), and the replica's pages;
//  8. prints the tables and stops everything it started, also on Ctrl+C.
//
// The app keeps its token across pages and makes its two API calls
// concurrently, asking only for the fields it shows: that is its design.
// The replica asks for a new token on every /oauth-callback and makes the
// calls one after the other without fields=: that is the original's. The
// floor makes the app's calls the app's way and serves prebuilt pages of
// the app's sizes, and does nothing else: the least any Go server doing the
// same I/O can cost, so that the table shows what the app's own work adds.
// All three run against the same stand-in at the same latency; the
// stand-in's own CPU and wrk's are counted for none.
//
// It exits 1 with a message when a tool or the replica's dependencies are
// missing or a server fails to start or exits, and 1 after the tables when
// any request failed (the errors column says which). Linux only: it reads
// /proc.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"bitbucket-client-credentials-sample/bench/internal/sampleapp"
	"bitbucket-client-credentials-sample/internal/standin"
)

// workspace is the stand-in's demo workspace with three pages of
// repositories, which the servers show.
const workspace = "bitbucket-demo"

// routes are loaded in this order.
var routes = []string{"/healthcheck", "/", "/oauth-callback"}

type options struct {
	express     string // the replica's directory, with node_modules
	expressFrom string // where that copy came from, for the header
	node, wrk   string
	bin, src    string
	cmdline     string
	threads     int
	connections int
	duration    time.Duration
	latency     time.Duration
	warmup      int
	pages       int
	timeout     time.Duration
	gomaxprocs  int
}

func main() {
	var o options
	flag.StringVar(&o.express, "express", "", "the Express replica's `directory`, after npm ci (bench/compare.sh makes a temporary copy)")
	flag.StringVar(&o.expressFrom, "express-from", "", "where the -express `directory` was copied from, for the header")
	flag.StringVar(&o.node, "node", "node", "the node `command`")
	flag.StringVar(&o.wrk, "wrk", "wrk", "the wrk `command`")
	flag.StringVar(&o.bin, "bin", "", "the app `binary`; empty: build it from -src with go build")
	flag.StringVar(&o.src, "src", "", "the app's source `directory`; empty: the nearest one at or above the working directory")
	flag.StringVar(&o.cmdline, "cmdline", "", "the command line to print above the tables; empty: this command's")
	flag.IntVar(&o.threads, "t", 2, "wrk threads")
	flag.IntVar(&o.connections, "c", 32, "wrk connections")
	flag.DurationVar(&o.duration, "d", 5*time.Second, "wrk duration per route and server, whole seconds")
	flag.DurationVar(&o.latency, "latency", 20*time.Millisecond, "the stand-in's latency for every request")
	flag.IntVar(&o.warmup, "warmup", 50, "warm-up requests per route and server, not counted")
	flag.IntVar(&o.pages, "pages", 20, "sequential results pages whose Bitbucket bytes are counted, per server")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "bound on the whole run")
	flag.IntVar(&o.gomaxprocs, "gomaxprocs", 0, "GOMAXPROCS for the app and the bare Go server (node runs JavaScript on one thread); 0: unset, Go's default of one per CPU")
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
	if o.cmdline == "" {
		o.cmdline = strings.Join(os.Args, " ")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	ok, err := run(ctx, o, os.Stdout, os.Stderr)
	interrupted := ctx.Err() != nil
	cancel()
	stop()
	switch {
	case err != nil && interrupted:
		fmt.Fprintf(os.Stderr, "compare: stopped (%v); everything it started is stopped\n", err)
		os.Exit(1)
	case err != nil:
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	case !ok:
		fmt.Fprintln(os.Stderr, "compare: some requests failed (see the errors columns and the notes): these figures are not comparable")
		os.Exit(1)
	}
}

func (o options) check() error {
	switch {
	case o.express == "":
		return errors.New("-express is required: the Express replica's directory, after npm ci (bench/compare.sh does both)")
	case flag.NArg() > 0:
		return fmt.Errorf("unexpected arguments: %q", flag.Args())
	case o.threads < 1 || o.connections < o.threads:
		return errors.New("-t must be at least 1 and -c at least -t (wrk needs a connection per thread)")
	case o.duration < time.Second || o.duration%time.Second != 0:
		return errors.New("-d must be a whole number of seconds, at least 1s (wrk takes seconds)")
	case o.latency < 0 || o.warmup < 0 || o.pages < 1 || o.timeout <= 0:
		return errors.New("-latency and -warmup must not be negative, -pages and -timeout must be positive")
	case o.gomaxprocs < 0 || o.gomaxprocs > 1024:
		return errors.New("-gomaxprocs must be from 0 (unset) to 1024")
	}
	return nil
}

// server is the app, the replica or the floor, running.
type server struct {
	name  string // as in the table's headings
	url   string // base URL
	pid   int
	alive func() error // nil while it runs
	log   *tail

	// sample is the first failed answer met, for the notes.
	sampleMu sync.Mutex
	sample   string
}

// noteFailure keeps the first failure seen on s.
func (s *server) noteFailure(route string, status int, body []byte, err error) {
	s.sampleMu.Lock()
	defer s.sampleMu.Unlock()
	if s.sample != "" {
		return
	}
	if err != nil {
		s.sample = fmt.Sprintf("GET %s: %s", route, clip(err.Error(), 300))
		return
	}
	s.sample = fmt.Sprintf("GET %s: %d %s: %q", route, status, http.StatusText(status), pageText(body, 300))
}

// measure is one wrk run on one server and route.
type measure struct {
	wrk   wrkResult
	ticks int64 // the server's CPU over the run
}

// bytesRow is one row of the bytes table.
type bytesRow struct {
	label            string
	bytes, api, toks float64 // per page
	noTokens         bool    // the row fetches no token per page
	err              error
}

func run(ctx context.Context, o options, out, progress io.Writer) (bool, error) {
	started, loadBefore := time.Now(), loadAverage()
	wrkPath, err := exec.LookPath(o.wrk)
	if err != nil {
		return false, fmt.Errorf("wrk is missing (%v): install it with apt-get install -y wrk, or run bench/compare.sh, which does", err)
	}
	o.wrk = wrkPath
	nodePath, err := exec.LookPath(o.node)
	if err != nil {
		return false, fmt.Errorf("node is missing (%v): install Node.js 20 or later (apt-get install -y nodejs npm)", err)
	}
	if o.express, err = filepath.Abs(o.express); err != nil {
		return false, err
	}
	if _, err := os.Stat(filepath.Join(o.express, "app.js")); err != nil {
		return false, fmt.Errorf("no Express replica in %s: %v", o.express, err)
	}
	if _, err := os.Stat(filepath.Join(o.express, "node_modules", "express", "package.json")); err != nil {
		return false, fmt.Errorf("the Express replica in %s has no node_modules/express: run npm ci there (bench/compare.sh does)", o.express)
	}
	clk, clkSource := clockTicks(ctx)

	tmp, err := os.MkdirTemp("", "compare-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)

	// The app's binary.
	src, bin := o.src, o.bin
	if bin == "" {
		if src == "" {
			if src, err = sampleapp.Root(); err != nil {
				return false, err
			}
		}
		bin = filepath.Join(tmp, "app")
		fmt.Fprintf(progress, "building the app from %s\n", src)
		if err := sampleapp.Build(ctx, src, bin); err != nil {
			return false, err
		}
	}
	floorBin := filepath.Join(tmp, "floor")
	fmt.Fprintf(progress, "building the floor (bench/cmd/floor)\n")
	if err := buildFloor(ctx, floorBin); err != nil {
		return false, err
	}

	// One stand-in for all three servers.
	bb := standin.New(standin.Options{Key: standin.DemoKey, Secret: standin.DemoSecret, NoRecord: true})
	bb.SetLatency(o.latency)
	base, stopStandin, err := bb.Start()
	if err != nil {
		return false, err
	}
	defer stopStandin() //nolint:errcheck // done with it
	env := sampleapp.Env(base, standin.DemoKey, standin.DemoSecret, workspace)
	if o.gomaxprocs > 0 {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(o.gomaxprocs))
	}

	// The app, in an empty directory: no .env, no config.json.
	appDir := filepath.Join(tmp, "run")
	if err := os.Mkdir(appDir, 0o700); err != nil {
		return false, err
	}
	appLog := &tail{max: 16 << 10}
	startCtx, cancelStart := context.WithTimeout(ctx, 30*time.Second)
	app, err := sampleapp.Start(startCtx, sampleapp.Options{Bin: bin, Dir: appDir, Env: env, Stderr: appLog})
	cancelStart()
	if err != nil {
		return false, fmt.Errorf("the app failed to start: %w; its log:\n%s", err, appLog)
	}
	defer app.Stop(10 * time.Second) //nolint:errcheck // it may have exited on Ctrl+C already
	fmt.Fprintf(progress, "app: %s (pid %d)\n", app.URL, app.Pid())

	client := sampleapp.Client(8)
	defer client.CloseIdleConnections()
	ex, err := startExpress(ctx, nodePath, o.express, env, client)
	if err != nil {
		return false, err
	}
	defer ex.stop(5 * time.Second)
	fmt.Fprintf(progress, "Express replica: %s (pid %d)\n", ex.url, ex.pid())

	servers := []*server{
		{name: appName, url: app.URL, pid: app.Pid(), log: appLog, alive: exited("the app", app, appLog)},
		{name: expressName, url: ex.url, pid: ex.pid(), log: ex.log, alive: ex.alive},
	}

	// Warm-up, not counted: the app's token, kept-alive connections to
	// the stand-in, node's JIT.
	for _, s := range servers {
		for _, route := range routes {
			fmt.Fprintf(progress, "warming up %s %s: %d requests\n", s.name, route, o.warmup)
			if err := warmUp(ctx, client, s, route, o.warmup); err != nil {
				return false, err
			}
		}
	}

	// The floor, serving pages of the app's sizes, warmed up the same way.
	sizes, err := measureSizes(ctx, client, app.URL)
	if err != nil {
		return false, err
	}
	floorLog := &tail{max: 8 << 10}
	startCtx, cancelStart = context.WithTimeout(ctx, 30*time.Second)
	fl, err := sampleapp.Start(startCtx, sampleapp.Options{Bin: floorBin, Dir: appDir, Env: sizes.env(env), Stderr: floorLog})
	cancelStart()
	if err != nil {
		return false, fmt.Errorf("the floor (bench/cmd/floor) failed to start: %w; its log:\n%s", err, floorLog)
	}
	defer fl.Stop(5 * time.Second) //nolint:errcheck // it may have exited on Ctrl+C already
	fmt.Fprintf(progress, "bare Go floor: %s (pid %d), pages of %d and %d bytes\n", fl.URL, fl.Pid(), sizes.landing, sizes.results)
	floor := &server{name: floorName, url: fl.URL, pid: fl.Pid(), log: floorLog, alive: exited("the floor", fl, floorLog)}
	servers = append(servers, floor)
	for _, route := range routes {
		fmt.Fprintf(progress, "warming up %s %s: %d requests\n", floor.name, route, o.warmup)
		if err := warmUp(ctx, client, floor, route, o.warmup); err != nil {
			return false, err
		}
	}

	// The CPU a request costs, route by route.
	// The order rotates by route, so that each server goes first once.
	results := map[string]map[string]measure{}
	orders := map[string][]string{}
	for i, route := range routes {
		k := i % len(servers)
		order := slices.Concat(servers[k:], servers[:k])
		for _, s := range order {
			orders[route] = append(orders[route], s.name)
		}
		results[route] = map[string]measure{}
		for _, s := range order {
			if err := s.alive(); err != nil {
				return false, err
			}
			fmt.Fprintf(progress, "wrk -t%d -c%d -d%s %s%s (%s)\n", o.threads, o.connections, wrkDuration(o.duration), s.url, route, s.name)
			before, err := cpuTicks(s.pid)
			if err != nil {
				return false, fmt.Errorf("%s's CPU time: %w", s.name, err)
			}
			r, err := runWrk(ctx, o, s.url+route)
			if err != nil {
				return false, err
			}
			after, err := cpuTicks(s.pid)
			if err != nil {
				return false, fmt.Errorf("%s's CPU time (has it exited?): %w; %v", s.name, err, s.alive())
			}
			results[route][s.name] = measure{wrk: r, ticks: after - before}
			// wrk leaves up to -c requests in flight when it stops: let
			// them finish before the next server runs.
			if err := quiesce(ctx, bb, o.latency); err != nil {
				return false, err
			}
			if r.Non2xx+r.SocketErrors() > 0 {
				// wrk does not say what failed: ask once more.
				status, body, err := get(ctx, client, s.url+route)
				if err != nil || status >= 400 {
					s.noteFailure(route, status, body, err)
				}
			}
		}
	}

	// The bytes a results page reads from Bitbucket.
	fmt.Fprintf(progress, "counting Bitbucket bytes over %d results pages each\n", o.pages)
	rows := []bytesRow{
		pageBytes(ctx, client, bb, servers[0], o.pages, "App (`fields=`, concurrent calls, token cached)", nil),
		directBytes(ctx, base, bb, o.pages),
		pageBytes(ctx, client, bb, servers[1], o.pages, "Express replica (no `fields=`, a token a page)", listsRepositories),
	}
	for _, s := range servers {
		if err := s.alive(); err != nil {
			return false, err
		}
	}

	info := machine(ctx, src, o.bin != "", o.express)
	info.load = "load average " + loadBefore + " when it started"
	if o.expressFrom != "" {
		info.express = strings.Replace(info.express, o.express, "a copy of "+o.expressFrom, 1)
	}
	ok := report(out, o, started, info, clk, clkSource, results, orders, sizes, rows, servers)
	return ok, nil
}

// quiesce waits until nothing has reached the stand-in for 3 latencies
// and a quarter of a second: no results page is still on its way, since a
// page calls the stand-in at least once a latency until it is done. It
// gives up after 30 s.
func quiesce(ctx context.Context, bb *standin.Server, latency time.Duration) error {
	quiet := 3*latency + 250*time.Millisecond
	deadline := time.Now().Add(30 * time.Second)
	seen := func() int { return bb.TokenRequests() + bb.APIRequests() }
	last, since := seen(), time.Now()
	for time.Since(since) < quiet {
		if time.Now().After(deadline) {
			return errors.New("the stand-in was still being called 30 s after wrk stopped")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if n := seen(); n != last {
			last, since = n, time.Now()
		}
	}
	return nil
}

// warmUp makes n requests to route, four at a time, and notes the first
// failure. Only a server that cannot be reached at all is an error.
func warmUp(ctx context.Context, client *http.Client, s *server, route string, n int) error {
	var next, refused int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(4, n) {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n || ctx.Err() != nil {
					return
				}
				status, body, err := get(ctx, client, s.url+route)
				if err != nil || status >= 400 {
					s.noteFailure(route, status, body, err)
				}
				if err != nil {
					mu.Lock()
					refused++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if n > 0 && refused == n {
		return fmt.Errorf("%s answered none of %d warm-up requests to %s: %s; %v", s.name, n, route, s.sample, s.alive())
	}
	return nil
}

// pageBytes loads s's results page n times, one after the other, and
// returns what the stand-in counted per page. check, if set, looks at
// each page.
func pageBytes(ctx context.Context, client *http.Client, bb *standin.Server, s *server, n int, label string, check func([]byte) error) bytesRow {
	row := bytesRow{label: label}
	b0, a0, t0 := bb.BodyBytes(), bb.APIRequests(), bb.TokenRequests()
	for i := range n {
		status, body, err := get(ctx, client, s.url+"/oauth-callback")
		if err == nil && status != http.StatusOK {
			s.noteFailure("/oauth-callback", status, body, nil)
			err = fmt.Errorf("status %d: %q", status, pageText(body, 200))
		}
		if err == nil && check != nil {
			err = check(body)
		}
		if err != nil {
			row.err = fmt.Errorf("page %d of %d: %w", i+1, n, err)
			return row
		}
	}
	f := float64(n)
	row.bytes = float64(bb.BodyBytes()-b0) / f
	row.api = float64(bb.APIRequests()-a0) / f
	row.toks = float64(bb.TokenRequests()-t0) / f
	return row
}

// listsRepositories checks that a replica's page lists repositories of the
// workspace: it renders a page with 200 whatever the API answered.
func listsRepositories(body []byte) error {
	if !strings.Contains(string(body), "<li>"+workspace+"/") {
		return fmt.Errorf("the page lists no repository of %s: %q", workspace, pageText(body, 200))
	}
	return nil
}

// directBytes makes, n times, the two API calls the app made before it
// asked for fields=, with one token from the stand-in, and returns the
// body bytes the stand-in counted per pair.
func directBytes(ctx context.Context, base string, bb *standin.Server, n int) bytesRow {
	row := bytesRow{label: "The same two calls without `fields=`", noTokens: true}
	client := &http.Client{Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	token, err := clientCredentialsToken(ctx, client, base+"/site/oauth2/access_token")
	if err != nil {
		row.err = err
		return row
	}
	paths := []string{
		"/2.0/workspaces/" + workspace,
		"/2.0/repositories/" + workspace + "?pagelen=10&sort=-updated_on",
	}
	b0, a0 := bb.BodyBytes(), bb.APIRequests()
	for range n {
		for _, p := range paths {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+p, nil)
			if err != nil {
				row.err = err
				return row
			}
			req.Header.Set("Accept", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err != nil {
				row.err = fmt.Errorf("GET %s: %w", p, err)
				return row
			}
			io.Copy(io.Discard, resp.Body) //nolint:errcheck // counted by the stand-in
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				row.err = fmt.Errorf("GET %s: status %d", p, resp.StatusCode)
				return row
			}
		}
	}
	row.bytes = float64(bb.BodyBytes()-b0) / float64(n)
	row.api = float64(bb.APIRequests()-a0) / float64(n)
	return row
}

// clientCredentialsToken gets an access token with the client credentials
// grant and the demo consumer, as the app does.
func clientCredentialsToken(ctx context.Context, client *http.Client, tokenURL string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(standin.DemoKey), url.QueryEscape(standin.DemoSecret))
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		return "", fmt.Errorf("token request: status %d, no access token (%v)", resp.StatusCode, err)
	}
	return tok.AccessToken, nil
}

var (
	tags   = regexp.MustCompile(`(?s)<(script|style)\b.*?</(script|style)>|<[^>]*>`)
	spaces = regexp.MustCompile(`\s+`)
)

// wrkVersion keeps "wrk 4.1.0" of wrk -v's line, without the copyright.
func wrkVersion(line string) string {
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "wrk" {
		return ""
	}
	return f[0] + " " + f[1]
}

// pageText is the visible text of an HTML page, on one line, clipped: what
// a failure looked like.
func pageText(body []byte, n int) string {
	s := tags.ReplaceAllString(string(body), " ")
	s = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'", "&#34;", `"`).Replace(s)
	return clip(strings.TrimSpace(spaces.ReplaceAllString(s, " ")), n)
}

// machineInfo says where and on what the figures were measured.
type machineInfo struct {
	nproc, cpu, goVersion, node, wrk, app, express, load string
}

// loadAverage is the one-minute load average from /proc/loadavg: how busy
// the machine was before this run added its own load, a hint of the noise
// others bring to the shared CPUs.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) > 0 {
		if _, err := strconv.ParseFloat(f[0], 64); err == nil {
			return f[0]
		}
	}
	return "unknown"
}

func machine(ctx context.Context, src string, prebuilt bool, expressDir string) machineInfo {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	line := func(name string, args ...string) string {
		out, _ := exec.CommandContext(ctx, name, args...).CombinedOutput() // wrk -v exits 1
		first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return clip(strings.TrimSpace(first), 120)
	}
	m := machineInfo{
		nproc:     cmp.Or(line("nproc"), strconv.Itoa(runtime.NumCPU())),
		cpu:       "unknown CPU",
		goVersion: cmp.Or(line("go", "version"), runtime.Version()),
		node:      cmp.Or(line("node", "--version"), "unknown"),
		wrk:       cmp.Or(wrkVersion(line("wrk", "-v")), "wrk, version unknown"),
	}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.Lines(string(data)) {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = clip(strings.TrimSpace(v), 120)
				break
			}
		}
	}
	switch {
	case prebuilt:
		m.app = "a prebuilt binary (-bin)"
	case src != "":
		m.app = "built from " + src
		if c := line("git", "-C", src, "rev-parse", "--short", "HEAD"); c != "" && !strings.Contains(c, " ") {
			m.app += " at commit " + c
			if line("git", "-C", src, "status", "--porcelain", "--untracked-files=no") != "" {
				m.app += " with uncommitted changes"
			}
		}
	}
	m.express = expressDir
	if data, err := os.ReadFile(filepath.Join(expressDir, "node_modules", "express", "package.json")); err == nil {
		var pkg struct{ Version string }
		if json.Unmarshal(data, &pkg) == nil && pkg.Version != "" {
			m.express += ", express " + clip(pkg.Version, 40)
		}
	}
	return m
}
