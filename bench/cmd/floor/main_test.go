package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeBitbucket is a tiny Bitbucket: a token endpoint that wants the
// consumer in Basic auth, and the two API calls the floor makes, which
// want that token and the app's fields=. fail makes the API answer 500.
type fakeBitbucket struct {
	tokens, calls atomic.Int32
	fail          atomic.Bool
}

func (b *fakeBitbucket) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/site/oauth2/access_token" {
		user, pass, ok := r.BasicAuth()
		if r.Method != http.MethodPost || !ok || user != "key%2B1" || pass != "secret" ||
			r.ParseForm() != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		b.tokens.Add(1)
		io.WriteString(w, `{"access_token":"tok","token_type":"bearer","expires_in":7200}`) //nolint:errcheck // test
		return
	}
	b.calls.Add(1)
	want, ok := map[string]url.Values{
		"/2.0/workspaces/ws one":   {"fields": {workspaceFields}},
		"/2.0/repositories/ws one": {"fields": {repoFields}, "pagelen": {"10"}, "sort": {"-updated_on"}},
	}[r.URL.Path]
	switch {
	case r.Header.Get("Authorization") != "Bearer tok":
		http.Error(w, "no token", http.StatusUnauthorized)
	case !ok || r.URL.Query().Encode() != want.Encode():
		http.Error(w, "unexpected call "+r.URL.String(), http.StatusNotFound)
	case b.fail.Load():
		http.Error(w, "down", http.StatusInternalServerError)
	default:
		io.WriteString(w, `{"values":[]}`) //nolint:errcheck // test
	}
}

func TestFloor(t *testing.T) {
	bb := &fakeBitbucket{}
	api := httptest.NewServer(bb)
	defer api.Close()
	cfg := config{key: "key+1", secret: "secret", tokenURL: api.URL + "/site/oauth2/access_token", apiURL: api.URL + "/2.0",
		workspace: "ws one", landingBytes: 5000, resultsBytes: 12345}
	srv := httptest.NewServer(newFloor(cfg, api.Client()))
	defer srv.Close()

	for _, c := range []struct {
		name, path  string
		fail        bool
		status      int
		contentType string
		size        int    // of the body; -1: any
		body        string // the body starts with it
		tokens      int32  // token requests so far
		calls       int32  // API calls so far
	}{
		{name: "healthcheck", path: "/healthcheck", status: 200, contentType: "application/json", size: -1, body: `{"status":"ok"}`},
		{name: "landing", path: "/", status: 200, contentType: "text/html; charset=utf-8", size: 5000, body: "<!doctype html>"},
		{name: "results", path: "/oauth-callback", status: 200, contentType: "text/html; charset=utf-8", size: 12345, tokens: 1, calls: 2},
		{name: "results again, same token", path: "/oauth-callback", status: 200, size: 12345, tokens: 1, calls: 4},
		{name: "API down", path: "/oauth-callback", fail: true, status: 502, size: -1, body: "GET /2.0/", tokens: 1, calls: 6},
		{name: "not found", path: "/nope", status: 404, size: -1, tokens: 1, calls: 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			bb.fail.Store(c.fail)
			resp, err := http.Get(srv.URL + c.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d: %q", resp.StatusCode, c.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); c.contentType != "" && ct != c.contentType {
				t.Errorf("Content-Type %q, want %q", ct, c.contentType)
			}
			if c.size >= 0 && (len(body) != c.size || resp.ContentLength != int64(c.size)) {
				t.Errorf("%d bytes, Content-Length %d; want %d", len(body), resp.ContentLength, c.size)
			}
			if !strings.HasPrefix(string(body), c.body) {
				t.Errorf("body %q, want it to start with %q", clip(body), c.body)
			}
			if n, m := bb.tokens.Load(), bb.calls.Load(); n != c.tokens || m != c.calls {
				t.Errorf("%d token requests and %d API calls so far, want %d and %d", n, m, c.tokens, c.calls)
			}
		})
	}
}

func clip(b []byte) string { return string(b[:min(len(b), 80)]) }

