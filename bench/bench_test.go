package bench

// Performance benchmarks: what a page costs, measured against the floor set
// by Bitbucket round trips, with the app as a black box: the binary built
// from the repository root, run in an empty directory, configured by its
// environment only. Run them with `make bench`; plain `go test` never runs
// them.
//
// The stand-in answers every request after a fixed latency L (50 ms, or the
// BENCH_LATENCY environment variable), so a page cannot be faster than
// rounds × L, where rounds counts the round trips to Bitbucket the page
// cannot avoid:
//
//	/healthcheck, /                      0
//	/oauth-callback warm                 1: the workspace and its repositories, concurrently
//	/oauth-callback cold                 2: the token, then the API calls
//	  without a configured workspace     3: the token, the workspace listing, the API calls
//
// Each page benchmark reports the median page latency (p50-ms) and its ratio
// to the floor (ratio-to-floor); a page with no round trip reports
// ratio-to-L, the share of one round it costs. upstream-round is the warm
// page's one round made by a bare client, with no app: the floor as this
// machine reaches it, the baseline to read the other ratios against. The
// benchmarks also report what the stand-in saw per page load: token
// requests, API requests and new TCP connections. Nothing here fails on a
// duration: the figures are written down in docs/performance.md.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"bitbucket-client-credentials-sample/bench/internal/latency"
	"bitbucket-client-credentials-sample/bench/internal/sampleapp"
	"bitbucket-client-credentials-sample/internal/standin"
)

// defaultBenchLatency is L, the stand-in's latency per request.
const defaultBenchLatency = 50 * time.Millisecond

// benchRatioTarget is the bound on median latency / (rounds × L).
// A median above it is logged, not failed.
const benchRatioTarget = 1.15

// benchWorkspace is the stand-in's workspace with three pages of repositories.
const benchWorkspace = "bitbucket-demo"

func benchLatency(b *testing.B) time.Duration {
	b.Helper()
	s := os.Getenv("BENCH_LATENCY")
	if s == "" {
		return defaultBenchLatency
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		b.Fatalf("BENCH_LATENCY=%q: want a positive Go duration such as 50ms", s)
	}
	return d
}

// The app's binary, built once per run of the benchmarks and removed by
// TestMain.
var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

func appBinary(b *testing.B) string {
	b.Helper()
	built.once.Do(func() {
		root, err := sampleapp.Root()
		if err != nil {
			built.err = err
			return
		}
		if built.dir, err = os.MkdirTemp("", "bench-app-"); err != nil {
			built.err = err
			return
		}
		built.bin = filepath.Join(built.dir, "app")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		built.err = sampleapp.Build(ctx, root, built.bin)
	})
	if built.err != nil {
		b.Fatalf("building the app: %v", built.err)
	}
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// benchEnv is the app, as a process, in front of a stand-in for Bitbucket.
type benchEnv struct {
	bb     *standin.Server
	opts   sampleapp.Options
	app    *sampleapp.Process
	client *http.Client // to the app, kept alive
}

// newBenchEnv starts a stand-in answering after lat, and the app in front of
// it. An empty workspace leaves the app to discover it.
func newBenchEnv(b *testing.B, lat time.Duration, workspace string) *benchEnv {
	b.Helper()
	bin := appBinary(b)
	e := &benchEnv{bb: standin.New(standin.Options{})}
	e.bb.SetLatency(lat)
	base, stop, err := e.bb.Start()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stop() }) //nolint:errcheck // done with it
	e.opts = sampleapp.Options{
		Bin: bin,
		Dir: b.TempDir(), // empty: no config.json, no .env
		Env: sampleapp.Env(base, standin.DemoKey, standin.DemoSecret, workspace),
	}
	e.client = sampleapp.Client(16)
	b.Cleanup(e.client.CloseIdleConnections)
	e.start(b)
	b.Cleanup(func() { e.stop(b) })
	return e
}

func (e *benchEnv) start(b *testing.B) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	app, err := sampleapp.Start(ctx, e.opts)
	if err != nil {
		b.Fatal(err)
	}
	e.app = app
}

// stop stops the app with SIGTERM and wants it to exit cleanly.
func (e *benchEnv) stop(b *testing.B) {
	b.Helper()
	if e.app == nil {
		return
	}
	if _, err := e.app.Stop(15 * time.Second); err != nil {
		b.Errorf("stopping the app: %v", err)
	}
	e.app = nil
}

