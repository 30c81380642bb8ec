package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"bitbucket-client-credentials-sample/bitbucket"
	"bitbucket-client-credentials-sample/internal/config"
	"bitbucket-client-credentials-sample/internal/explain"
	"bitbucket-client-credentials-sample/internal/standin"
)

// TestRoutes checks every route in Bitbucket mode (the app talking to a
// stand-in as it would to bitbucket.org). TestRunDemoMode covers demo mode.
func TestRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withWorkspace("bitbucket-demo"))
	checkRoutes(t, f.get, f.do)
}

// checkRoutes is shared by both modes: each route's status, content type,
// headers and a piece of visible content.
func checkRoutes(t *testing.T, get func(string) response, do func(method, path string) response) {
	t.Helper()
	tests := []struct {
		name        string
		method      string
		path        string
		status      int
		contentType string
		contains    []string
		header      map[string]string
	}{
		{"landing", "GET", "/", 200, "text/html", []string{
			"client credentials grant", `href="/authorize"`, "OAuth is authorization, not authentication",
			"Resource owner", "Authorization server", "access_token URL", "/static/flow.svg",
		}, nil},
		{"landing HEAD", "HEAD", "/", 200, "text/html", nil, nil},
		{"healthcheck", "GET", "/healthcheck", 200, "application/json", []string{`{"status":"ok"}`}, nil},
		{"authorize", "GET", "/authorize", 303, "text/html", []string{"See Other"},
			map[string]string{"Location": "/oauth-callback"}},
		{"authorize carries the query", "GET", "/authorize?workspace=demo-labs&page=2", 303, "text/html", nil,
			map[string]string{"Location": "/oauth-callback?workspace=demo-labs&page=2"}},
		{"callback", "GET", "/oauth-callback", 200, "text/html", []string{"api-gateway", "Bearer", "Basic &lt;redacted&gt;"},
			map[string]string{"Cache-Control": "no-store"}},
		{"css", "GET", "/static/style.css", 200, "text/css", []string{":root"}, nil},
		{"diagram", "GET", "/static/flow.svg", 200, "image/svg+xml", []string{"<title", "<desc"}, nil},
		{"narrow diagram", "GET", "/static/flow-narrow.svg", 200, "image/svg+xml", []string{"<title", "<desc"}, nil},
		{"static folder", "GET", "/static/", 404, "text/html", []string{"no such file"}, nil},
		{"missing static file", "GET", "/static/missing.css", 404, "text/html", nil, nil},
		{"unknown path", "GET", "/no/such/page", 404, "text/html", []string{"There is no page at this address."}, nil},
		{"wrong method on landing", "POST", "/", 405, "text/html", nil, map[string]string{"Allow": "GET, HEAD"}},
		{"wrong method on healthcheck", "POST", "/healthcheck", 405, "text/html", nil, map[string]string{"Allow": "GET, HEAD"}},
		{"wrong method on callback", "DELETE", "/oauth-callback", 405, "text/html", nil, map[string]string{"Allow": "GET, HEAD"}},
		{"wrong method on static", "PUT", "/static/style.css", 405, "text/html", nil, map[string]string{"Allow": "GET, HEAD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(tt.method, tt.path)
			if r.status != tt.status {
				t.Fatalf("%s %s: status %d, want %d\n%s", tt.method, tt.path, r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("Content-Type %q, want %s", ct, tt.contentType)
			}
			for _, s := range tt.contains {
				if !strings.Contains(r.body, s) {
					t.Errorf("body lacks %q", s)
				}
			}
			for k, v := range tt.header {
				if got := r.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			// Every page's length is known before it is sent: no chunked encoding.
			if cl := r.header.Get("Content-Length"); tt.method == "GET" && cl != strconv.Itoa(len(r.body)) {
				t.Errorf("Content-Length %q for a body of %d bytes", cl, len(r.body))
			}
			checkSecurityHeaders(t, r.header)
		})
	}
}

func checkSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'", "img-src 'self' https:"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy allows inline code: %q", csp)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
	if got := h.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy = %q", got)
	}
	if got := h.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q", got)
	}
}

func TestHealthcheckNeverCallsBitbucket(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for range 5 {
		if r := f.get("/healthcheck"); r.status != 200 || r.body != "{\"status\":\"ok\"}\n" {
			t.Fatalf("healthcheck: %d %q", r.status, r.body)
		}
	}
	if n := len(f.bb.Requests()); n != 0 {
		t.Errorf("the stand-in got %d requests, want none", n)
	}
}

func TestLandingShowsConfigurationWithoutTheSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withWorkspace("demo-labs"))
	r := f.get("/")
	for _, want := range []string{
		"Bitbucket mode", f.cfg.TokenURL, f.cfg.APIURL, "demo-labs", mask(testKey), "never shown",
		"This is a private consumer", "Account: Read", "Repositories: Read", "BITBUCKET_WORKSPACE",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
	if strings.Contains(r.body, testKey) {
		t.Error("landing page shows the whole consumer key")
	}
}

// TestRequestsAsBitbucketChecksThem inspects what the stand-in received:
// the token request the way Bitbucket's token endpoint checks it, and the
// API calls the way the REST API does.
func TestRequestsAsBitbucketChecksThem(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withWorkspace("bitbucket-demo"))
	if r := f.get("/oauth-callback"); r.status != 200 {
		t.Fatalf("status %d\n%s", r.status, r.body)
	}
	reqs := f.bb.Requests()
	if len(reqs) != 3 {
		t.Fatalf("stand-in got %d requests, want 3 (token, workspace, repositories): %+v", len(reqs), reqs)
	}
	tok := reqs[0]
	if tok.Method != "POST" || tok.Path != "/site/oauth2/access_token" {
		t.Fatalf("first request %s %s, want the token request", tok.Method, tok.Path)
	}
	if tok.ContentType != "application/x-www-form-urlencoded" {
		t.Errorf("token request Content-Type %q", tok.ContentType)
	}
	if got := tok.Form.Encode(); got != "grant_type=client_credentials" {
		t.Errorf("token request body %q, want only grant_type=client_credentials (no scope, no credentials)", got)
	}
	wantBasic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(testKey)+":"+url.QueryEscape(testSecret)))
	if tok.Authorization != wantBasic {
		t.Errorf("token request Authorization is not HTTP Basic with the form-escaped key and secret")
	}
	issued := f.bb.IssuedTokens()
	for _, api := range reqs[1:] {
		if api.Method != "GET" || !strings.HasPrefix(api.Path, "/2.0/") {
			t.Errorf("API request %s %s", api.Method, api.Path)
		}
		if api.Authorization != "Bearer "+issued[0] {
			t.Errorf("%s: Authorization is not the Bearer token", api.Path)
		}
		if strings.Contains(api.RawQuery, "access_token") {
			t.Errorf("%s: token in the query string", api.Path)
		}
	}
}

func TestTokenFetchedOncePerLifetime(t *testing.T) {
	t.Parallel()
	t.Run("sequential", func(t *testing.T) {
		f := newFixture(t)
		for i := range 20 {
			if r := f.get(fmt.Sprintf("/oauth-callback?page=%d", i%3+1)); r.status != 200 {
				t.Fatalf("load %d: status %d", i, r.status)
			}
		}
		if n := f.bb.TokenRequests(); n != 1 {
			t.Errorf("%d token requests for 20 page loads, want 1", n)
		}
		if n := countRequests(f.bb, "/2.0/user/workspaces"); n != 1 {
			t.Errorf("workspace discovery ran %d times, want once per token", n)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		f := newFixture(t) // no workspace: discovery races too
		statuses := loadConcurrently(t, f, "/oauth-callback", 50)
		for s, n := range statuses {
			if s != 200 {
				t.Errorf("%d page loads got %d", n, s)
			}
		}
		if n := f.bb.TokenRequests(); n != 1 {
			t.Errorf("%d token requests for 50 concurrent page loads, want 1", n)
		}
		if n := countRequests(f.bb, "/2.0/user/workspaces"); n != 1 {
			t.Errorf("workspace discovery ran %d times, want 1", n)
		}
	})
}

// loadConcurrently fires n page loads at once and counts their statuses.
func loadConcurrently(t *testing.T, f *fixture, path string, n int) map[int]int {
	t.Helper()
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			status := 0
			resp, err := client.Get(f.app.URL + path)
			if err == nil {
				status = resp.StatusCode
				io.Copy(io.Discard, resp.Body) //nolint:errcheck // only the status counts
				resp.Body.Close()
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return statuses
}

func countRequests(bb *standin.Server, path string) int {
	n := 0
	for _, r := range bb.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

// TestTokenRenewal: the results page reuses the token until shortly
// before it expires, then the next load gets a new one. In a synctest
// bubble, where the token's lifetime passes in no time.
func TestTokenRenewal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		expiresIn int           // 0: Bitbucket's 7200
		noExpiry  bool          // the response has no expires_in
		reusedFor time.Duration // still the cached token after this long
		renewedBy time.Duration // a new token after this long
	}{
		{"Bitbucket's two hours, renewed a minute early", 0, false, 7200*time.Second - time.Minute - time.Second, 7200*time.Second - time.Minute},
		{"short-lived token renewed half-way", 30, false, 14 * time.Second, 15 * time.Second},
		{"no expires_in is short-lived, not eternal", 0, true, 4*time.Minute - time.Second, 4 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newMemFixture(t, withWorkspace("bitbucket-demo"))
				if tt.expiresIn != 0 {
					f.bb.SetExpiresIn(tt.expiresIn)
				}
				if tt.noExpiry {
					f.bb.SetFault(standin.TokenEndpoint, standin.TokenNoExpiresIn)
				}
				mustLoad(t, f, "/oauth-callback")
				time.Sleep(tt.reusedFor)
				r := mustLoad(t, f, "/oauth-callback")
				synctest.Wait()
				if n := f.bb.TokenRequests(); n != 1 {
					t.Fatalf("after %v: %d token requests, want 1", tt.reusedFor, n)
				}
				if !strings.Contains(r.body, "reused the cached token") {
					t.Error("the page does not say the cached token was reused")
				}
				time.Sleep(tt.renewedBy - tt.reusedFor)
				mustLoad(t, f, "/oauth-callback") // still the old token; the renewal starts in the background
				synctest.Wait()
				if n := f.bb.TokenRequests(); n != 2 {
					t.Fatalf("after %v: %d token requests, want 2", tt.renewedBy, n)
				}
				// Step 3 shows the new token, not the last one shown: the
				// token's view is kept from page to page, until a renewal.
				r = mustLoad(t, f, "/oauth-callback")
				section := between(r.body, `<dl class="token">`, `</details>`)
				if old, renewed := mask(f.bb.IssuedTokens()[0]), mask(f.bb.IssuedTokens()[1]); !strings.Contains(section, renewed) || strings.Contains(section, old) {
					t.Errorf("step 3 does not show the renewed token %s alone (old %s):\n%s", renewed, old, section)
				}
			})
		})
	}
}

