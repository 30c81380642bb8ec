package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"bitbucket-client-credentials-sample/bitbucket"
	"bitbucket-client-credentials-sample/internal/config"
	"bitbucket-client-credentials-sample/internal/standin"
)

// The tests in this file hold the app to what it says of permissions, and
// to what it asks Bitbucket for.

func TestScopesPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withWorkspace("bitbucket-demo"))
	before := mustLoad(t, f, "/scopes")
	for _, want := range []string{
		"Which permission to tick", "The app holds no token yet", "334 operations",
		"<h2>Repositories: Read</h2>", "<code>GET /repositories/{workspace}</code>", "List repositories in a workspace",
		"<h2>Pull requests: Read</h2>", "<h2>Repositories: Read &#43; Repositories: Admin</h2>",
		"Connect apps only", "a JWT", "No scope listed: any valid token reaches these",
		`<span class="tag deprecated">deprecated</span>`, "necessary, not sufficient", "since May 2026",
		"<code>read:repository:bitbucket</code>", "Workspace membership: Read (scope team)",
	} {
		if !strings.Contains(before.body, want) {
			t.Errorf("/scopes lacks %q", want)
		}
	}
	if n := len(f.bb.Requests()); n != 0 {
		t.Errorf("/scopes made %d calls to Bitbucket", n)
	}

	// With a token: its count, the same on both pages, and its marks.
	results := mustLoad(t, f, "/oauth-callback")
	count := regexp.MustCompile(`This token reaches (\d+) of 334 operations`)
	m := count.FindStringSubmatch(results.body)
	if m == nil {
		t.Fatal("the results page gives no count")
	}
	after := mustLoad(t, f, "/scopes")
	if m2 := count.FindStringSubmatch(after.body); m2 == nil || m2[1] != m[1] || m[1] == "0" || m[1] == "334" {
		t.Errorf("the counts differ or are absurd: %v and %v", m, m2)
	}
	section := func(label string) string {
		_, rest, _ := strings.Cut(after.body, "<h2>"+label+"</h2>")
		part, _, _ := strings.Cut(rest, "<h2>")
		return part
	}
	for label, has := range map[string]bool{"Repositories: Read": true, "Account: Read": true, "Pull requests: Read": false, "Repositories: Admin": false} {
		if got := strings.Contains(section(label), "This token has what these need"); got != has {
			t.Errorf("%s marked %v, want %v", label, got, has)
		}
	}
	if !strings.Contains(after.body, "✓ Repositories: Read (scope repository)") || strings.Contains(after.body, "✓ Repositories: Write") {
		t.Error("the checkbox list does not mark the token's permissions")
	}
	if n := len(f.bb.Requests()); n != 3 {
		t.Errorf("%d calls to Bitbucket, want the results page's 3", n)
	}
}

func TestScopesSearch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := mustLoad(t, f, "/scopes?q=pullrequests/%7Bpull_request_id%7D/merge")
	if !strings.Contains(r.body, "POST /repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/merge") ||
		strings.Contains(r.body, "GET /repositories/{workspace}</code>") {
		t.Error("a search by path does not narrow the list to that path")
	}
	if r := mustLoad(t, f, "/scopes?q=Pull+requests%3A+Write"); !strings.Contains(r.body, "<h2>Pull requests: Write</h2>") || strings.Contains(r.body, "<h2>Account: Read</h2>") {
		t.Error("a search by permission does not narrow the list to it")
	}
	if r := mustLoad(t, f, "/scopes?q=nothing-at-all-here"); !strings.Contains(r.body, "No operation matches") {
		t.Error("a search that matches nothing does not say so")
	}
	for _, tt := range []struct{ name, query, want string }{
		{"201 characters", "q=" + strings.Repeat("a", 201), "longer than 200 characters"},
		{"not UTF-8", "q=%FF%FE", "valid UTF-8"},
		{"twice", "q=a&q=b", "only once"},
	} {
		if r := f.get("/scopes?" + tt.query); r.status != http.StatusBadRequest || !strings.Contains(r.body, tt.want) {
			t.Errorf("%s: status %d, want 400 saying %q", tt.name, r.status, tt.want)
		}
	}
	if r := mustLoad(t, f, "/scopes?q="+strings.Repeat("é", 200)); !strings.Contains(r.body, "0 operations") {
		t.Error("200 characters (400 bytes) are refused")
	}
	if r := f.get("/scopes?q=%3Cscript%3Ex"); strings.Contains(r.body, "<script>x") {
		t.Error("q is echoed unescaped")
	}
	assertNoUpstreamCall(t, f)
}

