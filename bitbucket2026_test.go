package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"bitbucket-client-credentials-sample/internal/config"
	"bitbucket-client-credentials-sample/internal/standin"
)

// The tests in this file hold the app to Bitbucket Cloud as it is in late
// 2026, with the stand-in's switches that make it as irregular as Bitbucket.

// Since May 2026 a client credentials token acts as an app_user, and
// GET /2.0/user/workspaces may refuse it. Discovery is best effort: five
// page loads cost at most two token requests, and each page says to set
// BITBUCKET_WORKSPACE.
func TestDiscoveryRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		fault standin.Fault
		want  string
	}{
		{"401", standin.APITokenNotSupported, "Token is invalid, expired, or not supported for this endpoint."},
		{"403", standin.APIAuthMechanismRefused, "This API is not accessible by this authentication mechanism"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.bb.SetFault(standin.UserWorkspaces, c.fault)
			for i := range 5 {
				r := f.get("/oauth-callback")
				for _, want := range []string{c.want, "Set <code>BITBUCKET_WORKSPACE</code>", "BITBUCKET_WORKSPACE=your-workspace", "will not ask again"} {
					if !strings.Contains(r.body, want) {
						t.Errorf("load %d lacks %q", i+1, want)
					}
				}
				if strings.Contains(r.body, "Copy the key and secret again") || strings.Contains(r.body, "private consumer") {
					t.Errorf("load %d blames the consumer", i+1)
				}
			}
			if n := f.bb.TokenRequests(); n > 2 {
				t.Errorf("%d token requests for 5 page loads, want at most 2", n)
			}
			if n := countRequests(f.bb, "/2.0/user/workspaces"); n > 2 {
				t.Errorf("discovery asked %d times, want it remembered for the token's lifetime", n)
			}
		})
	}
}

// Discovery follows next (a first page may be empty), asks for a stable
// order, and the configured workspace needs no discovery at all.
func TestDiscoveryFollowsNext(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.bb.SetFault(standin.UserWorkspaces, standin.APIEmptyFirstPage)
	r := mustLoad(t, f, "/oauth-callback")
	if !strings.Contains(r.body, "the first the token can reach") || !strings.Contains(r.body, "Bitbucket Demo") {
		t.Error("discovery did not find the workspace on the second page")
	}
	for _, req := range f.bb.Requests() {
		if req.Path == "/2.0/user/workspaces" && !strings.Contains(req.RawQuery, "sort=slug") {
			t.Errorf("discovery without sort=slug: %s", req.RawQuery)
		}
	}

	g := newFixture(t, withWorkspace("demo-labs"))
	mustLoad(t, g, "/oauth-callback")
	if n := countRequests(g.bb, "/2.0/user/workspaces"); n != 0 {
		t.Errorf("with BITBUCKET_WORKSPACE set, discovery ran %d times", n)
	}
}

// A workspace given as {UUID} works end to end: the switcher marks it,
// and the git clone line uses the slug Bitbucket answered with.
func TestWorkspaceByUUID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := mustLoad(t, f, "/oauth-callback")
	uuid := regexp.MustCompile(`<dt>UUID</dt><dd><code>(\{[0-9a-f-]{36}\})</code>`).FindStringSubmatch(first.body)
	if uuid == nil {
		t.Fatal("no workspace UUID on the page")
	}
	r := mustLoad(t, f, "/oauth-callback?workspace="+url.QueryEscape(uuid[1]))
	if !strings.Contains(r.body, `<span aria-current="page">bitbucket-demo</span>`) {
		t.Error("the switcher does not mark the workspace given by UUID")
	}
	clone := regexp.MustCompile(`git clone [^<]*`).FindString(r.body)
	if !strings.Contains(clone, "/bitbucket-demo/api-gateway.git") || strings.Contains(clone, "%7B") || strings.Contains(clone, uuid[1]) {
		t.Errorf("clone line %q does not use the slug", clone)
	}
}

