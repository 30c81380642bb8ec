package main

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"bitbucket-client-credentials-sample/internal/config"
	"bitbucket-client-credentials-sample/internal/serving"
	"bitbucket-client-credentials-sample/internal/standin"
)

// running is the whole program started through run, as main starts it.
type running struct {
	url    string
	stdout *serveWatcher
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
	stopMu sync.Mutex
	err    error // what run returned, once wait has seen it
	ended  bool
}

// serveWatcher is run's stdout. It hands over the URL from the line
// "Serving on URL (...)" as soon as run writes it, so tests wait for the
// event rather than polling for it.
type serveWatcher struct {
	syncBuffer
	once sync.Once
	url  chan string
}

func (w *serveWatcher) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	if u, ok := serving.URL(w.String()); ok {
		w.once.Do(func() { w.url <- u })
	}
	return n, err
}

// startRun calls run with PORT=0 (a free port) and returns once it serves.
// It never reads a config.json: -config points at a file that is not there.
// The program is stopped at the end of the test, or earlier by stop.
func startRun(tb testing.TB, env map[string]string, args ...string) *running {
	tb.Helper()
	vars := map[string]string{"PORT": "0"}
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stdout: &serveWatcher{url: make(chan string, 1)}, logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	argv := append([]string{"app", "-config", "/nonexistent/config.json"}, args...)
	go func() { r.done <- run(ctx, argv, envOf(vars), r.stdout, r.logs) }()
	tb.Cleanup(func() {
		r.cancel()
		if !r.wait(15 * time.Second) {
			tb.Error("run did not return after its context was cancelled")
		}
	})
	select {
	case r.url = <-r.stdout.url:
		return r
	case err := <-r.done:
		r.done <- err
		tb.Fatalf("run returned before serving: %v\n%s", err, r.logs)
	case <-time.After(10 * time.Second):
		tb.Fatalf("run did not start serving:\n%s", r.logs)
	}
	return nil
}

// wait reports whether run has returned, waiting up to d for it.
func (r *running) wait(d time.Duration) bool {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	if !r.ended {
		select {
		case r.err = <-r.done:
			r.ended = true
		case <-time.After(d):
		}
	}
	return r.ended
}

// result is what run returned, once wait has seen it return.
func (r *running) result() error {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	return r.err
}

func (r *running) get(path string) response {
	return r.do(http.MethodGet, path)
}