// between is the part of s from the first start to the end that follows
// it, or "" if there is none.
func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	before, _, ok2 := strings.Cut(after, end)
	if !ok || !ok2 {
		return ""
	}
	return before
}

func mustLoad(t *testing.T, f *fixture, path string) response {
	t.Helper()
	r := f.get(path)
	if r.status != 200 {
		t.Fatalf("GET %s: status %d\n%s", path, r.status, r.body)
	}
	return r
}

func TestResultsPage(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) { // time starts at 2000-01-01 00:00 UTC in a bubble
		f := newMemFixture(t)
		first := mustLoad(t, f, "/oauth-callback")
		issued := f.bb.IssuedTokens()[0]
		for _, want := range []string{
			"Bearer",                  // token type
			"account repository",      // scopes
			mask(issued),              // the token, masked
			"2000-01-01 02:00:00 UTC", // expiry: in 7200 s
			"This token reaches", " of 334 operations", `href="/scopes"`,
			"Bitbucket Demo", // workspace details
			"the first the token can reach",
			"api-gateway", "Routes and rate-limits", "private", "public", "2026-11-27 18:00 UTC", "go", // repositories
			"Page 1 of 3", "23 repositories", `rel="next"`,
			`href="/oauth-callback?workspace=demo-labs"`,       // switch workspace
			"POST " + f.cfg.TokenURL, "Basic &lt;redacted&gt;", // exchanges
			"GET " + f.cfg.APIURL + "/workspaces/bitbucket-demo?fields=", "Bearer " + mask(issued), "200 OK",
			"This page load made the token request.",
			`-u &#34;$BITBUCKET_CONSUMER_KEY:$BITBUCKET_CONSUMER_SECRET&#34;`, // curl with placeholders
			`Authorization: Bearer $BITBUCKET_ACCESS_TOKEN`,
			"git clone &#34;http://x-token-auth:${BITBUCKET_ACCESS_TOKEN}@127.0.0.1:7990/bitbucket-demo/api-gateway.git&#34;",
			"The token endpoint's JSON answer", `&#34;expires_in&#34;: 7200`, // the raw answer, one click away
		} {
			if !strings.Contains(first.body, want) {
				t.Errorf("first results page lacks %q", want)
			}
		}
		if strings.Contains(first.body, `class="failed"`) || !strings.Contains(first.body, "<tr><td>2</td>") {
			t.Error("the exchanges table marks a call that worked as failed")
		}

		second := mustLoad(t, f, "/oauth-callback?workspace=demo-labs")
		for _, want := range []string{
			"This page load reused the cached token: no token request was made.",
			"Demo Labs", "prototype-cli", "chosen on this page", `href="/oauth-callback?workspace=bitbucket-demo"`,
		} {
			if !strings.Contains(second.body, want) {
				t.Errorf("second results page lacks %q", want)
			}
		}
		if strings.Contains(second.body, "POST "+f.cfg.TokenURL) {
			t.Error("the second page shows a token request, but the token was cached")
		}
	})
}

