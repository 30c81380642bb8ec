package main

import (
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"bitbucket-client-credentials-sample/internal/config"
	"bitbucket-client-credentials-sample/internal/standin"
)

// The tests in this file hold the app to a hostile or broken upstream.
// TestNoSecretInAnyResponseOrLog sweeps every fault for leaks; these check
// what each defence does for the person reading the page.

// An upstream that echoes the request gets its echo cleaned: the page
// shows [redacted] where the credentials were.
func TestEchoedCredentialsAreRedacted(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		endpoint standin.Endpoint
		fault    standin.Fault
	}{
		{standin.TokenEndpoint, standin.TokenEchoRequest},
		{standin.RepositoriesAPI, standin.APIEchoAuth401},
		{standin.RepositoriesAPI, standin.APIEchoAuth403},
	} {
		t.Run(string(c.fault), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, withWorkspace("bitbucket-demo"))
			f.bb.SetFault(c.endpoint, c.fault)
			r := f.get("/oauth-callback") // the fixture fails the test on any leak
			if !strings.Contains(r.body, "[redacted]") || !strings.Contains(f.logs.String(), "[redacted]") {
				t.Errorf("the echo is not shown cleaned on the page and in the log:\n%s", r.body)
			}
		})
	}
}

// Whatever the answer holds, the page shows one page of it.
func TestOutputIsBounded(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		endpoint standin.Endpoint
		fault    standin.Fault
		path     string
	}{
		{"1 MiB of repositories", standin.RepositoriesAPI, standin.APIFlood, "/oauth-callback?workspace=bitbucket-demo"},
		{"thousands of workspaces", standin.UserWorkspaces, standin.APIFlood, "/oauth-callback"},
		{"64 KiB names", standin.RepositoriesAPI, standin.APILongStrings, "/oauth-callback?workspace=bitbucket-demo"},
		{"80 KiB of scopes", standin.TokenEndpoint, standin.TokenLongScope, "/oauth-callback?workspace=bitbucket-demo"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.bb.SetFault(c.endpoint, c.fault)
			f.bb.SetFault(standin.WorkspaceAPI, c.fault)
			r := f.get(c.path)
			if len(r.body) > 100<<10 {
				t.Errorf("the page is %d bytes", len(r.body))
			}
			if n := strings.Count(r.body, `<th scope="row">`); n > perPage {
				t.Errorf("%d repository rows", n)
			}
			if n := strings.Count(r.body, "<li>"); n > maxWorkspaces+5 {
				t.Errorf("%d list items", n)
			}
		})
	}
}

// A redirect to another origin is not followed, from the token endpoint or
// the API, and the page names the target. One within the origin is.
func TestRedirects(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		endpoint standin.Endpoint
		fault    standin.Fault
		status   int
	}{
		{standin.TokenEndpoint, standin.Redirect307OtherOrigin, http.StatusBadGateway},
		{standin.RepositoriesAPI, standin.Redirect307OtherOrigin, http.StatusBadGateway},
		{standin.WorkspaceAPI, standin.Redirect302OtherOrigin, http.StatusBadGateway},
		{standin.TokenEndpoint, standin.RedirectSameOrigin, http.StatusOK},
		{standin.RepositoriesAPI, standin.RedirectSameOrigin, http.StatusOK},
	} {
		t.Run(string(c.endpoint)+"/"+string(c.fault), func(t *testing.T) {
			t.Parallel()
			var reached atomic.Int64
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
			t.Cleanup(other.Close)
			f := newFixture(t, withWorkspace("bitbucket-demo"))
			f.bb.SetRedirectTarget(other.URL)
			f.bb.SetFault(c.endpoint, c.fault)
			r := f.get("/oauth-callback")
			if r.status != c.status {
				t.Fatalf("status %d, want %d\n%s", r.status, c.status, r.body)
			}
			if c.status != http.StatusOK && !strings.Contains(r.body, "redirected to another origin: "+other.URL) {
				t.Error("the page does not name the redirect's target")
			}
			if n := reached.Load(); n != 0 {
				t.Errorf("the other origin got %d requests", n)
			}
		})
	}
}

// Commands on the page are built from validated parts and quoted: a
// repository name with shell syntax never reaches one.
func TestShellSyntaxNeverReachesACommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withWorkspace("bitbucket-demo"))
	f.bb.SetFault(standin.RepositoriesAPI, standin.APIShellData)
	r := mustLoad(t, f, "/oauth-callback")
	for _, cmd := range regexp.MustCompile(`(?s)<pre><code>(.*?)</code></pre>`).FindAllStringSubmatch(r.body, -1) {
		for _, bad := range []string{"touch", "$(id)", "${HOME}", "`", "&amp;&amp;", "|", "upload-pack"} {
			if strings.Contains(cmd[1], bad) {
				t.Errorf("a command holds %q: %s", bad, cmd[1])
			}
		}
	}
}

// A body that keeps dripping past the timeout is a timeout: 504, and the
// exchange says the body stopped arriving.
func TestDrippingBodyIsATimeout(t *testing.T) {
	t.Parallel()
	for _, e := range []standin.Endpoint{standin.TokenEndpoint, standin.RepositoriesAPI} {
		t.Run(string(e), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, withWorkspace("bitbucket-demo"), withTimeout(300*time.Millisecond))
			f.bb.SetFault(e, standin.Drip)
			r := f.get("/oauth-callback")
			if r.status != http.StatusGatewayTimeout || !strings.Contains(r.body, "timed out") {
				t.Errorf("status %d, want 504 saying it timed out", r.status)
			}
			if e == standin.RepositoriesAPI && !strings.Contains(r.body, "200 OK, then the body stopped arriving") {
				t.Errorf("the exchange does not say the body stopped arriving: %q", regexp.MustCompile(`<tr[^>]*>\s*<td>[24]</td>\s*<td><code>[^<]*</code></td>\s*<td><code>[^<]*</code></td>\s*<td>[^<]*</td>`).FindAllString(r.body, -1))
			}
		})
	}
}

