package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"bitbucket-client-credentials-sample/internal/config"
	"bitbucket-client-credentials-sample/internal/web"
)

// getAs fetches path from the fixture's app with the given Host and extra
// headers, without following redirects, and checks the answer for leaks.
func getAs(t *testing.T, f *fixture, host, path string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.app.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", path, host, err)
	}
	body := readAll(t, resp)
	var headers strings.Builder
	resp.Header.Write(&headers) //nolint:errcheck // writes to memory
	f.assertNoLeak("GET "+path, headers.String()+body)
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// rawRequest writes a request to the app over a plain TCP connection, as
// typed (a request line in absolute form, no Host header), and reads the
// answer.
func rawRequest(t *testing.T, f *fixture, request string) response {
	t.Helper()
	conn, err := net.Dial("tcp", f.app.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck // a failed read says enough
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", request, err)
	}
	body := readAll(t, resp)
	f.assertNoLeak("a raw request", body)
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// assertNoUpstreamCall fails the test if the app called the stand-in.
func assertNoUpstreamCall(t *testing.T, f *fixture) {
	t.Helper()
	if n, m := f.bb.TokenRequests(), f.bb.APIRequests(); n != 0 || m != 0 {
		t.Errorf("the app called Bitbucket: %d token requests, %d API requests; want none", n, m)
	}
}

func withAllowedHosts(hosts ...string) func(*config.Config) {
	return func(c *config.Config) { c.AllowedHosts = hosts }
}

// TestHostCheck: the defence against DNS rebinding, as the app applies
// it. Which names are served is config.HostAllowed's unit test; here, one
// served name and one refused: the refusal comes before any handler, says
// what to set, and calls nobody.
func TestHostCheck(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withWorkspace("bitbucket-demo"), withAllowedHosts("dev.example"))
	if r := getAs(t, f, "dev.example:3000", "/", nil); r.status != http.StatusOK {
		t.Errorf("an allowed name: status %d, want 200", r.status)
	}
	r := getAs(t, f, "rebind.example:3000", "/oauth-callback", nil)
	if r.status != http.StatusMisdirectedRequest {
		t.Fatalf("another name: status %d, want 421\n%s", r.status, r.body)
	}
	for _, want := range []string{"421 Misdirected Request", "rebind.example", "ALLOWED_HOSTS", "DNS rebinding"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the refusal lacks %q", want)
		}
	}
	checkSecurityHeaders(t, r.header)
	assertNoUpstreamCall(t, f)
	if logs := f.logs.String(); !strings.Contains(logs, "refused a request for a host name") || !strings.Contains(logs, "status=421") {
		t.Errorf("the log does not record the refusal:\n%s", logs)
	}
}

// TestHostCheckRunsBeforeEveryRoute: the refusal comes before routing, so
// an unknown path or a wrong method gets it too, not a 404 or a 405.
func TestHostCheckRunsBeforeEveryRoute(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/healthcheck"}, {"GET", "/authorize"}, {"GET", "/static/style.css"},
		{"GET", "/no/such/page"}, {"POST", "/oauth-callback"}, {"HEAD", "/"},
	} {
		req, _ := http.NewRequest(tt.method, f.app.URL+tt.path, nil)
		req.Host = "rebind.example:3000"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("%s %s with another Host: status %d, want 421", tt.method, tt.path, resp.StatusCode)
		}
	}
	assertNoUpstreamCall(t, f)
}

// TestHostCheckRawRequests: request lines in absolute form name the host in
// the URL, and Go (as RFC 9112 says) then ignores the Host header; a
// request without any Host is refused.
func TestHostCheckRawRequests(t *testing.T) {
	tests := []struct {
		name    string
		request string
		status  int
	}{
		{"absolute form to another host", "GET http://evil.example/oauth-callback HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 421},
		{"absolute form with port", "GET http://evil.example:3000/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 421},
		{"absolute form to localhost", "GET http://localhost:3000/healthcheck HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", 200},
		{"origin form", "GET /healthcheck HTTP/1.1\r\nHost: localhost:3000\r\nConnection: close\r\n\r\n", 200},
		{"HTTP/1.0 without Host", "GET /oauth-callback HTTP/1.0\r\n\r\n", 421},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, withWorkspace("bitbucket-demo"))
			r := rawRequest(t, f, tt.request)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d\n%s", r.status, tt.status, r.body)
			}
			if tt.status == 421 {
				if !strings.Contains(r.body, "ALLOWED_HOSTS") {
					t.Errorf("the refusal does not say what to set:\n%s", r.body)
				}
				assertNoUpstreamCall(t, f)
			}
		})
	}
}