// TestLegacyTokenShape: before May 2026 Bitbucket sent "scopes" and a
// refresh token. The app reads "scopes" when "scope" is missing, and never
// shows a refresh token.
func TestLegacyTokenShape(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withWorkspace("bitbucket-demo"))
	f.bb.SetFault(standin.TokenEndpoint, standin.TokenLegacyShape)
	r := mustLoad(t, f, "/oauth-callback")
	if !strings.Contains(r.body, "<code>account repository</code>") {
		t.Error("the page does not show the scopes from the legacy \"scopes\" field")
	}
	if strings.Contains(r.body, "legacy-refresh-") || strings.Contains(strings.ToLower(r.body), "refresh_token") {
		t.Error("the page shows the refresh token")
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withWorkspace("bitbucket-demo"))
	tests := []struct {
		page       string
		first      string // first repository on the page
		prev, next bool
	}{
		{"", "api-gateway", false, true},
		{"1", "api-gateway", false, true},
		{"2", "docs-site", true, true},
		{"3", "security-policies", true, false},
	}
	for _, tt := range tests {
		t.Run("page="+tt.page, func(t *testing.T) {
			path := "/oauth-callback"
			if tt.page != "" {
				path += "?page=" + tt.page
			}
			r := mustLoad(t, f, path)
			if !strings.Contains(r.body, ">"+tt.first+"</a>") {
				t.Errorf("page %s does not list %s", tt.page, tt.first)
			}
			if got := strings.Contains(r.body, `rel="prev"`); got != tt.prev {
				t.Errorf("previous link shown: %v, want %v", got, tt.prev)
			}
			if got := strings.Contains(r.body, `rel="next"`); got != tt.next {
				t.Errorf("next link shown: %v, want %v", got, tt.next)
			}
		})
	}
	r := mustLoad(t, f, "/oauth-callback?page=9")
	if !strings.Contains(r.body, "No repositories on this page") {
		t.Error("a page past the end does not say it is empty")
	}
	for _, req := range f.bb.Requests() {
		if req.Path == "/2.0/repositories/bitbucket-demo" && !strings.Contains(req.RawQuery, "pagelen=10") {
			t.Errorf("repositories requested without pagelen: %s", req.RawQuery)
		}
	}
}

// TestBadQueryInput: bad input gets a 400 page and nothing reaches Bitbucket.
func TestBadQueryInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct{ name, query, message string }{
		{"page with plus", "page=%2B2", "page must be"},
		{"page with a slash", "page=a%2Fb", "page must be"},
		{"page with an ampersand", "page=a%26sort%3Dname", "page must be"},
		{"page with markup", "page=%3Cscript%3E", "page must be"},
		{"page with a space", "page=a%20b", "page must be"},
		{"non-ASCII page", "page=%C3%B6", "page must be"},
		{"page of 201 characters", "page=" + strings.Repeat("a", 201), "page must be"},
		{"page twice", "page=1&page=2", "only once"},
		{"workspace twice", "workspace=a&workspace=b", "only once"},
		{"path traversal", "workspace=../../user", "workspace must be"},
		{"slash", "workspace=a/b", "workspace must be"},
		{"encoded dots", "workspace=%2e%2e", "workspace must be"},
		{"encoded slash", "workspace=a%2Fb", "workspace must be"},
		{"query smuggling", "workspace=a%3Fpage%3D2", "workspace must be"},
		{"10 kB", "workspace=" + strings.Repeat("a", 10<<10), "workspace must be"},
		{"non-ASCII", "workspace=w%C3%B6rkspace", "workspace must be"},
		{"space", "workspace=a%20b", "workspace must be"},
		{"script", "workspace=%3Cscript%3E", "workspace must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.get("/oauth-callback?" + tt.query)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", r.status)
			}
			if !strings.Contains(r.body, tt.message) {
				t.Errorf("the 400 page does not say %q", tt.message)
			}
			if strings.Contains(r.body, "<script>") {
				t.Error("the 400 page echoes markup")
			}
		})
	}
	if n := len(f.bb.Requests()); n != 0 {
		t.Errorf("bad input reached the stand-in %d times", n)
	}
}