// restart replaces the app with a new process: no token, no upstream
// connection, no workspace listing yet.
func (e *benchEnv) restart(b *testing.B) {
	b.Helper()
	e.stop(b)
	e.client.CloseIdleConnections()
	e.start(b)
}

// get loads path from the app and returns how long the whole response took.
func (e *benchEnv) get(b *testing.B, path string) time.Duration {
	start := time.Now()
	resp, err := e.client.Get(e.app.URL + path)
	if err != nil {
		b.Fatalf("GET %s: %v", path, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("GET %s: reading the body: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: status %d, want 200", path, resp.StatusCode)
	}
	return d
}

// benchCounts is what the stand-in has counted so far.
type benchCounts struct{ tokens, api, conns int }

func (e *benchEnv) counts() benchCounts {
	return benchCounts{e.bb.TokenRequests(), e.bb.APIRequests(), e.bb.NewConns()}
}

// benchPageCase is one page benchmark.
type benchPageCase struct {
	name       string
	path       string // empty: no app, the warm page's round made by a bare client
	workspace  string // BITBUCKET_WORKSPACE; empty: discovered
	rounds     int    // round trips to Bitbucket the page cannot avoid
	cold       bool   // a new app process before each page load
	wantTokens int    // token requests per page load
}

// BenchmarkPage times page loads against a stand-in with latency L.
func BenchmarkPage(b *testing.B) {
	lat := benchLatency(b)
	for _, c := range []benchPageCase{
		{name: "healthcheck", path: "/healthcheck", workspace: benchWorkspace},
		{name: "landing", path: "/", workspace: benchWorkspace},
		{name: "callback-warm", path: "/oauth-callback", workspace: benchWorkspace, rounds: 1},
		{name: "upstream-round", workspace: benchWorkspace, rounds: 1},
		{name: "callback-cold", path: "/oauth-callback", workspace: benchWorkspace, rounds: 2, cold: true, wantTokens: 1},
		{name: "callback-warm-discover", path: "/oauth-callback", rounds: 1},
		{name: "callback-cold-discover", path: "/oauth-callback", rounds: 3, cold: true, wantTokens: 1},
	} {
		b.Run(c.name, func(b *testing.B) { benchPage(b, lat, c) })
	}
}

func benchPage(b *testing.B, lat time.Duration, c benchPageCase) {
	e := newBenchEnv(b, lat, c.workspace)
	load := func() time.Duration { return e.get(b, c.path) }
	if c.path == "" {
		d := newBenchDirect(b, e.opts.Env)
		load = func() time.Duration { return d.round(b) }
	}
	// Warm up: the token, the workspace listing if any, and kept-alive
	// connections, both to the app and upstream.
	load()
	load()

	durs := make([]time.Duration, 0, b.N)
	before := e.counts()
	b.ResetTimer()
	for range b.N {
		if c.cold {
			b.StopTimer()
			e.restart(b)
			b.StartTimer()
		}
		durs = append(durs, load())
	}
	b.StopTimer()
	after := e.counts()

	s := latency.Summarize(durs)
	n := float64(len(durs))
	b.ReportMetric(latency.Ms(s.P50), "p50-ms")
	if c.rounds > 0 {
		ratio := float64(s.P50) / float64(time.Duration(c.rounds)*lat)
		b.ReportMetric(ratio, "ratio-to-floor")
		if ratio > benchRatioTarget && len(durs) >= 10 { // not the 1-iteration probe run
			b.Logf("median %v is %.3f × the floor of %d × %v: above the %.2f target", s.P50, ratio, c.rounds, lat, benchRatioTarget)
		}
	} else {
		b.ReportMetric(float64(s.P50)/float64(lat), "ratio-to-L")
	}
	b.ReportMetric(float64(after.tokens-before.tokens)/n, "token-req/op")
	b.ReportMetric(float64(after.api-before.api)/n, "api-req/op")
	b.ReportMetric(float64(after.conns-before.conns)/n, "new-conns/op")

	// What the page costs in calls, not in time: these do not depend on the
	// machine.
	if got := after.tokens - before.tokens; got != c.wantTokens*len(durs) {
		b.Errorf("%d token requests for %d page loads, want %d", got, len(durs), c.wantTokens*len(durs))
	}
	if c.rounds == 0 && after != before {
		b.Errorf("%s called Bitbucket: %+v before, %+v after", c.path, before, after)
	}
	if !c.cold && after.conns != before.conns {
		b.Errorf("%d new upstream connections during a warm run, want 0", after.conns-before.conns)
	}
}

// benchDirect calls the stand-in as the app does, with nothing else: the
// baseline the app's costs are measured against.
type benchDirect struct {
	client *http.Client
	api    string
	token  string
}

// newBenchDirect gets a token from the stand-in that env (the app's
// environment) points at, with the same consumer.
func newBenchDirect(b *testing.B, env []string) *benchDirect {
	b.Helper()
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	d := &benchDirect{
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
		api:    vars["BITBUCKET_API_URL"],
	}
	b.Cleanup(d.client.CloseIdleConnections)
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequest(http.MethodPost, vars["BITBUCKET_TOKEN_URL"], strings.NewReader(form.Encode()))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(vars["BITBUCKET_CONSUMER_KEY"]), url.QueryEscape(vars["BITBUCKET_CONSUMER_SECRET"]))
	resp, err := d.client.Do(req)
	if err != nil {
		b.Fatalf("token request: %v", err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		b.Fatalf("token request: status %d, %v", resp.StatusCode, err)
	}
	d.token = tok.AccessToken
	return d
}

// round makes the warm results page's one round trip: the workspace and a
// page of its repositories, concurrently. It reads the answers and decodes
// nothing.
func (d *benchDirect) round(b *testing.B) time.Duration {
	start := time.Now()
	paths := []string{"/workspaces/" + benchWorkspace, "/repositories/" + benchWorkspace + "?page=1&pagelen=10"}
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Go(func() { errs[i] = d.get(p) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	return elapsed
}

func (d *benchDirect) get(path string) error {
	req, err := http.NewRequest(http.MethodGet, d.api+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+d.token)
	return benchDo(d.client, req)
}

// benchDo sends req, reads the whole answer (so the connection is reused)
// and wants a 200.
func benchDo(client *http.Client, req *http.Request) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d", req.Method, req.URL, resp.StatusCode)
	}
	return nil
}

// BenchmarkStartup times the built app from starting its process to the
// first 200 from /healthcheck, in Bitbucket mode, and checks that start-up
// does not call Bitbucket: not a request, not a connection.
func BenchmarkStartup(b *testing.B) {
	bin := appBinary(b)
	bb := standin.New(standin.Options{})
	base, stopBB, err := bb.Start()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stopBB() }) //nolint:errcheck // done with it
	opts := sampleapp.Options{
		Bin: bin,
		Dir: b.TempDir(),
		Env: sampleapp.Env(base, standin.DemoKey, standin.DemoSecret, benchWorkspace),
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(u string) error {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		return benchDo(client, req)
	}
	start := func() *sampleapp.Process {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		app, err := sampleapp.Start(ctx, opts)
		if err != nil {
			b.Fatal(err)
		}
		return app
	}
	stop := func(app *sampleapp.Process) {
		if _, err := app.Stop(15 * time.Second); err != nil {
			b.Errorf("stopping the app: %v", err)
		}
	}

	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		app := start()
		if err := get(app.URL + "/healthcheck"); err != nil {
			app.Kill()
			b.Fatal(err)
		}
		durs = append(durs, time.Since(app.Started))
		b.StopTimer()
		stop(app)
		b.StartTimer()
	}
	b.StopTimer()
	if n, t := bb.NewConns(), bb.TokenRequests(); n != 0 || t != 0 || len(bb.Requests()) != 0 {
		b.Errorf("start-up called Bitbucket: %d connections, %d token requests, %d other requests", n, t, len(bb.Requests()))
	}

	// The stand-in does count: the first page load reaches it.
	app := start()
	err = get(app.URL + "/oauth-callback")
	stop(app)
	if err != nil {
		b.Fatal(err)
	}
	if bb.TokenRequests() != 1 || bb.APIRequests() != 2 {
		b.Errorf("first page load: %d token and %d API requests, want 1 and 2", bb.TokenRequests(), bb.APIRequests())
	}

	s := latency.Summarize(durs)
	b.ReportMetric(latency.Ms(s.P50), "p50-ms")
	b.ReportMetric(latency.Ms(s.Max), "max-ms")
}