// TestHostRefusalIsClipped: the refused name comes from the request, so
// the page and the log repeat only its start.
func TestHostRefusalIsClipped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	long := strings.Repeat("x", 1000) + ".example"
	r := getAs(t, f, long, "/", nil)
	if r.status != 421 || strings.Contains(r.body, strings.Repeat("x", config.MaxShown+1)) || !strings.Contains(r.body, strings.Repeat("x", config.MaxShown)+"…") {
		t.Errorf("a 1,000-character host name is not clipped to %d characters (status %d)", config.MaxShown, r.status)
	}
	if strings.Contains(f.logs.String(), strings.Repeat("x", config.MaxShown+1)) {
		t.Error("the log repeats the whole host name")
	}
}

// TestCrossSiteRequests: what another page can make a browser ask for. A
// results page calls Bitbucket only when a person asked for it; a refusal
// or a confirmation page calls nobody.
func TestCrossSiteRequests(t *testing.T) {
	const (
		results = "results" // the flow runs: 200 and repositories
		refused = "refused" // 403, a short page saying why
		confirm = "confirm" // 200, a button that runs the flow
	)
	tests := []struct {
		name   string
		header map[string]string
		want   string
	}{
		{"no Sec-Fetch headers (curl)", nil, results},
		{"typed in the address bar", map[string]string{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-User": "?1"}, results},
		{"bookmark, no activation", map[string]string{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, results},
		{"the app's own link", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-User": "?1"}, results},
		{"same origin image", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}, results},
		{"link clicked on another site", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-User": "?1"}, results},
		{"link clicked on another port", map[string]string{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-User": "?1"}, results},
		{"scripted navigation from another site", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, confirm},
		{"scripted navigation from another port", map[string]string{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, confirm},
		{"navigation without Sec-Fetch-Dest, no activation", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}, confirm},
		{"activation spelled otherwise", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-User": "?0"}, confirm},
		{"fetch() from another port", map[string]string{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}, refused},
		{"<img> on another port", map[string]string{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}, refused},
		{"<img> on another site", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}, refused},
		{"<script> on another site", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"}, refused},
		{"<iframe> on another site, even clicked", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe", "Sec-Fetch-User": "?1"}, refused},
		{"<object> on another site", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "object"}, refused},
		{"cross-site without mode", map[string]string{"Sec-Fetch-Site": "cross-site"}, refused},
		// Chromium's speculation rules: any website can ask for them, and
		// the request says Sec-Fetch-Site: none, like a typed address.
		{"prefetch from speculation rules", map[string]string{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Purpose": "prefetch"}, refused},
		{"prerender", map[string]string{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Purpose": "prefetch;prerender"}, refused},
		{"same-origin prefetch", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Purpose": "prefetch"}, refused},
		{"prefetch with activation", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-User": "?1", "Sec-Purpose": "prefetch;anonymous-client-ip"}, refused},
		{"legacy Purpose: prefetch", map[string]string{"Purpose": "prefetch"}, refused},
		{"Firefox X-Moz: prefetch", map[string]string{"X-Moz": "prefetch"}, refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, withWorkspace("bitbucket-demo"))
			r := getAs(t, f, "", "/oauth-callback?workspace=bitbucket-demo&page=2", tt.header)
			checkOutcome(t, f, r, tt.want)
		})
	}
}

// checkOutcome checks a results page request's answer against what the
// cross-site tests expect: the flow, a refusal or a confirmation page.
func checkOutcome(t *testing.T, f *fixture, r response, want string) {
	t.Helper()
	switch want {
	case "results":
		if r.status != http.StatusOK || !strings.Contains(r.body, `<table class="repos">`) {
			t.Fatalf("status %d, want 200 and the results\n%s", r.status, r.body)
		}
		return
	case "refused":
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "refused without calling Bitbucket") {
			t.Fatalf("status %d, want 403 with a short page saying why\n%s", r.status, r.body)
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("a refusal may be cached (Cache-Control %q): a browser could show it for the real page", r.header.Get("Cache-Control"))
		}
	case "confirm":
		// The button runs the flow with the same query: a form that GETs
		// /oauth-callback, from the app's own page.
		for _, s := range []string{`<form class="confirm" method="get" action="/oauth-callback">`,
			`name="workspace" value="bitbucket-demo"`, `name="page" value="2"`, `<button class="button" type="submit">`} {
			if !strings.Contains(r.body, s) {
				t.Errorf("the confirmation page lacks %s", s)
			}
		}
		if r.status != http.StatusOK || strings.Contains(r.body, `<table class="repos">`) {
			t.Fatalf("status %d, want 200 with a button and no results\n%s", r.status, r.body)
		}
	default:
		t.Fatalf("unknown outcome %q", want)
	}
	checkSecurityHeaders(t, r.header)
	assertNoUpstreamCall(t, f)
}

// TestNoFetchMetadataNeedsTheOriginCookie: browsers send no Fetch Metadata
// to a plain-http name that is not loopback (a name in ALLOWED_HOSTS, a LAN
// address), so there an image on another local port would look like curl.
// The results page then needs the cookie the landing page sets, which
// SameSite=Strict keeps off requests other sites start. On loopback, where
// browsers always send Fetch Metadata, curl needs nothing.
func TestNoFetchMetadataNeedsTheOriginCookie(t *testing.T) {
	tests := []struct {
		name, host, cookie, want string // cookie "landing": the one the landing page set
	}{
		{"an allowed name without the cookie", "dev.example:3000", "", "confirm"},
		{"an allowed name with a made-up cookie", "dev.example:3000", "guessed", "confirm"},
		{"a LAN address without the cookie", "192.168.1.20:3000", "", "confirm"},
		{"an allowed name with the landing page's cookie", "dev.example:3000", "landing", "results"},
		{"a LAN address with the landing page's cookie", "192.168.1.20:3000", "landing", "results"},
		{"localhost without the cookie (curl)", "localhost:3000", "", "results"},
		{"127.0.0.1 without the cookie (curl)", "127.0.0.1:3000", "", "results"},
		{"[::1] without the cookie (curl)", "[::1]:3000", "", "results"},
		{"a name under .localhost (curl)", "app.localhost:3000", "", "results"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, withWorkspace("bitbucket-demo"), withAllowedHosts("dev.example"))
			landing := getAs(t, f, tt.host, "/", nil)
			cookie := findCookie(landing.header, web.OriginCookie)
			if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || len(cookie.Value) < 20 {
				t.Fatalf("the landing page sets no HttpOnly, SameSite=Strict origin cookie with a random value: %+v", cookie)
			}
			h := map[string]string{}
			switch tt.cookie {
			case "":
			case "landing":
				h["Cookie"] = web.OriginCookie + "=" + cookie.Value
			default:
				h["Cookie"] = web.OriginCookie + "=" + tt.cookie
			}
			r := getAs(t, f, tt.host, "/oauth-callback?workspace=bitbucket-demo&page=2", h)
			checkOutcome(t, f, r, tt.want)
			if tt.want == "confirm" && findCookie(r.header, web.OriginCookie) == nil {
				t.Error("the confirmation page does not set the origin cookie, so its button would land here again")
			}
		})
	}
}

func findCookie(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestUnspecifiedAddressesAreNoHost: browsers take 0.0.0.0 (and [::]) for
// this machine, and send no Fetch Metadata there.
func TestUnspecifiedAddressesAreNoHost(t *testing.T) {
	f := newFixture(t, withWorkspace("bitbucket-demo"))
	for _, host := range []string{"0.0.0.0:3000", "0.0.0.0", "[::]:3000", "[::]", "[0:0::0]:3000"} {
		if r := getAs(t, f, host, "/oauth-callback", nil); r.status != http.StatusMisdirectedRequest {
			t.Errorf("Host %s: status %d, want 421", host, r.status)
		}
	}
	assertNoUpstreamCall(t, f)
}

// TestRunServesAllowedHosts: the whole program, configured through the
// environment: ALLOWED_HOSTS is logged at start-up and served; other names
// are refused.
func TestRunServesAllowedHosts(t *testing.T) {
	r := startRun(t, map[string]string{"ALLOWED_HOSTS": "dev.example,.home.example"})
	if !strings.Contains(r.logs.String(), "allowed_hosts=dev.example,.home.example") {
		t.Errorf("the start-up log does not list ALLOWED_HOSTS:\n%s", r.logs)
	}
	for host, want := range map[string]int{"dev.example:3000": 200, "box.home.example": 200, "evil.example": 421, "localhost": 200} {
		req, _ := http.NewRequest("GET", r.url+"/", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: status %d, want %d", host, resp.StatusCode, want)
		}
	}
}