// TestTokenFailures: each way the token request fails gets a page naming
// the step, what Bitbucket said, and a hint, with 502 (504 on a timeout).
func TestTokenFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		setup  func(*config.Config, *standin.Server)
		status int
		want   []string
	}{
		{"wrong secret", func(c *config.Config, _ *standin.Server) { c.ConsumerSecret = "wrong" }, 502,
			[]string{"Token request (POST http://127.0.0.1:", "/site/oauth2/access_token) failed", "HTTP 400", "unauthorized_client", "Invalid OAuth client credentials", "Copy the key and secret again"}},
		{"not an RFC 6749 code Bitbucket sends", func(_ *config.Config, bb *standin.Server) {
			bb.SetFault(standin.TokenEndpoint, standin.TokenInvalidClient)
		}, 502,
			[]string{"HTTP 401", "invalid_client", "not known to send", "Copy the key and secret again"}},
		{"wrong key", func(c *config.Config, _ *standin.Server) { c.ConsumerKey = "wrong-key-123456789" }, 502,
			[]string{"unauthorized_client", "Invalid OAuth client credentials"}},
		{"consumer not private", func(_ *config.Config, bb *standin.Server) {
			bb.SetFault(standin.TokenEndpoint, standin.TokenNotPrivate)
		}, 502,
			[]string{"invalid_grant", "marked as &#34;public&#34;", "This is a private consumer"}},
		{"server error", func(_ *config.Config, bb *standin.Server) {
			bb.SetFault(standin.TokenEndpoint, standin.TokenServerError)
		}, 502,
			[]string{"HTTP 503", "Service Unavailable", "bitbucket.status.atlassian.com", "likely to pass"}},
		{"error in a 200", func(_ *config.Config, bb *standin.Server) {
			bb.SetFault(standin.TokenEndpoint, standin.TokenErrorIn200)
		}, 502,
			[]string{"server_error", "temporarily unavailable", "try again in a minute", "likely to pass"}},
		{"200 without access_token", func(_ *config.Config, bb *standin.Server) {
			bb.SetFault(standin.TokenEndpoint, standin.TokenNoAccessToken)
		}, 502,
			[]string{"held no access token", "BITBUCKET_TOKEN_URL"}},
		{"malformed JSON", func(_ *config.Config, bb *standin.Server) {
			bb.SetFault(standin.TokenEndpoint, standin.TokenMalformedJSON)
		}, 502,
			[]string{"held no access token", "BITBUCKET_TOKEN_URL"}},
		{"HTML instead of JSON", func(_ *config.Config, bb *standin.Server) { bb.SetFault(standin.TokenEndpoint, standin.TokenHTML) }, 502,
			[]string{"held no access token", "not a page of the website"}},
		{"timeout", func(c *config.Config, bb *standin.Server) {
			c.Timeout = 300 * time.Millisecond
			bb.SetFault(standin.TokenEndpoint, standin.Hang)
		}, 504, []string{"timed out", "BITBUCKET_TIMEOUT"}},
		{"connection refused", func(c *config.Config, _ *standin.Server) { c.TokenURL = closedPortURL(t) + "/site/oauth2/access_token" }, 502,
			[]string{"connection was refused", "nothing listens at that address", "failed</strong> with no answer"}},
		{"unresolvable host", func(c *config.Config, _ *standin.Server) {
			c.TokenURL = "http://bitbucket-stand-in.invalid/site/oauth2/access_token"
			c.Timeout = 3 * time.Second
		}, 502, []string{"Cannot resolve the host", "Check the host name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, withWorkspace("bitbucket-demo"))
			bb := f.bb
			cfg := f.cfg
			tt.setup(&cfg, bb)
			f = f.rebuild(cfg)
			r := f.get("/oauth-callback")
			if r.status != tt.status {
				t.Fatalf("status %d, want %d\n%s", r.status, tt.status, r.body)
			}
			for _, want := range append(tt.want, "Token request") {
				if !strings.Contains(r.body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if strings.Contains(r.body, "oauth2: ") || strings.Contains(r.body, "goroutine") {
				t.Error("page shows a Go error string or a stack trace")
			}
			if !strings.Contains(r.body, `<tr class="failed"><td>2</td>`) {
				t.Error("the exchanges table does not mark the token request as failed")
			}
			if n := countRequests(bb, "/2.0/repositories/bitbucket-demo"); n != 0 {
				t.Errorf("the API was called %d times without a token", n)
			}
		})
	}
}

// TestAPIFailures: a failed API call's section shows the status,
// Bitbucket's message and a hint; the rest of the page still renders.
func TestAPIFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		endpoint standin.Endpoint
		fault    standin.Fault
		query    string
		status   int
		want     []string
	}{
		{"403 missing scope", standin.RepositoriesAPI, standin.APIMissingScope, "", 502,
			[]string{"HTTP 403", "lack one or more required privilege scopes", "Repositories: Read", "tick"}},
		{"404 unknown workspace", "", "", "?workspace=no-such-team", 502,
			[]string{"HTTP 404", "No workspace with identifier &#39;no-such-team&#39;.", "Check the workspace ID"}},
		{"410 removed endpoint", standin.RepositoriesAPI, standin.APIRemoved, "", 502,
			[]string{"HTTP 410", "CHANGE-2770", "removed this endpoint"}},
		{"429 rate limited", standin.RepositoriesAPI, standin.APIRateLimited, "", 502,
			[]string{"HTTP 429", "Rate limit for this resource has been exceeded", "per resource group", "1,000 an hour on repositories",
				"rolling hour", "up to an hour", "only for access tokens", "Rate limited at GET /2.0/repositories/bitbucket-demo"}},
		{"500", standin.RepositoriesAPI, standin.APIServerError, "", 502,
			[]string{"HTTP 500", "Something went wrong", "try again in a minute"}},
		{"malformed JSON", standin.RepositoriesAPI, standin.APIMalformed, "", 502,
			[]string{"not the JSON expected"}},
		{"huge body", standin.RepositoriesAPI, standin.APIHugeBody, "", 502,
			[]string{"longer than 1 MiB"}},
		{"401 twice", standin.RepositoriesAPI, standin.APIExpiredToken, "", 502,
			[]string{"HTTP 401", "Access token expired.", "refused a token it had just issued", "exists and is private"}},
		{"timeout", standin.RepositoriesAPI, standin.Hang, "", 504,
			[]string{"timed out", "BITBUCKET_TIMEOUT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, withWorkspace("bitbucket-demo"), withTimeout(500*time.Millisecond))
			if tt.fault != "" {
				f.bb.SetFault(tt.endpoint, tt.fault)
			}
			r := f.get("/oauth-callback" + tt.query)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d\n%s", r.status, tt.status, r.body)
			}
			for _, want := range tt.want {
				if !strings.Contains(r.body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if tt.query == "" && !strings.Contains(r.body, "Bitbucket Demo") {
				t.Error("the workspace details, which succeeded, are missing")
			}
			if !strings.Contains(r.body, "Access token</dt>") {
				t.Error("the token section is missing")
			}
		})
	}
}

