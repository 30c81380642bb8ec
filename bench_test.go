package main

// Performance benchmarks: what a page costs, measured against the floor set
// by Bitbucket round trips. Run them with `make bench`; plain `go test` never
// runs them.
//
// The stand-in answers every request after a fixed latency L (50 ms, or the
// BENCH_LATENCY environment variable), so a page cannot be faster than
// rounds × L, where rounds counts the round trips to Bitbucket the page
// cannot avoid:
//
//	/healthcheck, /                      0
//	/oauth-callback warm                 1: the workspace and its repositories, concurrently
//	/oauth-callback cold (or renewing)   2: the token, then the API calls
//	  without a configured workspace     3: the token, the workspace listing, the API calls
//
// Each page benchmark reports the median page latency (p50-ms) and its ratio
// to the floor (ratio-to-floor, target at most 1.15); a page with no round
// trip reports ratio-to-L, the share of one round it costs. They also report
// what the stand-in saw per page load: token requests, API requests and new
// TCP connections.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bitbucket-client-credentials-sample/internal/latency"
	"bitbucket-client-credentials-sample/internal/standin"
)

// defaultBenchLatency is L, the stand-in's latency per request.
const defaultBenchLatency = 50 * time.Millisecond

// benchRatioTarget is the bound on median latency / (rounds × L).
const benchRatioTarget = 1.15

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

// benchLogger formats the app's log lines as the app does, and discards them.
func benchLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// benchEnv is the app served over HTTP in front of the test fixture's
// stand-in. The app behind the server can be replaced, to start cold.
type benchEnv struct {
	f      *fixture
	app    *httptest.Server
	h      atomic.Pointer[http.Handler]
	client *http.Client
}

func newBenchEnv(b *testing.B, lat time.Duration, options ...func(*config)) *benchEnv {
	b.Helper()
	e := &benchEnv{f: newFixture(b, options...)}
	e.f.bb.SetLatency(lat)
	e.newApp(b)
	e.app = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*e.h.Load()).ServeHTTP(w, r)
	}))
	b.Cleanup(e.app.Close)
	// A plain client, kept alive: the benchmarks time the app, not the
	// fixture's leak scan.
	e.client = &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: 16},
	}
	b.Cleanup(e.client.CloseIdleConnections)
	return e
}

// newApp puts a new app behind the server: no token, no upstream
// connection. The previous app's idle upstream connections are closed
// first, so they do not pile up.
func (e *benchEnv) newApp(b *testing.B) {
	b.Helper()
	e.f.bbSrv.CloseClientConnections()
	h, err := newServer(e.f.cfg, benchLogger(), e.f.clock.Now)
	if err != nil {
		b.Fatalf("newServer: %v", err)
	}
	e.h.Store(&h)
}

// get loads path and returns how long the whole response took.
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
	return benchCounts{e.f.bb.TokenRequests(), e.f.bb.APIRequests(), e.f.bb.NewConns()}
}

// benchPageCase is one page benchmark.
type benchPageCase struct {
	name       string
	path       string
	workspace  string // BITBUCKET_WORKSPACE; empty: discovered
	rounds     int    // round trips to Bitbucket the page cannot avoid
	prepare    func(*testing.B, *benchEnv)
	wantTokens int // token requests per page load
}

// BenchmarkPage times page loads against a stand-in with latency L.
func BenchmarkPage(b *testing.B) {
	lat := benchLatency(b)
	newApp := func(b *testing.B, e *benchEnv) { e.newApp(b) }
	tokenExpired := func(b *testing.B, e *benchEnv) { e.f.clock.Advance(2 * time.Hour) }
	for _, c := range []benchPageCase{
		{name: "healthcheck", path: "/healthcheck", workspace: "bitbucket-demo"},
		{name: "landing", path: "/", workspace: "bitbucket-demo"},
		{name: "callback-warm", path: "/oauth-callback", workspace: "bitbucket-demo", rounds: 1},
		// No app: the warm page's one round, made by a bare client. The
		// floor as this machine can reach it.
		{name: "upstream-round", workspace: "bitbucket-demo", rounds: 1},
		// A new app for each page load: no token and no upstream connection yet.
		{name: "callback-cold", path: "/oauth-callback", workspace: "bitbucket-demo", rounds: 2,
			prepare: newApp, wantTokens: 1},
		// The same app after its token's lifetime: the once-per-lifetime renewal.
		{name: "callback-renew", path: "/oauth-callback", workspace: "bitbucket-demo", rounds: 2,
			prepare: tokenExpired, wantTokens: 1},
		{name: "callback-warm-discover", path: "/oauth-callback", rounds: 1},
		{name: "callback-cold-discover", path: "/oauth-callback", rounds: 3,
			prepare: newApp, wantTokens: 1},
	} {
		b.Run(c.name, func(b *testing.B) { benchPage(b, lat, c) })
	}
}

