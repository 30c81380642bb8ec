package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"bitbucket-client-credentials-sample/internal/config"
	"bitbucket-client-credentials-sample/internal/standin"
)

// The test consumer. The secret has characters that x/oauth2 query-escapes
// before Basic-encoding, so the stand-in's unescaping is exercised too.
const (
	testKey    = "test-consumer-key-7d3b9e"
	testSecret = "S3cr3t+With/Special=Chars&more:colons"
)

// syncBuffer is a log destination safe for concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fixture is the app wired to a stand-in Bitbucket, as in demo mode, but
// with a test consumer and a captured log.
//
// It runs two ways. newFixture makes both real servers (httptest), for what
// needs a network: connections, bodies that drip, raw requests.
// newMemFixture runs the app's handler and the stand-in in the test's
// goroutines, with no socket, so that the test can run in a
// testing/synctest bubble, where time is fake: token lifetimes and
// back-offs pass in no time.
type fixture struct {
	t       testing.TB
	bb      *standin.Server
	logs    *syncBuffer
	cfg     config.Config
	handler http.Handler
	app     *httptest.Server // nil in memory
	bbSrv   *httptest.Server // nil in memory
	mem     bool
	// transport, when set, carries the app's requests to the stand-in.
	transport http.RoundTripper
}

// newFixture starts a stand-in and the app. Options adjust the app's
// configuration before it is built. Every response fetched through the
// fixture, and the log at the end, are checked for leaked credentials.
func newFixture(t testing.TB, options ...func(*config.Config)) *fixture {
	t.Helper()
	return startFixture(t, false, options)
}

// newMemFixture is newFixture without sockets (see fixture).
func newMemFixture(t testing.TB, options ...func(*config.Config)) *fixture {
	t.Helper()
	return startFixture(t, true, options)
}

func startFixture(t testing.TB, mem bool, options []func(*config.Config)) *fixture {
	t.Helper()
	cfg := config.Config{ConsumerKey: testKey, ConsumerSecret: testSecret, Host: "127.0.0.1", Timeout: 5 * time.Second}
	for _, o := range options {
		o(&cfg)
	}
	// The stand-in knows the consumer the options settled on.
	bb := standin.New(standin.Options{Key: cfg.ConsumerKey, Secret: cfg.ConsumerSecret})
	f := &fixture{t: t, bb: bb, logs: &syncBuffer{}, mem: mem}
	base := "http://127.0.0.1:7990" // in memory, an address nothing is asked of
	if mem {
		f.transport = roundTripFunc(func(r *http.Request) (*http.Response, error) { return serveInMemory(bb, r) })
	} else {
		bbSrv := httptest.NewUnstartedServer(bb)
		bbSrv.Config.ConnState = bb.ConnState
		bbSrv.Start()
		t.Cleanup(bbSrv.Close)
		base, f.bbSrv = bbSrv.URL, bbSrv
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = base + "/site/oauth2/access_token"
	}
	if cfg.APIURL == "" {
		cfg.APIURL = base + "/2.0"
	}
	t.Cleanup(func() { f.assertNoLeak("the log", f.logs.String()) })
	return f.rebuild(cfg)
}

// rebuild starts another app with cfg against the same stand-in and log:
// for cases that need a configuration the stand-in cannot give.
func (f *fixture) rebuild(cfg config.Config) *fixture {
	f.t.Helper()
	h, err := newServer(cfg, newTestLogger(f.logs), f.transport)
	if err != nil {
		f.t.Fatalf("newServer: %v", err)
	}
	g := *f
	g.cfg, g.handler, g.app = cfg, h, nil
	if !f.mem {
		g.app = newTestServer(f.t, h)
	}
	return &g
}

// serveInMemory answers r with h, in the caller's goroutine. A handler
// that waits (a stand-in's Hang) watches the request's context, and the
// caller gets the context's error, as from a network.
func serveInMemory(h http.Handler, r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if r.Body != nil {
		r.Body.Close()
	}
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}

func newTestServer(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// closedPortURL returns the URL of a loopback port nothing listens on.
func closedPortURL(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func withWorkspace(ws string) func(*config.Config) {
	return func(c *config.Config) { c.Workspace = ws }
}

func withTimeout(d time.Duration) func(*config.Config) {
	return func(c *config.Config) { c.Timeout = d }
}

// noRedirects is the tests' HTTP client: it shows a redirect as the
// answer it is, rather than following it.
var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// response is what a test sees of one page load.
type response struct {
	status int
	header http.Header
	body   string
}

// get fetches path from the app without following redirects.
func (f *fixture) get(path string) response {
	f.t.Helper()
	return f.do(http.MethodGet, path)
}

func (f *fixture) do(method, path string) response {
	f.t.Helper()
	return f.send(httptest.NewRequest(method, "http://localhost:3000"+path, nil))
}

// send makes req to the app (its URL's host is the Host header; the
// fixture puts the request where the app listens), and checks the answer
// for leaked credentials.
func (f *fixture) send(req *http.Request) response {
	f.t.Helper()
	var resp *http.Response
	if f.app == nil {
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, req)
		resp = rec.Result()
	} else {
		out, err := http.NewRequest(req.Method, f.app.URL+req.URL.RequestURI(), nil)
		if err != nil {
			f.t.Fatal(err)
		}
		out.Header, out.Host = req.Header, req.Host
		if resp, err = noRedirects.Do(out); err != nil {
			f.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
		}
	}
	body := readAll(f.t, resp)
	r := response{status: resp.StatusCode, header: resp.Header, body: body}
	var headers strings.Builder
	resp.Header.Write(&headers) //nolint:errcheck // writes to memory
	f.assertNoLeak(req.Method+" "+req.URL.Path, headers.String()+r.body)
	return r
}

// assertNoLeak fails the test if text holds the consumer secret (raw or as
// x/oauth2 escapes it) or any access token the stand-in ever issued.
func (f *fixture) assertNoLeak(where, text string) {
	f.t.Helper()
	secrets := map[string]string{
		"the consumer secret":         testSecret,
		"the escaped consumer secret": url.QueryEscape(testSecret),
	}
	// The Basic credentials, raw and form-encoded, as they are and in base64.
	for _, pair := range []string{testKey + ":" + testSecret, url.QueryEscape(testKey) + ":" + url.QueryEscape(testSecret)} {
		secrets["the Basic pair "+pair] = pair
		secrets["the Basic pair in base64 "+pair] = base64.StdEncoding.EncodeToString([]byte(pair))
	}
	for i, tok := range f.bb.IssuedTokens() {
		secrets[fmt.Sprintf("access token #%d", i+1)] = tok
	}
	for what, s := range secrets {
		if strings.Contains(text, s) {
			f.t.Errorf("%s contains %s", where, what)
		}
	}
}