func TestExpiredTokenIsDroppedAndRetriedOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withWorkspace("bitbucket-demo"))
	mustLoad(t, f, "/oauth-callback")
	f.bb.RevokeTokens() // Bitbucket now answers 401 to the cached token
	r := mustLoad(t, f, "/oauth-callback")
	if n := f.bb.TokenRequests(); n != 2 {
		t.Errorf("%d token requests, want 2 (one new token after the 401)", n)
	}
	if n := strings.Count(r.body, "answered 401 to the token"); n != 1 {
		t.Errorf("the page explains the retry %d times, want once", n)
	}
	if !strings.Contains(r.body, mask(f.bb.IssuedTokens()[1])) {
		t.Error("the page does not show the new token")
	}
	// Both concurrent calls saw the 401; one new token served both.
	mustLoad(t, f, "/oauth-callback")
	if n := f.bb.TokenRequests(); n != 2 {
		t.Errorf("%d token requests after another load, want 2", n)
	}
}

// TestOnlyWebLinksAreLinked: a link from Bitbucket becomes an href only
// when it is an http(s) URL (html/template escapes text; a javascript:
// link is the app's to drop).
func TestOnlyWebLinksAreLinked(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withWorkspace("bitbucket-demo"))
	f.bb.SetFault(standin.RepositoriesAPI, standin.APIHostileData)
	f.bb.SetFault(standin.WorkspaceAPI, standin.APIHostileData)
	r := mustLoad(t, f, "/oauth-callback")
	if strings.Contains(r.body, "javascript:") || strings.Contains(r.body, "alert(1)&#34;") {
		t.Error("the page links to a javascript: URL")
	}
	if !strings.Contains(r.body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Error("the hostile name is not shown as text")
	}
}

func TestLogs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withWorkspace("bitbucket-demo"))
	mustLoad(t, f, "/oauth-callback?page=2")
	for _, path := range []string{"/nope", "/", "/healthcheck", "/static/style.css", "/static/nope.css", "/static/../oauth-callback"} {
		f.get(path)
	}
	f.do(http.MethodPost, "/")
	logs := f.logs.String()
	// The landing page, health checks and static files are quiet when they
	// succeed; not when they fail or redirect.
	for _, quiet := range []string{"method=GET path=/ ", "path=/healthcheck", "path=/static/style.css"} {
		if strings.Contains(logs, quiet) {
			t.Errorf("the log has a line for %s, which succeeded:\n%s", quiet, logs)
		}
	}
	for _, want := range []string{
		`msg=request method=GET path=/oauth-callback status=200 duration=`,
		`msg=request method=GET path=/nope status=404 duration=`,
		`msg=request method=GET path=/static/nope.css status=404 duration=`,
		`msg=request method=GET path=/static/../oauth-callback status=30`,
		`msg=request method=POST path=/ status=405 duration=`,
		`msg="upstream call" method=POST url=` + f.cfg.TokenURL,
		`msg="upstream call" method=GET url="` + f.cfg.APIURL + `/repositories/bitbucket-demo?fields=`,
		"status=200",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "Bearer ") || strings.Contains(logs, "Basic ") {
		t.Error("the log carries Authorization values")
	}
}