// TestFieldsAreWhatThePageShows: each call asks (fields=) for exactly the
// fields of the type its answer is decoded into, which are what the page
// shows; and a page reads a fifth of what the same calls would without.
func TestFieldsAreWhatThePageShows(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		fields string
		into   any
	}{
		{repoFields, repoPage{}},
		{workspaceFields, workspaceJSON{}},
		{accessFields, bitbucket.Page[workspaceAccess]{}},
	} {
		got, want := strings.Split(c.fields, ","), jsonPaths(reflect.TypeOf(c.into), "")
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%T: asks for %q, decodes %q", c.into, got, want)
		}
	}

	f := newFixture(t)
	mustLoad(t, f, "/oauth-callback") // the token, and discovery, first
	before := f.bb.BodyBytes()
	r := mustLoad(t, f, "/oauth-callback")
	withFields := f.bb.BodyBytes() - before
	for _, req := range f.bb.Requests() {
		if strings.HasPrefix(req.Path, "/2.0/") && !strings.Contains(req.RawQuery, "fields=") {
			t.Errorf("%s asked without fields=", req.Path)
		}
	}
	tok := f.bb.IssuedTokens()[0]
	before = f.bb.BodyBytes()
	for _, path := range []string{"/2.0/workspaces/bitbucket-demo", "/2.0/repositories/bitbucket-demo?pagelen=10&sort=-updated_on"} {
		req, _ := http.NewRequest(http.MethodGet, f.bbSrv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
	}
	if without := f.bb.BodyBytes() - before; withFields*5 > without {
		t.Errorf("a page read %d bytes; the same calls without fields= %d: want at most a fifth", withFields, without)
	}
	for _, want := range []string{"api-gateway", "Routes and rate-limits", "2026-11-27 18:00 UTC", "public", "go", "Bitbucket Demo",
		"git clone", `href="` + f.bbSrv.URL + `/bitbucket-demo/api-gateway"`, "Page 1 of 3"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the page lacks %q: a field it shows was not asked for", want)
		}
	}
}

// jsonPaths lists the dotted JSON paths of t's fields, as fields= names
// them ("values.links.html.href"): through structs and slices, to the
// values.
func jsonPaths(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Slice && t != reflect.TypeOf(json.RawMessage{}) {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeOf(time.Time{}) {
		return []string{prefix}
	}
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" {
			name = strings.ToLower(t.Field(i).Name)
		}
		if prefix != "" {
			name = prefix + "." + name
		}
		out = append(out, jsonPaths(t.Field(i).Type, name)...)
	}
	return out
}

// TestSmallerPagelenAfterInvalidPagelen: each endpoint caps pagelen in its
// own way, and answers more with 400 "Invalid pagelen"; the app asks once
// more with half, and the page says so.
func TestSmallerPagelenAfterInvalidPagelen(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withWorkspace("bitbucket-demo"))
	f.bb.SetPagelenCap(standin.RepositoriesAPI, 5)
	r := mustLoad(t, f, "/oauth-callback")
	if !strings.Contains(r.body, "Bitbucket refused pagelen=10") || !strings.Contains(r.body, "with pagelen=5") ||
		!strings.Contains(r.body, "api-gateway") {
		t.Error("the page does not show the repositories and say pagelen was halved")
	}
	g := newFixture(t) // discovery asks for 100 a page
	g.bb.SetPagelenCap(standin.UserWorkspaces, 50)
	if r := mustLoad(t, g, "/oauth-callback"); !strings.Contains(r.body, "refused pagelen=100") || !strings.Contains(r.body, "Bitbucket Demo") {
		t.Error("discovery did not ask again with a smaller pagelen")
	}
	h := newFixture(t, withWorkspace("bitbucket-demo")) // once only
	h.bb.SetPagelenCap(standin.RepositoriesAPI, 2)
	if r := h.get("/oauth-callback"); r.status != http.StatusBadGateway || !strings.Contains(r.body, "Invalid pagelen") {
		t.Errorf("status %d, want 502 after one smaller try", r.status)
	}
	if n := countRequests(h.bb, "/2.0/repositories/bitbucket-demo"); n != 2 {
		t.Errorf("%d requests for repositories, want 2", n)
	}
}

// TestRateLimitHeadersAreShown: Bitbucket's 429s carry no Retry-After for a
// consumer, but when an answer does, the page shows it.
func TestRateLimitHeadersAreShown(t *testing.T) {
	t.Parallel()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/site/oauth2/access_token" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"access_token":"a-token-that-is-long-enough-0123456789","token_type":"bearer","expires_in":7200}`)
			return
		}
		w.Header().Set("Retry-After", "3600")
		w.Header().Set("X-RateLimit-Limit", "1000")
		w.Header().Set("X-RateLimit-NearLimit", "true")
		http.Error(w, "Rate limit for this resource has been exceeded", http.StatusTooManyRequests)
	}))
	t.Cleanup(upstream.Close)
	f := newFixture(t, withWorkspace("ws"), func(c *config.Config) {
		c.TokenURL, c.APIURL = upstream.URL+"/site/oauth2/access_token", upstream.URL+"/2.0"
	})
	r := f.get("/oauth-callback")
	for _, want := range []string{"Retry-After: 3600", "X-RateLimit-Limit: 1000", "X-RateLimit-NearLimit: true", "up to an hour"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestRecoveryAfterARevocation: /2.0/user/workspaces may refuse every
// token; the next page's calls elsewhere still replace a token revoked
// since, on the first load.
func TestRecoveryAfterARevocation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.bb.SetFault(standin.UserWorkspaces, standin.APITokenNotSupported)
	if r := f.get("/oauth-callback"); !strings.Contains(r.body, "Set <code>BITBUCKET_WORKSPACE</code>") {
		t.Fatal("discovery was not refused")
	}
	f.bb.RevokeTokens()
	if r := f.get("/oauth-callback?workspace=bitbucket-demo"); r.status != http.StatusOK || !strings.Contains(r.body, "api-gateway") {
		t.Errorf("the first load after a revocation: status %d, want the repositories", r.status)
	}
}
