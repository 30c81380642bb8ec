// Command loadtest puts the app under concurrent load and reports what the
// performance issue asks for: page latency percentiles against the floor
// set by Bitbucket's latency, the token requests made, new upstream
// connections, and the app's resident set.
//
// It builds the app, starts it as a process of its own in Bitbucket mode
// against an in-process stand-in for Bitbucket that answers after a fixed
// latency, and then:
//
//  1. times start-up: from starting the process to the first 200 from
//     /healthcheck, and checks that nothing reached the stand-in meanwhile;
//  2. fires -c concurrent cold page loads at once (one token request, whatever
//     the load);
//  3. fires -pages warm page loads (/oauth-callback), -c at a time;
//  4. fires -mixed requests over /, /healthcheck, /oauth-callback,
//     /oauth-callback?page=2 and /static/style.css, -c at a time, and reads
//     the app's resident set (VmRSS, Linux) afterwards;
//  5. stops the app with SIGTERM and reports its CPU time.
//
// Everything stays on loopback, and the run is bounded by -timeout. It exits
// with status 1 when a target is missed.
//
// Usage (from bench/, the module holding the benchmark and load tooling;
// the app's source is found above it):
//
//	go run ./cmd/loadtest                       # or, from the root: make load
//	go run ./cmd/loadtest -c 200 -latency 100ms
//	go run ./cmd/loadtest -workspace ''         # discover the workspace
package main

import (
	"context"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"bitbucket-client-credentials-sample/bench/internal/latency"
	"bitbucket-client-credentials-sample/bench/internal/sampleapp"
	"bitbucket-client-credentials-sample/internal/standin"
)

// Targets from the issue.
const (
	maxStartup = 100 * time.Millisecond
	maxRSS     = 30 << 20 // bytes, after the mixed requests
)

type options struct {
	bin, src      string
	latency       time.Duration
	concurrency   int
	pages, mixed  int
	workspace     string
	tokenLifetime int
	timeout       time.Duration
	appLog        string
	appEnv        envList
	tls           bool
	paths         string
	cold          int
}

// envList collects repeated -appenv flags.
type envList []string

func (l *envList) String() string { return strings.Join(*l, " ") }