// TestManyConcurrentLoads: 500 concurrent page loads all succeed with one
// token request, no data race (go test -race), and no goroutine left behind.
func TestManyConcurrentLoads(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	baseline := runtime.NumGoroutine()
	// 1,000 upstream calls at once on two cores under -race take seconds:
	// the timeout is for hangs, not for this.
	f := newFixture(t, withWorkspace("bitbucket-demo"), withTimeout(time.Minute))
	statuses := loadConcurrently(t, f, "/oauth-callback", 500)
	if statuses[200] != 500 {
		t.Errorf("statuses %v, want 500 × 200", statuses)
	}
	if n := f.bb.TokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	f.app.Close()
	f.bbSrv.Close()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		runtime.Gosched()
		time.Sleep(20 * time.Millisecond) // polling for goroutines to exit, not timing behaviour
	}
	if n := runtime.NumGoroutine(); n > baseline {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the load, baseline %d:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}

// TestNoSecretInAnyResponseOrLog runs every route under every fault the
// stand-in has, hostile upstreams included. The fixture fails the test if
// the secret, the Basic credentials in any encoding, or any issued access
// token appears in a response (headers or body) or the log; and no log line
// may be longer than a few KiB.
func TestNoSecretInAnyResponseOrLog(t *testing.T) {
	t.Parallel()
	type endpointFault struct {
		endpoint standin.Endpoint
		fault    standin.Fault
	}
	faults := []endpointFault{{"", ""}}
	for _, f := range []standin.Fault{standin.TokenServerError, standin.TokenErrorIn200, standin.TokenNoAccessToken,
		standin.TokenMalformedJSON, standin.TokenHTML, standin.TokenNoExpiresIn, standin.TokenNotPrivate, standin.TokenLegacyShape,
		standin.TokenRateLimited, standin.TokenInvalidClient, standin.TokenNoCallback, standin.TokenPublicConsumer,
		standin.TokenUnsupportedGrant, standin.TokenEchoRequest, standin.TokenEchoHuge, standin.TokenLongScope,
		standin.ProxyAuthRequired, standin.ProxyUnauthorized, standin.ProxyForbidden, standin.ProxyRateLimited,
		standin.Redirect307OtherOrigin, standin.Redirect302OtherOrigin, standin.RedirectSameOrigin, standin.Drip, standin.Hang} {
		faults = append(faults, endpointFault{standin.TokenEndpoint, f})
	}
	for _, e := range []standin.Endpoint{standin.WorkspaceAPI, standin.RepositoriesAPI, standin.UserWorkspaces} {
		for _, f := range []standin.Fault{standin.APIExpiredToken, standin.APIMissingScope, standin.APIRateLimited,
			standin.APIServerError, standin.APIMalformed, standin.APIHugeBody, standin.APIHostileData, standin.APIRemoved,
			standin.APIStringTypes, standin.APITokenNotSupported, standin.APIAuthMechanismRefused, standin.APICursorPages,
			standin.APIEchoAuth401, standin.APIEchoAuth403, standin.APIFlood, standin.APILongStrings, standin.APIShellData,
			standin.ProxyAuthRequired, standin.ProxyUnauthorized, standin.Redirect307OtherOrigin, standin.RedirectSameOrigin,
			standin.Drip, standin.Hang} {
			faults = append(faults, endpointFault{e, f})
		}
	}
	paths := []string{"/", "/healthcheck", "/authorize?workspace=demo-labs", "/oauth-callback", "/oauth-callback?page=2",
		"/oauth-callback?workspace=demo-labs", "/oauth-callback?workspace=unknown-ws", "/oauth-callback?page=x%2F",
		"/static/style.css", "/nope"}
	for _, fc := range faults {
		t.Run(string(fc.endpoint)+"/"+string(fc.fault), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, withTimeout(250*time.Millisecond))
			// A token is cached before the fault. Under -race, next to other
			// packages' tests, this first page can outlast the short
			// timeout that keeps the Hang and Drip cases quick: it is not
			// what the test is about, so it gets three tries.
			for try := 1; ; try++ {
				if r := f.get("/oauth-callback"); r.status == 200 {
					break
				} else if try == 3 {
					t.Fatalf("the page before the fault: status %d, three times\n%s", r.status, r.body)
				}
			}
			f.bb.SetFault(fc.endpoint, fc.fault)
			f.bb.RevokeTokens() // and then refused, so the fault's token request runs too
			for _, p := range paths {
				f.get(p)
			}
			for _, line := range strings.Split(f.logs.String(), "\n") {
				if len(line) > 4<<10 {
					t.Errorf("a log line of %d bytes: %.200s…", len(line), line)
				}
			}
		})
	}
}