// A panic in a goroutine that calls the API becomes a failed step; the
// process, and the server, go on.
func TestPanicInAnAPICallIsAFailedStep(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withWorkspace("bitbucket-demo"))
	f.transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if strings.Contains(req.URL.Path, "/workspaces/") {
			panic("boom in the transport")
		}
		return http.DefaultTransport.RoundTrip(req)
	})
	f = f.rebuild(f.cfg)
	for range 2 {
		r := f.get("/oauth-callback")
		if r.status != http.StatusBadGateway || !strings.Contains(r.body, "The app failed while making this call") ||
			!strings.Contains(r.body, "api-gateway") {
			t.Errorf("status %d; want 502 with the failed step and the repositories", r.status)
		}
	}
	if !strings.Contains(f.logs.String(), "boom in the transport") {
		t.Error("the panic is not in the log")
	}
}

// An upstream may put the credentials anywhere it likes: in a redirect's
// Location, in next, in the token answer's extra fields (a token_type that
// is no type), in names, links and clone URLs, in the forms an echo of the
// request takes (raw, URL-encoded, the Basic value). None of it reaches a
// page or a log line, and the token still goes out as Bearer.
func TestCredentialsInAnyUpstreamField(t *testing.T) {
	t.Parallel()
	const token = "hostile-token-0123456789abcdefghijklmnopqrstuvwxyz"
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(testKey) + ":" + url.QueryEscape(testSecret)))
	echo := url.QueryEscape(token) + "-" + url.PathEscape(testSecret) + "-" + url.QueryEscape(testSecret) + "-" + testSecret + "-" + basic
	var upstream *httptest.Server
	var bearer atomic.Bool
	upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(r.URL.Path, "/2.0/") && r.Header.Get("Authorization") == "Bearer "+token {
			bearer.Store(true)
		}
		switch {
		case r.URL.Path == "/site/oauth2/access_token":
			fmt.Fprintf(w, `{"access_token":%q,"token_type":%q,"expires_in":7200,"scope":%q,"state":%q}`, token, "echo "+r.Header.Get("Authorization"), testSecret, token)
		case r.URL.Path == "/2.0/workspaces/ws":
			fmt.Fprintf(w, `{"slug":"ws","name":%q,"uuid":%q,"links":{"html":{"href":%q}}}`, "name "+echo, token, "https://evil.example/"+url.PathEscape(testSecret))
		case r.URL.Path == "/2.0/repositories/ws" && r.URL.Query().Get("page") == "":
			http.Redirect(w, r, "/2.0/repositories/ws?page=2&t="+url.QueryEscape(token), http.StatusFound) // same origin: followed
		case r.URL.Path == "/2.0/repositories/ws":
			fmt.Fprintf(w, `{"values":[{"name":"r","full_name":%q,"description":%q,"links":{"html":{"href":%q},"clone":[{"name":"https","href":%q}]}}],"next":%q}`,
				"ws/"+token, echo, upstream.URL+"/ws/r?t="+token, "https://u@bitbucket.org/ws/"+token+".git", upstream.URL+"/2.0/repositories/ws?page="+token)
		}
	}))
	t.Cleanup(upstream.Close)
	f := newFixture(t, withWorkspace("ws"), func(c *config.Config) {
		c.TokenURL, c.APIURL = upstream.URL+"/site/oauth2/access_token", upstream.URL+"/2.0"
	})
	r := f.get("/oauth-callback")
	for where, text := range map[string]string{"the page": r.body, "the log": f.logs.String()} {
		for _, secret := range []string{token, url.QueryEscape(token), testSecret, url.PathEscape(testSecret), url.QueryEscape(testSecret), basic} {
			if strings.Contains(text, secret) || strings.Contains(text, html.EscapeString(secret)) {
				t.Errorf("%s holds %q", where, secret)
			}
		}
	}
	if !strings.Contains(r.body, "[redacted]") {
		t.Error("nothing was redacted: did the fields reach the page at all?")
	}
	if !bearer.Load() {
		t.Error("the token did not go out as Bearer: the answer's token_type chose the scheme")
	}
}

// TestTokenViewRedactsItsOwnToken: step 3's view of a token is kept for the
// token's life (tokenViews), so it must not count on an API call having
// sent the token first: a token endpoint that echoes the token in another
// field gets it redacted there, even on a page that made no call with it.
func TestTokenViewRedactsItsOwnToken(t *testing.T) {
	t.Parallel()
	const token = "tok-0123456789abcdefghijklmnopqrstuvwxyz"
	tok := (&oauth2.Token{AccessToken: token, TokenType: "bearer", Expiry: time.Now().Add(time.Hour)}).WithExtra(map[string]any{
		"scope": "repository " + token, "state": token, "token_type": "bearer", "expires_in": 3600.0})
	var views tokenViews
	tv := views.view(tok, true, newRedactor(testKey, testSecret))
	for name, text := range map[string]string{"the JSON answer": tv.JSON, "the scopes": tv.Scopes} {
		if strings.Contains(text, token) {
			t.Errorf("step 3 shows the whole token in %s:\n%s", name, text)
		}
	}
	if !strings.Contains(tv.JSON, "[redacted]") || tv.Masked != mask(token) {
		t.Errorf("step 3 shows neither the echo redacted nor the token masked:\n%s", tv.JSON)
	}
}