func benchPage(b *testing.B, lat time.Duration, c benchPageCase) {
	var opts []func(*config)
	if c.workspace != "" {
		opts = append(opts, withWorkspace(c.workspace))
	}
	e := newBenchEnv(b, lat, opts...)
	load := func() time.Duration { return e.get(b, c.path) }
	if c.path == "" {
		d := newBenchDirect(b, e.f)
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
		if c.prepare != nil {
			b.StopTimer()
			c.prepare(b, e)
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

	if got := after.tokens - before.tokens; got != c.wantTokens*len(durs) {
		b.Errorf("%d token requests for %d page loads, want %d", got, len(durs), c.wantTokens*len(durs))
	}
	if c.rounds == 0 && after != before {
		b.Errorf("%s called Bitbucket: %+v before, %+v after", c.path, before, after)
	}
	if c.prepare == nil && after.conns != before.conns {
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

// newBenchDirect gets a token from f's stand-in.
func newBenchDirect(b *testing.B, f *fixture) *benchDirect {
	b.Helper()
	d := &benchDirect{
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
		api:    f.cfg.APIURL,
	}
	b.Cleanup(d.client.CloseIdleConnections)
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequest(http.MethodPost, f.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(f.cfg.ConsumerKey), url.QueryEscape(f.cfg.ConsumerSecret))
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
	paths := []string{"/workspaces/bitbucket-demo", "/repositories/bitbucket-demo?page=1&pagelen=10"}
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

// benchWriter is a ResponseWriter that keeps nothing, so that allocs/op
// counts the app's allocations and not a recorder's.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.h }

func (w *benchWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}

func (w *benchWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

// BenchmarkRender serves the landing page and a warm results page straight
// from the handler, with no server in between and a stand-in without
// latency, for allocs/op. The results page's figure includes its two API
// calls, and the in-process stand-in's work answering them: results-upstream
// is that part alone (the same two calls by a bare client), so the app's own
// share is the difference.
func BenchmarkRender(b *testing.B) {
	b.Run("results-upstream", func(b *testing.B) {
		d := newBenchDirect(b, newFixture(b, withWorkspace("bitbucket-demo")))
		d.round(b)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			d.round(b)
		}
	})
	for _, c := range []struct{ name, path string }{
		{"landing", "/"},
		{"results", "/oauth-callback"},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := newFixture(b, withWorkspace("bitbucket-demo"))
			h, err := newServer(f.cfg, benchLogger(), f.clock.Now)
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, c.path, nil)
			w := &benchWriter{h: http.Header{}}
			h.ServeHTTP(w, req) // warm: the token, pooled buffers
			if w.status != http.StatusOK {
				b.Fatalf("GET %s: status %d", c.path, w.status)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				w.reset()
				h.ServeHTTP(w, req)
			}
			b.StopTimer()
			if w.status != http.StatusOK {
				b.Fatalf("GET %s: status %d", c.path, w.status)
			}
			b.ReportMetric(float64(w.n), "page-bytes")
		})
	}
}

// BenchmarkStartup times run, from the call to the first 200 from
// /healthcheck, in Bitbucket mode against a counting stand-in, and checks
// that start-up does not call Bitbucket: not a request, not a connection.
func BenchmarkStartup(b *testing.B) {
	bb := standin.New(standin.Options{Key: testKey, Secret: testSecret})
	bbSrv := httptest.NewUnstartedServer(bb)
	bbSrv.Config.ConnState = bb.ConnState
	bbSrv.Start()
	b.Cleanup(bbSrv.Close)
	env := map[string]string{
		"BITBUCKET_CONSUMER_KEY":    testKey,
		"BITBUCKET_CONSUMER_SECRET": testSecret,
		"BITBUCKET_WORKSPACE":       "bitbucket-demo",
		"BITBUCKET_TOKEN_URL":       bbSrv.URL + "/site/oauth2/access_token",
		"BITBUCKET_API_URL":         bbSrv.URL + "/2.0",
		"HOST":                      "127.0.0.1",
		"PORT":                      "0",
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(u string) error {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		return benchDo(client, req)
	}

	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		app := startRun(b, env)
		if err := get(app.url + "/healthcheck"); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(start))
		b.StopTimer()
		if err := app.stop(); err != nil {
			b.Errorf("run: %v", err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	if n, t := bb.NewConns(), bb.TokenRequests(); n != 0 || t != 0 || len(bb.Requests()) != 0 {
		b.Errorf("start-up called Bitbucket: %d connections, %d token requests, %d other requests", n, t, len(bb.Requests()))
	}

	// The stand-in does count: the first page load reaches it.
	app := startRun(b, env)
	if err := get(app.url + "/oauth-callback"); err != nil {
		b.Fatal(err)
	}
	if err := app.stop(); err != nil {
		b.Errorf("run: %v", err)
	}
	if bb.TokenRequests() != 1 || bb.APIRequests() != 2 {
		b.Errorf("first page load: %d token and %d API requests, want 1 and 2", bb.TokenRequests(), bb.APIRequests())
	}

	s := latency.Summarize(durs)
	b.ReportMetric(latency.Ms(s.P50), "p50-ms")
	b.ReportMetric(latency.Ms(s.Max), "max-ms")
}