// TestForbiddenNamesTheCheckbox: a 403 names the permission to tick and
// where, from detail.required or X-Accepted-OAuth-Scopes, and says when
// there may be more than Bitbucket named.
func TestForbiddenNamesTheCheckbox(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, scopes, fault string
		want                []string
	}{
		{"detail.required", "account", "", []string{"Repositories: Read", "scope <code>repository</code>", "OAuth consumers",
			"necessary, not sufficient", "may name only one of several"}},
		{"an implied scope is enough", "pullrequest account", "", nil}, // Pull requests: Read implies Repositories: Read
		{"X-Accepted-OAuth-Scopes only", "", string(standin.APIMissingScope), []string{"Repositories: Read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, withWorkspace("bitbucket-demo"))
			if tt.scopes != "" {
				f.bb.SetScopes(tt.scopes)
			}
			if tt.fault != "" {
				f.bb.SetFault(standin.RepositoriesAPI, standin.Fault(tt.fault))
			}
			r := f.get("/oauth-callback")
			if tt.want == nil {
				if r.status != 200 {
					t.Fatalf("status %d, want 200\n%s", r.status, r.body)
				}
				return
			}
			if r.status != 502 {
				t.Fatalf("status %d, want 502", r.status)
			}
			for _, want := range tt.want {
				if !strings.Contains(r.body, want) {
					t.Errorf("the failure box lacks %q", want)
				}
			}
		})
	}
}

// TestEveryScopeNamesItsCheckbox: for every scope Bitbucket has, and the
// granular names, the box names the checkbox and where it is.
func TestEveryScopeNamesItsCheckbox(t *testing.T) {
	t.Parallel()
	for _, scope := range []string{"account", "account:write", "email", "team", "team:write", "project", "project:admin",
		"repository", "repository:write", "repository:admin", "repository:delete", "pullrequest", "pullrequest:write", "issue",
		"issue:write", "wiki", "snippet", "snippet:write", "webhook", "pipeline", "pipeline:write", "pipeline:variable",
		"runner", "runner:write", "read:repository:bitbucket", "read:workspace:bitbucket", "read:pullrequest:bitbucket"} {
		e := &bitbucket.Error{Request: "GET /2.0/repositories/x", Status: 403, Message: "Forbidden", Required: []string{scope}}
		v := explain.Failure(context.Background(), e, clip)
		if len(v.Permissions) != 1 || strings.HasPrefix(v.Permissions[0].Label, "the permission for") ||
			!strings.Contains(v.Permissions[0].Where, "OAuth consumers") {
			t.Errorf("%s: %+v", scope, v.Permissions)
		}
	}
}

// After a failed token request, page loads in the next five seconds get
// that failure without a request of their own, and say so; then the next
// page load asks again.
func TestTokenFailureIsRememberedBriefly(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newMemFixture(t, withWorkspace("bitbucket-demo"))
		f.bb.SetFault(standin.TokenEndpoint, standin.TokenServerError)
		first, second := f.get("/oauth-callback"), f.get("/oauth-callback")
		if first.status != 502 || second.status != 502 || f.bb.TokenRequests() != 1 {
			t.Fatalf("statuses %d, %d with %d token requests; want 502 twice and 1 request", first.status, second.status, f.bb.TokenRequests())
		}
		if strings.Contains(first.body, "made no token request") || !strings.Contains(second.body, "so this page made no token request") {
			t.Error("the second page does not say the failure was remembered")
		}
		f.bb.SetFault(standin.TokenEndpoint, standin.NoFault)
		time.Sleep(4 * time.Second)
		if r := f.get("/oauth-callback"); r.status != 502 || f.bb.TokenRequests() != 1 {
			t.Errorf("4 s later: status %d with %d token requests, want the remembered failure", r.status, f.bb.TokenRequests())
		}
		time.Sleep(time.Second)
		mustLoad(t, f, "/oauth-callback")
		if n := f.bb.TokenRequests(); n != 2 {
			t.Errorf("5 s later: %d token requests, want 2", n)
		}
	})
}