// TestConcurrency: a page makes its two API calls at once, and at most
// maxPagesAtOnce pages call the API at once, as the app's do. The fake
// holds every API call until the test lets them all go.
func TestConcurrency(t *testing.T) {
	var inFlight atomic.Int32
	release := make(chan struct{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/site/oauth2/access_token" {
			io.WriteString(w, `{"access_token":"tok","token_type":"bearer","expires_in":7200}`) //nolint:errcheck // test
			return
		}
		inFlight.Add(1)
		<-release
		io.WriteString(w, `{"values":[]}`) //nolint:errcheck // test
	}))
	defer api.Close()
	cfg := config{key: "k", secret: "s", tokenURL: api.URL + "/site/oauth2/access_token", apiURL: api.URL + "/2.0",
		workspace: "ws", resultsBytes: 10}
	srv := httptest.NewServer(newFloor(cfg, api.Client()))
	defer srv.Close()

	// One page more than the limit.
	var wg sync.WaitGroup
	for range maxPagesAtOnce + 1 {
		wg.Go(func() {
			resp, err := http.Get(srv.URL + "/oauth-callback")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	// Two calls a page, held: only if each page makes its two at once do
	// they all arrive.
	want := int32(2 * maxPagesAtOnce)
	for deadline := time.Now().Add(10 * time.Second); inFlight.Load() < want; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			n := inFlight.Load()
			close(release)
			wg.Wait()
			t.Fatalf("%d API calls in flight after 10 s, want %d: does a page make its two calls one after the other?", n, want)
		}
	}
	// The extra page's calls would arrive within milliseconds without the
	// limit; with it they never do while the others are held.
	time.Sleep(100 * time.Millisecond)
	if n := inFlight.Load(); n != want {
		t.Errorf("%d API calls in flight, want %d: more than %d pages call the API at once", n, want, maxPagesAtOnce)
	}
	close(release)
	wg.Wait()
	if n := inFlight.Load(); n != want+2 {
		t.Errorf("%d API calls in all, want %d", n, want+2)
	}
}

func TestLoad(t *testing.T) {
	full := map[string]string{
		"BITBUCKET_CONSUMER_KEY": "k", "BITBUCKET_CONSUMER_SECRET": "s",
		"BITBUCKET_TOKEN_URL": "http://127.0.0.1:1/site/oauth2/access_token", "BITBUCKET_API_URL": "http://127.0.0.1:1/2.0/",
		"BITBUCKET_WORKSPACE": "ws", "FLOOR_LANDING_BYTES": "100", "FLOOR_RESULTS_BYTES": "0",
	}
	for _, c := range []struct {
		name    string
		change  map[string]string
		wantErr string
		check   func(config) bool
	}{
		{name: "defaults", check: func(c config) bool {
			return c.host == "127.0.0.1" && c.port == "3000" && c.apiURL == "http://127.0.0.1:1/2.0" && c.landingBytes == 100
		}},
		{name: "host and port", change: map[string]string{"HOST": "::1", "PORT": "0"}, check: func(c config) bool {
			return c.host == "::1" && c.port == "0"
		}},
		{name: "no workspace", change: map[string]string{"BITBUCKET_WORKSPACE": ""}, wantErr: "BITBUCKET_WORKSPACE"},
		{name: "no size", change: map[string]string{"FLOOR_RESULTS_BYTES": ""}, wantErr: "FLOOR_RESULTS_BYTES"},
		{name: "negative size", change: map[string]string{"FLOOR_LANDING_BYTES": "-1"}, wantErr: "FLOOR_LANDING_BYTES"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := load(func(name string) string {
				if v, ok := c.change[name]; ok {
					return v
				}
				return full[name]
			})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("load: error %v, want one naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil || !c.check(got) {
				t.Errorf("load = %+v, %v", got, err)
			}
		})
	}
}

func TestPage(t *testing.T) {
	for _, n := range []int{0, 1, 20, 36, 37, 50000} {
		if p := page(n); len(p) != n || !strings.HasPrefix("<!doctype html><title>floor</title>\n"+strings.Repeat(".", n), string(p)) {
			t.Errorf("page(%d): %d bytes, %q", n, len(p), clip(p))
		}
	}
}

// TestCopiedFromTheApp keeps the constants copied from the app's
// handlers.go in step with it: other fields would make the stand-in answer
// the floor with other bytes than the app.
func TestCopiedFromTheApp(t *testing.T) {
	file, err := parser.ParseFile(token.NewFileSet(), "../../../handlers.go", nil, 0)
	if err != nil {
		t.Fatalf("the app's handlers.go: %v", err)
	}
	app := map[string]string{}
	ast.Inspect(file, func(n ast.Node) bool {
		if spec, ok := n.(*ast.ValueSpec); ok {
			for i, name := range spec.Names {
				if i < len(spec.Values) {
					app[name.Name] = literal(spec.Values[i])
				}
			}
		}
		return true
	})
	for name, floor := range map[string]string{
		"repoFields": strconv.Quote(repoFields), "workspaceFields": strconv.Quote(workspaceFields),
		"perPage": strconv.Itoa(perPage), "maxPagesAtOnce": strconv.Itoa(maxPagesAtOnce),
	} {
		if app[name] != floor {
			t.Errorf("%s: the app's handlers.go has %s, the floor %s", name, app[name], floor)
		}
	}
}

// literal is the value of a literal, or of string literals joined with +,
// as Go source: a quoted string or a number.
func literal(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.BasicLit:
		if s, err := strconv.Unquote(e.Value); err == nil {
			return strconv.Quote(s)
		}
		return e.Value
	case *ast.BinaryExpr:
		l, r := literal(e.X), literal(e.Y)
		a, err1 := strconv.Unquote(l)
		b, err2 := strconv.Unquote(r)
		if e.Op == token.ADD && err1 == nil && err2 == nil {
			return strconv.Quote(a + b)
		}
	}
	return "?"
}
