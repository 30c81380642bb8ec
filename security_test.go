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

// TestHostCheck: the defence against DNS rebinding. Only IP literals,
// localhost, *.localhost and ALLOWED_HOSTS are served; anything else gets
// 421 before any handler runs, so a refused results page calls nobody.
func TestHostCheck(t *testing.T) {
	tests := []struct {
		name    string
		host    string
		allowed []string
		serve   bool
	}{
		{"localhost with port", "localhost:3000", nil, true},
		{"localhost alone", "localhost", nil, true},
		{"localhost in capitals", "LocalHost:3000", nil, true},
		{"localhost with a trailing dot", "localhost.:3000", nil, true},
		{"IPv4 loopback", "127.0.0.1:3000", nil, true},
		{"other IPv4 literal", "192.168.1.20:3000", nil, true},
		{"IPv6 loopback", "[::1]:3000", nil, true},
		{"IPv6 without port", "[::1]", nil, true},
		{"name under .localhost", "app.localhost:3000", nil, true},
		{"deeper name under .localhost", "a.b.localhost", nil, true},
		{"another name", "evil.example", nil, false},
		{"another name with port", "evil.example:3000", nil, false},
		{"localhost as a subdomain", "localhost.evil.example", nil, false},
		{"localhost as a suffix without a dot", "evillocalhost:3000", nil, false},
		{".localhost alone", ".localhost", nil, false},
		{"an IP address inside a name", "127.0.0.1.nip.io:3000", nil, false},
		{"localhost with a port that is not a number", "localhost:3000,evil.example", nil, false},
		{"localhost with an empty port", "localhost:", nil, true},
		{"allowed name", "dev.example:8080", []string{"dev.example"}, true},
		{"allowed name in capitals", "DEV.Example", []string{"dev.example"}, true},
		{"subdomain of an exact name", "a.dev.example", []string{"dev.example"}, false},
		{"a name only ending like an allowed one", "xdev.example", []string{"dev.example"}, false},
		{"leading dot: the domain", "example.org", []string{".example.org"}, true},
		{"leading dot: a subdomain", "a.b.example.org:3000", []string{".example.org"}, true},
		{"leading dot: not a subdomain", "badexample.org", []string{".example.org"}, false},
		{"*.: a subdomain", "a.corp.example", []string{"*.corp.example"}, true},
		{"*.: not the domain itself", "corp.example", []string{"*.corp.example"}, false},
		{"one of several", "b.example", []string{"a.example", "b.example"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, withWorkspace("bitbucket-demo"), withAllowedHosts(tt.allowed...))
			r := getAs(t, f, tt.host, "/oauth-callback", nil)
			if tt.serve {
				if r.status != http.StatusOK {
					t.Fatalf("Host %s: status %d, want 200\n%s", tt.host, r.status, r.body)
				}
				return
			}
			if r.status != http.StatusMisdirectedRequest {
				t.Fatalf("Host %s: status %d, want 421\n%s", tt.host, r.status, r.body)
			}
			shown, wants := config.HostName(tt.host), []string{"ALLOWED_HOSTS"}
			if config.HostAllowed(shown, tt.allowed) { // the port is wrong, not the name
				shown, wants = tt.host, []string{"port that is not a number"}
			}
			for _, want := range append(wants, "421 Misdirected Request", "&#34;"+shown+"&#34;") {
				if !strings.Contains(r.body, want) {
					t.Errorf("the refusal lacks %q:\n%s", want, r.body)
				}
			}
			checkSecurityHeaders(t, r.header)
			assertNoUpstreamCall(t, f)
			if logs := f.logs.String(); !strings.Contains(logs, "refused a request for a host name") || !strings.Contains(logs, "status=421") {
				t.Errorf("the log does not record the refusal:\n%s", logs)
			}
		})
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

// TestHostRefusalIsEscapedAndClipped: the refused name comes from the
// request, so the page escapes it and repeats only its start.
func TestHostRefusalIsEscapedAndClipped(t *testing.T) {
	f := newFixture(t)
	r := getAs(t, f, "a'b&c.example", "/", nil)
	if r.status != 421 || !strings.Contains(r.body, "a&#39;b&amp;c.example") || strings.Contains(r.body, "a'b&c") {
		t.Errorf("the host name is not escaped (status %d):\n%s", r.status, r.body)
	}
	long := strings.Repeat("x", 1000) + ".example"
	r = getAs(t, f, long, "/", nil)
	if r.status != 421 || strings.Contains(r.body, strings.Repeat("x", config.MaxShown+1)) || !strings.Contains(r.body, strings.Repeat("x", config.MaxShown)+"…") {
		t.Errorf("a 1,000-character host name is not clipped to %d characters (status %d)", config.MaxShown, r.status)
	}
	if strings.Contains(f.logs.String(), strings.Repeat("x", config.MaxShown+1)) {
		t.Error("the log repeats the whole host name")
	}
}

// TestCrossSiteRequests: a page on another site may link here (a top-level
// navigation), but may not make the browser load the app's pages as
// images, scripts, fetches or frames: that would spend the consumer's
// rate limit. Requests without Sec-Fetch-* (curl, scripts) keep working.
func TestCrossSiteRequests(t *testing.T) {
	tests := []struct {
		name             string
		site, mode, dest string
		refused          bool
	}{
		{"no Sec-Fetch headers (curl)", "", "", "", false},
		{"typed in the address bar", "none", "navigate", "document", false},
		{"same origin", "same-origin", "no-cors", "image", false},
		{"same site: another port on localhost", "same-site", "cors", "empty", true},
		{"<img> on another port on localhost", "same-site", "no-cors", "image", true},
		{"link from another port on localhost", "same-site", "navigate", "document", false},
		{"link from another site", "cross-site", "navigate", "document", false},
		{"navigation without Sec-Fetch-Dest", "cross-site", "navigate", "", false},
		{"mode alone", "", "no-cors", "image", false},
		{"<img> on another site", "cross-site", "no-cors", "image", true},
		{"<script> on another site", "cross-site", "no-cors", "script", true},
		{"fetch() from another site", "cross-site", "cors", "empty", true},
		{"<iframe> on another site", "cross-site", "navigate", "iframe", true},
		{"<object> on another site", "cross-site", "navigate", "object", true},
		{"cross-site without mode", "cross-site", "", "", true},
		{"cross-site prefetch", "cross-site", "navigate", "document", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, withWorkspace("bitbucket-demo"))
			h := map[string]string{}
			purpose := ""
			if strings.Contains(tt.name, "prefetch") {
				purpose = "prefetch"
			}
			for k, v := range map[string]string{"Sec-Fetch-Site": tt.site, "Sec-Fetch-Mode": tt.mode, "Sec-Fetch-Dest": tt.dest, "Sec-Purpose": purpose} {
				if v != "" {
					h[k] = v
				}
			}
			r := getAs(t, f, "", "/oauth-callback?workspace=bitbucket-demo", h)
			if !tt.refused {
				if r.status != http.StatusOK {
					t.Fatalf("status %d, want 200\n%s", r.status, r.body)
				}
				return
			}
			if r.status != http.StatusForbidden || !strings.Contains(r.body, "Another website") {
				t.Fatalf("status %d, want 403 with a short page saying why\n%s", r.status, r.body)
			}
			checkSecurityHeaders(t, r.header)
			assertNoUpstreamCall(t, f)
			if !strings.Contains(f.logs.String(), "status=403") {
				t.Errorf("the request log lacks the refusal:\n%s", f.logs)
			}
		})
	}
}

// TestRunServesAllowedHosts: the whole program, configured through the
// environment: ALLOWED_HOSTS is logged at start-up and served; other names
// are refused.
func TestRunServesAllowedHosts(t *testing.T) {
	r := startRun(t, map[string]string{"ALLOWED_HOSTS": "dev.example,.lan"})
	if !strings.Contains(r.logs.String(), "allowed_hosts=dev.example,.lan") {
		t.Errorf("the start-up log does not list ALLOWED_HOSTS:\n%s", r.logs)
	}
	for host, want := range map[string]int{"dev.example:3000": 200, "box.lan": 200, "evil.example": 421, "localhost": 200} {
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