func (l *envList) Set(s string) error {
	if !strings.Contains(s, "=") {
		return errors.New("want NAME=VALUE")
	}
	*l = append(*l, s)
	return nil
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "the app `binary`; empty: build it from -src with go build")
	flag.StringVar(&o.src, "src", "", "the app's source `directory`, for go build; empty: the nearest one at or above the working directory")
	flag.DurationVar(&o.latency, "latency", 50*time.Millisecond, "the stand-in's latency L per request")
	flag.IntVar(&o.concurrency, "c", 50, "concurrent requests")
	flag.IntVar(&o.pages, "pages", 2000, "warm page loads of /oauth-callback")
	flag.IntVar(&o.mixed, "mixed", 10000, "mixed requests, after the warm page loads")
	flag.StringVar(&o.workspace, "workspace", "bitbucket-demo", "BITBUCKET_WORKSPACE for the app; empty: the app discovers it")
	flag.IntVar(&o.tokenLifetime, "token-lifetime", 7200, "the stand-in's token lifetime, in `seconds`")
	flag.DurationVar(&o.timeout, "timeout", 3*time.Minute, "bound on the whole run")
	flag.StringVar(&o.appLog, "applog", "", "write the app's log to this `file`; empty: discard it")
	flag.BoolVar(&o.tls, "tls", false, "serve the stand-in over TLS with HTTP/2, as Bitbucket does (the app trusts its certificate through SSL_CERT_FILE)")
	flag.IntVar(&o.cold, "cold", -1, "concurrent cold page loads right after start-up; -1: as many as -c, 0: none")
	flag.StringVar(&o.paths, "paths", "/,/healthcheck,/oauth-callback,/oauth-callback?page=2,/static/style.css",
		"the mixed requests' `paths`, comma-separated, taken in turn")
	flag.Var(&o.appEnv, "appenv", "add `NAME=VALUE` to the app's environment, such as GOMEMLIMIT=24MiB (repeatable)")
	flag.Parse()
	if o.cold < 0 {
		o.cold = o.concurrency
	}
	if o.paths == "" || o.concurrency < 1 || o.pages < 0 || o.mixed < 0 || o.latency < 0 || o.tokenLifetime < 1 {
		fmt.Fprintln(os.Stderr, "loadtest: -paths must not be empty, -c and -token-lifetime positive, -pages, -mixed and -latency not negative")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	ok, err := runLoad(ctx, o, os.Stdout)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

// target is one line of the final verdict.
type target struct {
	name, got string
	ok        bool
}

func runLoad(ctx context.Context, o options, out io.Writer) (bool, error) {
	tmp, err := os.MkdirTemp("", "loadtest-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)

	// The app binary.
	bin := o.bin
	if bin == "" {
		src := o.src
		if src == "" {
			if src, err = sampleapp.Root(); err != nil {
				return false, err
			}
		}
		bin = filepath.Join(tmp, "app")
		start := time.Now()
		if err := sampleapp.Build(ctx, src, bin); err != nil {
			return false, err
		}
		fmt.Fprintf(out, "built the app from %s in %v\n", src, time.Since(start).Round(time.Millisecond))
	}

	// The stand-in for Bitbucket, with the demo consumer.
	bb := standin.New(standin.Options{ExpiresIn: o.tokenLifetime})
	bb.SetLatency(o.latency)
	var bbURL string
	var appEnv []string
	if o.tls {
		srv := httptest.NewUnstartedServer(bb)
		srv.Config.ConnState = bb.ConnState
		srv.EnableHTTP2 = true
		srv.StartTLS()
		defer srv.Close()
		certFile := filepath.Join(tmp, "standin.pem")
		pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		if err := os.WriteFile(certFile, pemCert, 0o600); err != nil {
			return false, err
		}
		bbURL, appEnv = srv.URL, []string{"SSL_CERT_FILE=" + certFile}
	} else {
		base, stopStandin, err := bb.Start()
		if err != nil {
			return false, err
		}
		defer stopStandin() //nolint:errcheck // done with it
		bbURL = base
	}
	fmt.Fprintf(out, "stand-in: %s, latency %v a request\n", bbURL, o.latency)

	// The app, in Bitbucket mode, in an empty directory: no .env, no
	// config.json.
	var targets []target
	env := sampleapp.Env(bbURL, standin.DemoKey, standin.DemoSecret, o.workspace)
	env = append(env, appEnv...)
	env = append(env, o.appEnv...)
	appOpts := sampleapp.Options{Bin: bin, Dir: tmp, Env: env}
	if o.appLog != "" {
		f, err := os.Create(o.appLog)
		if err != nil {
			return false, err
		}
		defer f.Close()
		appOpts.Stderr = f
	}

	// 1. Start-up.
	app, err := sampleapp.Start(ctx, appOpts)
	if err != nil {
		return false, fmt.Errorf("%w (see -applog)", err)
	}
	stopped := false
	defer func() { // on every way out
		if !stopped {
			app.Kill()
		}
	}()
	base := app.URL
	client := newClient(o.concurrency)
	if err := waitHealthy(ctx, client, base); err != nil {
		return false, err
	}
	startup := time.Since(app.Started)
	upstreamAtStart := bb.NewConns() + bb.TokenRequests() + len(bb.Requests())
	fmt.Fprintf(out, "start-up: %v from starting the process to the first 200 from /healthcheck; "+
		"the stand-in saw %d connections and %d requests meanwhile\n",
		startup.Round(100*time.Microsecond), bb.NewConns(), bb.TokenRequests()+len(bb.Requests()))
	targets = append(targets,
		target{fmt.Sprintf("start-up < %v", maxStartup), startup.Round(100 * time.Microsecond).String(), startup < maxStartup},
		target{"no Bitbucket call at start-up", strconv.Itoa(upstreamAtStart) + " connections+requests", upstreamAtStart == 0})
	rssIdle, _ := procStatus(app.Pid(), "VmRSS")

	// 2. A burst of cold page loads.
	runStart := time.Now()
	cold := fire(ctx, client, base, o.cold, o.cold, func(int) string { return "/oauth-callback" })
	if err := cold.err(); err != nil {
		return false, fmt.Errorf("cold page loads: %w", err)
	}
	if o.cold > 0 {
		fmt.Fprintf(out, "cold: %d concurrent /oauth-callback from start: %v; token requests %d, workspace listings %d\n",
			o.cold, cold.all(), bb.TokenRequests(), listings(bb))
	}

	// 3. Warm page loads.
	before := snapshot(bb)
	warm := fire(ctx, client, base, o.pages, o.concurrency, func(int) string { return "/oauth-callback" })
	if err := warm.err(); err != nil {
		return false, fmt.Errorf("warm page loads: %w", err)
	}
	after := snapshot(bb)
	ratio := ""
	if o.latency > 0 {
		ratio = fmt.Sprintf("; p50/L %.3f", float64(warm.all().P50)/float64(o.latency))
	}
	fmt.Fprintf(out, "warm: %d /oauth-callback, %d at a time: %v%s\n", o.pages, o.concurrency, warm.all(), ratio)
	fmt.Fprintf(out, "      upstream: %d token requests, %d API requests (%.2f a page), %d new connections\n",
		after.tokens-before.tokens, after.api-before.api, float64(after.api-before.api)/float64(max(o.pages, 1)), after.conns-before.conns)

	// 4. Mixed requests.
	paths := strings.Split(o.paths, ",")
	before = snapshot(bb)
	mixed := fire(ctx, client, base, o.mixed, o.concurrency, func(i int) string { return paths[i%len(paths)] })
	if err := mixed.err(); err != nil {
		return false, fmt.Errorf("mixed requests: %w", err)
	}
	after = snapshot(bb)
	elapsed := time.Since(runStart)
	fmt.Fprintf(out, "mixed: %d requests, %d at a time: %v\n", o.mixed, o.concurrency, mixed.all())
	for _, p := range paths {
		fmt.Fprintf(out, "      %-24s %v\n", p, mixed.path(p))
	}
	fmt.Fprintf(out, "      upstream: %d token requests, %d API requests, %d new connections\n",
		after.tokens-before.tokens, after.api-before.api, after.conns-before.conns)
	rss, rssErr := procStatus(app.Pid(), "VmRSS")
	hwm, _ := procStatus(app.Pid(), "VmHWM")
	if rssErr == nil {
		fmt.Fprintf(out, "app resident set: %s after start-up, %s after the mixed requests (peak %s)\n", mb(rssIdle), mb(rss), mb(hwm))
		targets = append(targets, target{fmt.Sprintf("resident set < %s after %d mixed requests", mb(maxRSS), o.mixed), mb(rss), rss < maxRSS})
	} else {
		fmt.Fprintf(out, "app resident set: unknown (%v)\n", rssErr)
	}

	// The app renews a token a minute before it expires, or half-way
	// through a shorter life (bitbucket/bitbucket.go), so each renewal interval may cost
	// one token request, whatever the load.
	tokens, lists := bb.TokenRequests(), listings(bb)
	lifetime := time.Duration(o.tokenLifetime) * time.Second
	renewEvery := lifetime - min(time.Minute, lifetime/2)
	maxTokens := 1 + int(elapsed/renewEvery)
	fmt.Fprintf(out, "token requests: %d in all over %v of load (token lifetime %v, renewed every %v); workspace listings: %d\n",
		tokens, elapsed.Round(time.Millisecond), lifetime, renewEvery, lists)
	targets = append(targets, target{fmt.Sprintf("token requests ≤ one per token lifetime (%d)", maxTokens), strconv.Itoa(tokens), tokens >= 1 && tokens <= maxTokens})
	if o.workspace == "" {
		targets = append(targets, target{"workspace listings ≤ one per token", strconv.Itoa(lists), lists <= tokens})
	}

	// 5. Stop the app as a terminal or a supervisor would.
	ps, err := app.Stop(15 * time.Second)
	stopped = true
	if err != nil {
		fmt.Fprintf(out, "app exit: %v\n", err)
	}
	if ps != nil {
		cpu := ps.UserTime() + ps.SystemTime()
		n := max(o.cold+o.pages+o.mixed, 1)
		fmt.Fprintf(out, "app CPU: %v user + %v system = %.0f µs a request over %d requests\n",
			ps.UserTime().Round(time.Millisecond), ps.SystemTime().Round(time.Millisecond),
			float64(cpu.Microseconds())/float64(n), n)
	}
	targets = append(targets, target{"every response 200", fmt.Sprintf("%d non-200", cold.bad+warm.bad+mixed.bad), cold.bad+warm.bad+mixed.bad == 0})

	fmt.Fprintln(out, "targets:")
	allOK := true
	for _, t := range targets {
		verdict := "ok"
		if !t.ok {
			verdict, allOK = "MISSED", false
		}
		fmt.Fprintf(out, "  %-50s %-12s %s\n", t.name, t.got, verdict)
	}
	return allOK, nil
}

func newClient(concurrency int) *http.Client {
	return sampleapp.Client(concurrency)
}

// waitHealthy gets /healthcheck until it answers 200. The app listens
// before it prints its address, so the first try normally succeeds.
func waitHealthy(ctx context.Context, client *http.Client, base string) error {
	for {
		status, _, err := get(ctx, client, base+"/healthcheck")
		if err == nil && status == http.StatusOK {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for /healthcheck: %w (last: %d, %v)", ctx.Err(), status, err)
		case <-time.After(time.Millisecond):
		}
	}
}

// get fetches u, reads the whole body, and returns how long that took.
func get(ctx context.Context, client *http.Client, u string) (int, time.Duration, error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), err
}

// results are the outcomes of one batch of requests.
type results struct {
	paths  []string
	durs   []time.Duration
	bad    int // answers other than 200
	errs   []error
	sample string // the first non-200
}

// fire makes n requests, concurrency at a time, request i to path(i).
func fire(ctx context.Context, client *http.Client, base string, n, concurrency int, path func(int) string) *results {
	r := &results{paths: make([]string, n), durs: make([]time.Duration, n)}
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(concurrency, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				p := path(i)
				status, d, err := get(ctx, client, base+p)
				r.paths[i], r.durs[i] = p, d
				if err != nil || status != http.StatusOK {
					mu.Lock()
					if err != nil {
						r.errs = append(r.errs, fmt.Errorf("GET %s: %w", p, err))
					} else {
						r.bad++
						if r.sample == "" {
							r.sample = fmt.Sprintf("GET %s: %d", p, status)
						}
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		r.errs = append(r.errs, err)
	}
	return r
}

func (r *results) err() error {
	if len(r.errs) > 0 {
		return fmt.Errorf("%d requests failed, the first: %w", len(r.errs), r.errs[0])
	}
	if r.bad > 0 {
		return fmt.Errorf("%d answers were not 200, the first: %s", r.bad, r.sample)
	}
	return nil
}

func (r *results) all() latency.Summary { return latency.Summarize(r.durs) }

func (r *results) path(p string) latency.Summary {
	var d []time.Duration
	for i, q := range r.paths {
		if q == p {
			d = append(d, r.durs[i])
		}
	}
	return latency.Summarize(d)
}

// counts is what the stand-in has counted so far.
type counts struct{ tokens, api, conns int }

func snapshot(bb *standin.Server) counts {
	return counts{bb.TokenRequests(), bb.APIRequests(), bb.NewConns()}
}

// listings counts workspace discoveries: GET /2.0/user/workspaces.
func listings(bb *standin.Server) int {
	n := 0
	for _, r := range bb.Requests() {
		if r.Path == "/2.0/user/workspaces" {
			n++
		}
	}
	return n
}

// procStatus reads a size such as VmRSS from /proc/PID/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		value, ok := strings.CutPrefix(line, field+":")
		if !ok {
			continue
		}
		f := strings.Fields(value) // "12345 kB"
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			break
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func mb(bytes int64) string { return fmt.Sprintf("%.1f MB", float64(bytes)/(1<<20)) }