func (r *running) do(method, path string) response {
	req, _ := http.NewRequest(method, r.url+path, nil)
	resp, err := noRedirects.Do(req)
	if err != nil {
		return response{body: err.Error()}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// TestRunDemoMode: with no credentials, the program starts its own
// stand-in, and every route works against it.
func TestRunDemoMode(t *testing.T) {
	r := startRun(t, nil)
	if !strings.HasPrefix(r.url, "http://localhost:") {
		t.Errorf("serving on %s, want http://localhost:PORT", r.url)
	}
	checkRoutes(t, r.get, r.do)
	for _, path := range []string{"/", "/oauth-callback", "/no/such/page"} {
		if body := r.get(path).body; !strings.Contains(body, "Demo mode.") || !strings.Contains(body, ".env") {
			t.Errorf("%s lacks the demo-mode banner saying how to switch", path)
		}
	}
	if page := r.get("/oauth-callback").body; !strings.Contains(page, "bitbucket-demo") || !strings.Contains(page, "api-gateway") {
		t.Error("the demo results page lacks the demo workspace and its repositories")
	}
	if landing := r.get("/").body; !strings.Contains(landing, mask(standin.DemoKey)) {
		t.Error("the demo landing page lacks the masked demo key")
	}
	for _, want := range []string{"demo mode: using the built-in Bitbucket stand-in", "listening url=" + r.url} {
		if !strings.Contains(r.logs.String(), want) {
			t.Errorf("start-up log lacks %q:\n%s", want, r.logs)
		}
	}
}

func TestRunBitbucketModeBanner(t *testing.T) {
	f := newFixture(t)
	r := startRun(t, map[string]string{
		"BITBUCKET_CONSUMER_KEY": testKey, "BITBUCKET_CONSUMER_SECRET": testSecret,
		"BITBUCKET_TOKEN_URL": f.cfg.TokenURL, "BITBUCKET_API_URL": f.cfg.APIURL,
	})
	if body := r.get("/").body; !strings.Contains(body, "Bitbucket mode.") || !strings.Contains(body, "-demo") {
		t.Error("the landing page lacks the Bitbucket-mode banner saying how to switch")
	}
	if !strings.Contains(r.logs.String(), "msg=\"bitbucket mode\"") {
		t.Errorf("the start-up log does not say Bitbucket mode:\n%s", r.logs)
	}
	if n := len(f.bb.Requests()); n != 0 {
		t.Errorf("start-up called Bitbucket %d times", n)
	}
	f.assertNoLeak("the program's log", r.logs.String())
}

// TestRunStopsGracefully: when the app is told to stop (SIGINT or SIGTERM
// cancel run's context), a page in flight finishes within the grace
// period; one that would take longer gets its calls cancelled and a 503
// page saying the app is stopping. Either way run returns nil (exit 0).
func TestRunStopsGracefully(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		latency time.Duration // of each stand-in answer; the grace is half of BITBUCKET_TIMEOUT (2s)
		status  int
		want    string
	}{
		{"page finishes within the grace", 100 * time.Millisecond, http.StatusOK, "api-gateway"},
		{"page cut short", 1500 * time.Millisecond, http.StatusServiceUnavailable, "The app is stopping"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.bb.SetLatency(c.latency)
			r := startRun(t, map[string]string{
				"BITBUCKET_CONSUMER_KEY": testKey, "BITBUCKET_CONSUMER_SECRET": testSecret,
				"BITBUCKET_TOKEN_URL": f.cfg.TokenURL, "BITBUCKET_API_URL": f.cfg.APIURL,
				"BITBUCKET_WORKSPACE": "bitbucket-demo", "BITBUCKET_TIMEOUT": "2s",
			})
			inFlight := make(chan response, 1)
			go func() { inFlight <- r.get("/oauth-callback") }()
			for f.bb.TokenRequests() == 0 { // the page load has reached the token request
				time.Sleep(time.Millisecond)
			}
			r.cancel() // what SIGINT and SIGTERM do
			if !r.wait(10 * time.Second) {
				t.Fatal("run did not return after being told to stop")
			}
			if err := r.result(); err != nil {
				t.Fatalf("run returned %v, want nil", err)
			}
			if resp := <-inFlight; resp.status != c.status || !strings.Contains(resp.body, c.want) {
				t.Errorf("the in-flight page got %d, want %d with %q: %.300s", resp.status, c.status, c.want, resp.body)
			}
			if resp := r.get("/healthcheck"); resp.status != 0 {
				t.Errorf("the stopped server still answers: %d", resp.status)
			}
			if !strings.Contains(r.logs.String(), "shutting down") {
				t.Error("the log does not say the server is shutting down")
			}
		})
	}
}

// TestServerLimits: the server the app builds cuts off slow clients, and
// gives a results page time for its calls to Bitbucket.
func TestServerLimits(t *testing.T) {
	srv := newHTTPServer(config.Config{Timeout: 10 * time.Second}, http.NotFoundHandler(), newTestLogger(io.Discard))
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Errorf("a limit is unset: %+v", srv)
	}
	if srv.WriteTimeout < pageBudget(10*time.Second) {
		t.Errorf("WriteTimeout %v is shorter than a page's upstream calls may take", srv.WriteTimeout)
	}
}

func TestRunWarnsBeyondLoopback(t *testing.T) {
	r := startRun(t, map[string]string{"HOST": "0.0.0.0"})
	if !strings.Contains(r.logs.String(), "listening beyond this machine") {
		t.Errorf("no warning when listening on 0.0.0.0:\n%s", r.logs)
	}
	r2 := startRun(t, nil)
	if strings.Contains(r2.logs.String(), "listening beyond this machine") {
		t.Error("a warning on loopback")
	}
}

func TestRunErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, busyPort, _ := net.SplitHostPort(ln.Addr().String())

	tests := []struct {
		name string
		env  map[string]string
		code int
		want string
	}{
		{"bad PORT", map[string]string{"PORT": "eighty"}, 2, `PORT: want a whole number`},
		{"bad timeout", map[string]string{"BITBUCKET_TIMEOUT": "soon"}, 2, "BITBUCKET_TIMEOUT"},
		{"plain http to another machine", map[string]string{"BITBUCKET_TOKEN_URL": "http://bitbucket.org/site/oauth2/access_token"},
			2, "use https"},
		{"port in use", map[string]string{"PORT": busyPort}, 1, "another server using the port"},
		{"ALLOWED_HOSTS over a public suffix", map[string]string{"ALLOWED_HOSTS": "dev.example,.com"}, 2, "list the exact names"},
		{"ALLOWED_HOSTS over a shared domain", map[string]string{"ALLOWED_HOSTS": "*.nip.io"}, 2, "nip.io"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), []string{"app", "-config", t.TempDir() + "/absent.json"},
				envOf(tt.env), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %q", err, tt.want)
			}
			if got := exitCode(err); got != tt.code {
				t.Errorf("exit code %d, want %d", got, tt.code)
			}
		})
	}
	if exitCode(nil) != 0 || exitCode(errors.New("x")) != 1 {
		t.Error("exitCode: want 0 for nil and 1 for other errors")
	}
}

// TestRunHelp: -help prints the flags and is a clean exit, not an error.
func TestRunHelp(t *testing.T) {
	var stderr strings.Builder
	err := run(context.Background(), []string{"app", "-help"}, envOf(nil), io.Discard, &stderr)
	if err != nil || exitCode(err) != 0 {
		t.Fatalf("err = %v (exit %d), want nil (exit 0)", err, exitCode(err))
	}
	if !strings.Contains(stderr.String(), "-demo") {
		t.Errorf("-help does not print the flags:\n%s", stderr.String())
	}
}

// TestDemoWalkthrough follows the README's demo walkthrough word for word:
// the export lines and curl commands the results page prints, run in a
// shell while the app runs, get a token and a page of repositories from the
// stand-in.
func TestDemoWalkthrough(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl on this machine")
	}
	r := startRun(t, nil)
	page := r.get("/oauth-callback").body
	var blocks []string
	for _, m := range regexp.MustCompile(`(?s)<pre><code>(.*?)</code></pre>`).FindAllStringSubmatch(page, -1) {
		blocks = append(blocks, strings.TrimSpace(html.UnescapeString(m[1])))
	}
	find := func(part string) string {
		for _, b := range blocks {
			if strings.Contains(b, part) {
				return b
			}
		}
		t.Fatalf("the page prints no command with %q; it prints %q", part, blocks)
		return ""
	}
	exports := find("export BITBUCKET_CONSUMER_KEY=")
	tokenCurl := find("curl -sS -X POST")
	reposCurl := find("/2.0/repositories/")
	shell := func(script string) string {
		out, err := exec.Command("sh", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("sh -c %q: %v\n%s", script, err, out)
		}
		return string(out)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if out := shell(exports + "\n" + tokenCurl); json.Unmarshal([]byte(out), &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("the token command printed %q, want JSON with an access_token", out)
	}
	out := shell("export BITBUCKET_ACCESS_TOKEN=" + tok.AccessToken + "\n" + reposCurl)
	if !strings.Contains(out, `"full_name": "bitbucket-demo/api-gateway"`) && !strings.Contains(out, `"full_name":"bitbucket-demo/api-gateway"`) {
		t.Errorf("the repositories command printed %.300q, want a page of the demo repositories", out)
	}
}