func TestCloneCommand(t *testing.T) {
	t.Parallel()
	type link = struct{ Name, Href string }
	repo := func(name, fullName string, clone ...link) repoJSON {
		r := repoJSON{Name: name, FullName: fullName}
		for _, l := range clone {
			r.Links.Clone = append(r.Links.Clone, struct {
				Name string `json:"name"`
				Href string `json:"href"`
			}{l.Name, l.Href})
		}
		return r
	}
	for _, c := range []struct {
		name string
		repo repoJSON
		want string
	}{
		{"from links.clone https, user replaced", repo("API", "team/api", link{Name: "ssh", Href: "git@bitbucket.org:team/api.git"},
			link{Name: "https", Href: "https://someone@bitbucket.org/team/api.git"}),
			`git clone "https://x-token-auth:${BITBUCKET_ACCESS_TOKEN}@bitbucket.org/team/api.git"`},
		{"from full_name, not the display name", repo("My API (old)", "team/my-api"),
			`git clone "https://x-token-auth:${BITBUCKET_ACCESS_TOKEN}@bitbucket.org/team/my-api.git"`},
		{"shell syntax in the name", repo("x", "team/x;touch /tmp/pwned"), ""},
		{"command substitution", repo("x", "team/$(id)"), ""},
		{"backticks in the clone link", repo("x", "team/x", link{Name: "https", Href: "https://bitbucket.org/team/`id`.git"}), ""},
		{"option injection", repo("x", "--upload-pack=touch/x"), ""},
		{"another scheme", repo("x", "team/x", link{Name: "https", Href: "ext::sh -c touch% /tmp/pwned"}), ""},
		{"path traversal", repo("x", "team/..", link{Name: "https", Href: "https://bitbucket.org/../../x.git"}), ""},
		{"another host", repo("x", "team/x", link{Name: "https", Href: "https://evil.example/team/x.git"}), ""},
		{"plain http to another host", repo("x", "team/x", link{Name: "https", Href: "http://evil.example:8080/team/x.git"}), ""},
		{"plain http to bitbucket.org", repo("x", "team/x", link{Name: "https", Href: "http://bitbucket.org/team/x.git"}), ""},
		{"the API's own host on loopback", repo("x", "team/x", link{Name: "https", Href: "http://me@127.0.0.1:7990/team/x.git"}),
			`git clone "http://x-token-auth:${BITBUCKET_ACCESS_TOKEN}@127.0.0.1:7990/team/x.git"`},
		{"braces", repo("x", "team/${HOME}"), ""},
	} {
		if got := cloneCommand(c.repo, "127.0.0.1:7990", newRedactor(testKey, testSecret)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// Pagination as the API defines it: the page links carry Bitbucket's own
// page value, whatever it looks like; "page N of M" only from what the
// answer says.
func TestPaginationAsTheAPIDefinesIt(t *testing.T) {
	t.Parallel()
	next := regexp.MustCompile(`rel="next" href="([^"]+)"`)
	t.Run("cursor", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, withWorkspace("bitbucket-demo"))
		f.bb.SetFault(standin.RepositoriesAPI, standin.APICursorPages)
		r := mustLoad(t, f, "/oauth-callback")
		link := next.FindStringSubmatch(r.body)
		if link == nil {
			t.Fatal("no next link")
		}
		if strings.Contains(r.body, "Page 1") {
			t.Error("a cursor page claims a page number")
		}
		second := mustLoad(t, f, strings.ReplaceAll(link[1], "&amp;", "&"))
		if !strings.Contains(second.body, ">docs-site</a>") {
			t.Error("following the cursor did not give the second page")
		}
	})
	for _, c := range []struct {
		fault standin.Fault
		label string
	}{
		{standin.NoFault, "Page 1 of 3 · 23 repositories"},
		{standin.APINoSizeOrPagelen, "Page 1</caption>"},
		{standin.APIStringTypes, "Page 1 of 3"},
	} {
		t.Run(string(c.fault), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, withWorkspace("bitbucket-demo"))
			f.bb.SetFault(standin.RepositoriesAPI, c.fault)
			f.bb.SetFault(standin.UserWorkspaces, c.fault)
			r := mustLoad(t, f, "/oauth-callback")
			if !strings.Contains(r.body, c.label) {
				t.Errorf("page lacks %q", c.label)
			}
		})
	}
	for _, c := range []struct {
		page  string
		label string
	}{
		{`"page": 99999999999999999999, "size": 99999999999999999999, "pagelen": 10`, ""},
		{`"page": 2, "size": 25, "pagelen": 0`, "Page 2"},
		{`"page": 3, "size": 25, "pagelen": 10`, "Page 3 of 3 · 25 repositories"},
		{`"page": "c3Vy", "size": 25, "pagelen": 10`, ""},
	} {
		var p repoPage
		if err := json.Unmarshal([]byte(`{`+c.page+`, "values": []}`), &p); err != nil {
			t.Fatal(err)
		}
		if got := pageLabel(p); got != c.label {
			t.Errorf("%s: label %q, want %q", c.page, got, c.label)
		}
	}
}

// Fields the app does not show must not fail a page: the spec types
// administrator as a string, and page may be a string.
func TestDecodeOnlyWhatIsShown(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.bb.SetFault(standin.UserWorkspaces, standin.APIStringTypes)
	f.bb.SetFault(standin.RepositoriesAPI, standin.APIStringTypes)
	r := mustLoad(t, f, "/oauth-callback")
	if !strings.Contains(r.body, "api-gateway") {
		t.Error("the repositories are missing")
	}
}

// The token endpoint's every answer gets its own explanation, and only the
// wrong-credentials cases say to copy the key and secret again.
func TestTokenAnswersExplained(t *testing.T) {
	t.Parallel()
	const copyAgain = "Copy the key and secret again"
	for _, c := range []struct {
		name   string
		fault  standin.Fault
		secret string
		want   []string
	}{
		{"wrong secret", "", "wrong", []string{"unauthorized_client", copyAgain}},
		{"invalid_client 401", standin.TokenInvalidClient, "", []string{"HTTP 401", "invalid_client", copyAgain}},
		{"no callback URL", standin.TokenNoCallback, "", []string{"invalid_request", "add a callback URL"}},
		{"unsupported grant", standin.TokenUnsupportedGrant, "", []string{"unsupported_grant_type", "grant_type=client_credentials"}},
		{"public consumer", standin.TokenPublicConsumer, "", []string{"unauthorized_client", "This is a private consumer", "RFC 6749 §4.4"}},
		{"public consumer, old code", standin.TokenNotPrivate, "", []string{"invalid_grant", "This is a private consumer"}},
		{"rate limited", standin.TokenRateLimited, "", []string{"HTTP 429", "Rate limited", "likely to pass"}},
		{"proxy 407", standin.ProxyAuthRequired, "", []string{"HTTP 407", "proxy"}},
		{"proxy 401 page", standin.ProxyUnauthorized, "", []string{"HTTP 401", "proxy"}},
		{"proxy 403 page", standin.ProxyForbidden, "", []string{"HTTP 403", "proxy"}},
		{"non-JSON answer", standin.TokenServerError, "", []string{"The answer began", "&lt;html&gt;", "Service Unavailable"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, withWorkspace("bitbucket-demo"))
			if c.secret != "" {
				cfg := f.cfg
				cfg.ConsumerSecret = c.secret
				f = f.rebuild(cfg)
			}
			f.bb.SetFault(standin.TokenEndpoint, c.fault)
			r := f.get("/oauth-callback")
			if r.status != http.StatusBadGateway {
				t.Errorf("status %d, want 502", r.status)
			}
			for _, want := range c.want {
				if !strings.Contains(r.body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if strings.Contains(r.body, copyAgain) && !strings.Contains(strings.Join(c.want, " "), copyAgain) {
				t.Error("the page says to copy the key and secret again, but they are not wrong")
			}
		})
	}
}

// x/oauth2 form-encodes the key and secret before Basic-encoding them;
// curl -u sends them raw. When that makes a difference, the log and the
// page say so.
func TestCredentialEncodingNote(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withWorkspace("bitbucket-demo")) // testSecret holds + / = & :
	r := mustLoad(t, f, "/oauth-callback")
	if !strings.Contains(r.body, "form-encodes before Basic-encoding") || !strings.Contains(f.logs.String(), "form-encodes") {
		t.Error("no note that form-encoding changes the secret")
	}
	g := newFixture(t, withWorkspace("bitbucket-demo"), func(c *config.Config) { c.ConsumerSecret = "plain-secret-123456" })
	r = mustLoad(t, g, "/oauth-callback")
	if strings.Contains(r.body, "form-encodes before Basic-encoding") {
		t.Error("the note shows though form-encoding changes nothing")
	}
}

// HEAD /oauth-callback (a link previewer) is answered without calling
// Bitbucket.
func TestHeadCallsNoUpstream(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if r := f.do(http.MethodHead, "/oauth-callback"); r.status != http.StatusOK {
		t.Errorf("HEAD status %d", r.status)
	}
	if n := len(f.bb.Requests()); n != 0 {
		t.Errorf("HEAD made %d upstream requests", n)
	}
}

// Every upstream request says who is calling.
func TestUserAgent(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var agents []string
	f := newFixture(t)
	f.transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		agents = append(agents, req.Header.Get("User-Agent"))
		mu.Unlock()
		return http.DefaultTransport.RoundTrip(req)
	})
	f = f.rebuild(f.cfg)
	mustLoad(t, f, "/oauth-callback")
	if len(agents) < 3 {
		t.Fatalf("%d requests seen", len(agents))
	}
	for _, ua := range agents {
		if !strings.HasPrefix(ua, "bitbucket-client-credentials-sample/") {
			t.Errorf("User-Agent %q", ua)
		}
	}
}

// The demo consumer and the tests grant only Account: Read and
// Repositories: Read, so a hidden need for more shows up.
func TestLeastPrivilege(t *testing.T) {
	t.Parallel()
	if standin.DefaultScopes != "account repository" {
		t.Errorf("the stand-in grants %q", standin.DefaultScopes)
	}
	f := newFixture(t)
	r := mustLoad(t, f, "/oauth-callback")
	if !strings.Contains(r.body, "<code>account repository</code>") {
		t.Error("the token's scopes are not account repository")
	}
	if landing := f.get("/").body; strings.Contains(landing, "Workspace membership") {
		t.Error("the landing page asks for Workspace membership")
	}
}
