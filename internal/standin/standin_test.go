package standin

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func start(t *testing.T) (*Server, *httptest.Server, *Clock) {
	t.Helper()
	c := NewClock()
	s := New(Options{Now: c.Now})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv, c
}

// tokenRequest posts to the token endpoint. user and pass are put in the
// Basic header form-escaped, as golang.org/x/oauth2 does, unless noAuth.
func tokenRequest(t *testing.T, base, user, pass string, noAuth bool, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/site/oauth2/access_token", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if !noAuth {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("token endpoint answer is not JSON: %v", err)
	}
	return resp.StatusCode, v
}

const form = "application/x-www-form-urlencoded"

func TestTokenEndpoint(t *testing.T) {
	_, srv, _ := start(t)
	tests := []struct {
		name              string
		user, pass        string
		noAuth            bool
		contentType, body string
		status            int
		errCode, errDesc  string
	}{
		{"no client authentication", "", "", true, form, "grant_type=client_credentials", 400,
			"unauthorized_client", "Requests must be authenticated using OAuth client credentials"},
		{"wrong secret", DemoKey, "nope", false, form, "grant_type=client_credentials", 400,
			"unauthorized_client", "Invalid OAuth client credentials"},
		{"wrong key", "nope", DemoSecret, false, form, "grant_type=client_credentials", 400,
			"unauthorized_client", "Invalid OAuth client credentials"},
		{"no grant_type", DemoKey, DemoSecret, false, form, "", 400, "invalid_grant", "Unsupported grant type: None"},
		{"JSON body", DemoKey, DemoSecret, false, "application/json", `{"grant_type":"client_credentials"}`, 400,
			"invalid_grant", "Unsupported grant type: None"},
		{"other grant", DemoKey, DemoSecret, false, form, "grant_type=password", 400,
			"invalid_grant", "Unsupported grant type: password"},
		{"success", DemoKey, DemoSecret, false, form, "grant_type=client_credentials", 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, v := tokenRequest(t, srv.URL, tt.user, tt.pass, tt.noAuth, tt.contentType, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, v)
			}
			if tt.status != 200 {
				if v["error"] != tt.errCode || v["error_description"] != tt.errDesc || len(v) != 2 {
					t.Errorf("body %v, want {error: %s, error_description: %s}", v, tt.errCode, tt.errDesc)
				}
				return
			}
			if v["token_type"] != "bearer" || v["expires_in"] != float64(7200) || v["scope"] != DefaultScopes ||
				v["access_token"] == "" || len(v) != 4 {
				t.Errorf("token body %v, want the 2026 shape (access_token, scope, expires_in 7200, token_type bearer)", v)
			}
		})
	}
}

func TestNotPrivateConsumer(t *testing.T) {
	s, srv, _ := start(t)
	s.SetFault(TokenEndpoint, TokenNotPrivate)
	_, v := tokenRequest(t, srv.URL, DemoKey, DemoSecret, false, form, "grant_type=client_credentials")
	if v["error"] != "invalid_grant" || !strings.HasPrefix(v["error_description"].(string), `Cannot use client_credentials with a consumer marked as "public".`) {
		t.Errorf("body %v", v)
	}
}

func getJSON(t *testing.T, u, auth string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v map[string]any
	json.Unmarshal(body, &v) //nolint:errcheck // some answers are plain text
	return resp.StatusCode, resp.Header, v
}

func errorMessage(v map[string]any) string {
	e, _ := v["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

func TestAPI(t *testing.T) {
	s, srv, clk := start(t)
	_, tok := tokenRequest(t, srv.URL, DemoKey, DemoSecret, false, form, "grant_type=client_credentials")
	bearer := "Bearer " + tok["access_token"].(string)
	tests := []struct {
		name, path, auth string
		status           int
		message          string
	}{
		{"workspace", "/2.0/workspaces/bitbucket-demo", bearer, 200, ""},
		{"no token", "/2.0/workspaces/bitbucket-demo", "", 401, "Token is invalid, expired, or not supported for this endpoint."},
		{"token in the query", "/2.0/workspaces/bitbucket-demo?access_token=" + strings.TrimPrefix(bearer, "Bearer "), "", 401,
			"Token is invalid, expired, or not supported for this endpoint."},
		{"Basic auth", "/2.0/workspaces/bitbucket-demo", "Basic eDp5", 401, "Token is invalid, expired, or not supported for this endpoint."},
		{"unknown token", "/2.0/workspaces/bitbucket-demo", "Bearer nope", 401, "Token is invalid, expired, or not supported for this endpoint."},
		{"unknown workspace", "/2.0/workspaces/nope", bearer, 404, "No workspace with identifier 'nope'."},
		{"unknown workspace's repositories", "/2.0/repositories/nope", bearer, 404, "No workspace with identifier 'nope'."},
		{"unknown route", "/2.0/nothing/here/at/all", bearer, 404, "Resource not found"},
		{"removed: workspaces", "/2.0/workspaces", bearer, 410, "CHANGE-2770 - Functionality has been deprecated"},
		{"removed: permissions", "/2.0/user/permissions/workspaces", bearer, 410, "CHANGE-2770 - Functionality has been deprecated"},
		{"removed: repository permissions", "/2.0/user/permissions/repositories", bearer, 410, "CHANGE-2770 - Functionality has been deprecated"},
		{"removed: all repositories", "/2.0/repositories", bearer, 410, "CHANGE-2770 - Functionality has been deprecated"},
		{"user workspaces", "/2.0/user/workspaces", bearer, 200, ""},
		{"pagelen over 100", "/2.0/repositories/bitbucket-demo?pagelen=101", bearer, 400, "Invalid pagelen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, v := getJSON(t, srv.URL+tt.path, tt.auth)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, v)
			}
			if tt.message != "" && (v["type"] != "error" || errorMessage(v) != tt.message) {
				t.Errorf("body %v, want error message %q", v, tt.message)
			}
		})
	}

	t.Run("pagination", func(t *testing.T) {
		next := srv.URL + "/2.0/repositories/bitbucket-demo"
		var names []string
		pages := 0
		for next != "" {
			status, _, v := getJSON(t, next, bearer)
			if status != 200 {
				t.Fatalf("%s: %d", next, status)
			}
			pages++
			for _, r := range v["values"].([]any) {
				names = append(names, r.(map[string]any)["name"].(string))
			}
			next, _ = v["next"].(string)
			if v["pagelen"] != float64(10) || v["size"] != float64(23) || v["page"] != float64(pages) {
				t.Errorf("page %d: pagelen %v size %v page %v", pages, v["pagelen"], v["size"], v["page"])
			}
			if prev, ok := v["previous"].(string); (pages > 1) != ok || (ok && !strings.HasPrefix(prev, "http://")) {
				t.Errorf("page %d: previous %q", pages, prev)
			}
		}
		if pages != 3 || len(names) != 23 {
			t.Errorf("followed next through %d pages, %d repositories; want 3 and 23", pages, len(names))
		}
	})

	t.Run("missing scope", func(t *testing.T) {
		s.SetScopes("account")
		_, tok := tokenRequest(t, srv.URL, DemoKey, DemoSecret, false, form, "grant_type=client_credentials")
		s.SetScopes(DefaultScopes)
		status, h, v := getJSON(t, srv.URL+"/2.0/repositories/bitbucket-demo", "Bearer "+tok["access_token"].(string))
		if status != 403 || errorMessage(v) != "Your credentials lack one or more required privilege scopes." {
			t.Fatalf("%d %v", status, v)
		}
		if h.Get("X-Accepted-OAuth-Scopes") != "repository" {
			t.Errorf("X-Accepted-OAuth-Scopes %q", h.Get("X-Accepted-OAuth-Scopes"))
		}
		detail := v["error"].(map[string]any)["detail"].(map[string]any)
		if req := detail["required"].([]any); len(req) != 1 || req[0] != "repository" {
			t.Errorf("detail.required %v", req)
		}
	})

	t.Run("expired token", func(t *testing.T) {
		clk.Advance(7200 * time.Second)
		status, _, v := getJSON(t, srv.URL+"/2.0/workspaces/bitbucket-demo", bearer)
		if status != 401 || errorMessage(v) != "Access token expired." {
			t.Errorf("%d %v", status, v)
		}
	})

	t.Run("rate limit", func(t *testing.T) {
		s.SetFault(RepositoriesAPI, APIRateLimited)
		resp, err := http.Get(srv.URL + "/2.0/repositories/bitbucket-demo")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 429 || string(body) != "Rate limit for this resource has been exceeded" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || resp.Header.Get("Retry-After") != "" {
			t.Errorf("429: %d %q %v", resp.StatusCode, body, resp.Header)
		}
	})
}

// TestPublicRepositoriesWithoutAToken: Bitbucket lists a workspace's
// public repositories to a request that carries no credential at all, so a
// client that drops its token sees a short list, not an error
// (bitbucket-facts.md). A wrong credential is still a 401, and so is a
// token in the query, which Bitbucket refuses since May 2026; a private
// workspace is hidden.
func TestPublicRepositoriesWithoutAToken(t *testing.T) {
	s, srv, _ := start(t)
	bearer := token(t, srv.URL)
	list := func(ws, auth, query string) (int, map[string]bool) {
		status, _, v := getJSON(t, srv.URL+"/2.0/repositories/"+ws+"?pagelen=100"+query, auth)
		private := map[string]bool{}
		values, _ := v["values"].([]any)
		for _, r := range values {
			r := r.(map[string]any)
			private[r["name"].(string)] = r["is_private"].(bool)
		}
		if status == 200 && v["size"] != float64(len(values)) {
			t.Errorf("size %v for %d repositories", v["size"], len(values))
		}
		return status, private
	}
	_, all := list("demo-labs", bearer, "")
	var public []string
	for name, private := range all {
		if !private {
			public = append(public, name)
		}
	}
	if len(public) == 0 || len(public) == len(all) {
		t.Fatalf("demo-labs has %d public repositories of %d: the test needs both kinds", len(public), len(all))
	}
	// Which workspaces the consumer reaches, and the faults about a token,
	// do not change what anyone may see.
	for _, setup := range []struct {
		name  string
		apply func()
	}{
		{"", func() {}},
		{" (the consumer reaches only bitbucket-demo)", func() { s.SetReachableWorkspaces("bitbucket-demo") }},
		{" (the missing-scope fault)", func() { s.SetFault(RepositoriesAPI, APIMissingScope) }},
		{" (the expired-token fault)", func() { s.SetFault(RepositoriesAPI, APIExpiredToken) }},
	} {
		setup.apply()
		status, got := list("demo-labs", "", "")
		if status != 200 || len(got) != len(public) {
			t.Fatalf("without a token%s: status %d, %d repositories; want 200 and the %d public ones",
				setup.name, status, len(got), len(public))
		}
		for _, name := range public {
			if _, ok := got[name]; !ok {
				t.Errorf("without a token%s: %s (public) is missing", setup.name, name)
			}
		}
	}
	s.SetFault(RepositoriesAPI, "")
	s.SetReachableWorkspaces()
	for _, tt := range []struct{ name, ws, auth, query string }{
		{"an unknown token", "demo-labs", "Bearer nope", ""},
		{"an empty Bearer", "demo-labs", "Bearer ", ""},
		{"Basic credentials", "demo-labs", "Basic eDp5", ""},
		{"the token in the query", "demo-labs", "", "&access_token=" + strings.TrimPrefix(bearer, "Bearer ")},
	} {
		if status, _ := list(tt.ws, tt.auth, tt.query); status != 401 {
			t.Errorf("%s: status %d, want 401", tt.name, status)
		}
	}
	if status, _ := list("bitbucket-demo", "", ""); status != 404 {
		t.Errorf("a private workspace's repositories without a token: status %d, want 404", status)
	}
	if status, _, _ := getJSON(t, srv.URL+"/2.0/workspaces/demo-labs", ""); status != 401 {
		t.Errorf("a workspace without a token: status %d, want 401 (only repositories are public)", status)
	}
}

// token gets an access token for the current scopes and returns the
// Authorization header value that carries it.
func token(t *testing.T, base string) string {
	t.Helper()
	status, v := tokenRequest(t, base, DemoKey, DemoSecret, false, form, "grant_type=client_credentials")
	if status != 200 {
		t.Fatalf("token request: %d %v", status, v)
	}
	return "Bearer " + v["access_token"].(string)
}

func TestLeastPrivilege(t *testing.T) {
	if DefaultScopes != "account repository" {
		t.Fatalf("DefaultScopes %q, want the least the app needs: \"account repository\"", DefaultScopes)
	}
	tests := []struct {
		name, scopes, path string
		status             int
		xOAuthScopes       string
	}{
		{"default: workspace", "", "/2.0/workspaces/bitbucket-demo", 200, "account, repository"},
		{"default: repositories", "", "/2.0/repositories/bitbucket-demo", 200, "account, repository"},
		{"default: user workspaces", "", "/2.0/user/workspaces", 200, "account, repository"},
		{"repository only: user workspaces", "repository", "/2.0/user/workspaces", 403, "repository"},
		{"account only: repositories", "account", "/2.0/repositories/bitbucket-demo", 403, "account"},
		{"account only: workspace needs no scope", "account", "/2.0/workspaces/bitbucket-demo", 200, "account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv, _ := start(t)
			if tt.scopes != "" {
				s.SetScopes(tt.scopes)
			}
			status, h, v := getJSON(t, srv.URL+tt.path, token(t, srv.URL))
			if status != tt.status || h.Get("X-OAuth-Scopes") != tt.xOAuthScopes {
				t.Errorf("%d, X-OAuth-Scopes %q; want %d, %q: %v", status, h.Get("X-OAuth-Scopes"), tt.status, tt.xOAuthScopes, v)
			}
		})
	}
}

func TestWorkspaceByUUID(t *testing.T) {
	s, srv, _ := start(t)
	bearer := token(t, srv.URL)
	uuid := s.data["bitbucket-demo"].uuid // "{...}"
	inner := strings.Trim(uuid, "{}")
	tests := []struct {
		name, path string
		status     int
		message    string
	}{
		{"workspace by slug", "/2.0/workspaces/bitbucket-demo", 200, ""},
		{"workspace by escaped UUID", "/2.0/workspaces/%7B" + inner + "%7D", 200, ""},
		{"workspace by lower-case escaped UUID", "/2.0/workspaces/%7b" + inner + "%7d", 200, ""},
		{"workspace by raw UUID", "/2.0/workspaces/" + uuid, 200, ""},
		{"workspace by upper-case UUID", "/2.0/workspaces/" + url.PathEscape(strings.ToUpper(uuid)), 200, ""},
		{"repositories by escaped UUID", "/2.0/repositories/%7B" + inner + "%7D", 200, ""},
		{"UUID without braces", "/2.0/workspaces/" + inner, 404, "No workspace with identifier '" + inner + "'."},
		{"unknown UUID", "/2.0/repositories/%7B00000000-0000-0000-0000-000000000000%7D", 404,
			"No workspace with identifier '{00000000-0000-0000-0000-000000000000}'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, v := getJSON(t, srv.URL+tt.path, bearer)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, v)
			}
			if tt.message != "" {
				if errorMessage(v) != tt.message {
					t.Errorf("message %q, want %q", errorMessage(v), tt.message)
				}
				return
			}
			if vals, ok := v["values"].([]any); ok { // repositories: each carries the slug
				r := vals[0].(map[string]any)
				if ws := r["workspace"].(map[string]any); ws["slug"] != "bitbucket-demo" ||
					!strings.HasPrefix(r["full_name"].(string), "bitbucket-demo/") {
					t.Errorf("repository %v does not carry the workspace slug", r)
				}
			} else if v["slug"] != "bitbucket-demo" || v["uuid"] != uuid {
				t.Errorf("workspace %v, want slug bitbucket-demo and uuid %s", v, uuid)
			}
		})
	}
}

func TestUserWorkspacesShape(t *testing.T) {
	tests := []struct {
		name      string
		endpoint  Endpoint
		fault     Fault
		path      string
		wantAdmin any // administrator of the first item; nil: not a workspace listing
		wantPage  any
	}{
		{"example types", UserWorkspaces, NoFault, "/2.0/user/workspaces", true, float64(1)},
		{"schema types", UserWorkspaces, APIStringTypes, "/2.0/user/workspaces", "true", "1"},
		{"schema types, second page", UserWorkspaces, APIStringTypes, "/2.0/user/workspaces?pagelen=1&page=2", "false", "2"},
		{"repositories: example types", RepositoriesAPI, NoFault, "/2.0/repositories/bitbucket-demo", nil, float64(1)},
		{"repositories: page as a string", RepositoriesAPI, APIStringTypes, "/2.0/repositories/bitbucket-demo?page=3", nil, "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv, _ := start(t)
			s.SetFault(tt.endpoint, tt.fault)
			status, _, v := getJSON(t, srv.URL+tt.path, token(t, srv.URL))
			if status != 200 {
				t.Fatalf("%d %v", status, v)
			}
			if v["page"] != tt.wantPage {
				t.Errorf("page %#v, want %#v", v["page"], tt.wantPage)
			}
			if tt.wantAdmin == nil {
				return
			}
			item := v["values"].([]any)[0].(map[string]any)
			if item["type"] != "workspace_access" || item["administrator"] != tt.wantAdmin {
				t.Errorf("item %v, want type workspace_access and administrator %#v", item, tt.wantAdmin)
			}
			ws := item["workspace"].(map[string]any)
			links := ws["links"].(map[string]any)
			if ws["type"] != "workspace_base" || len(links) != 2 || links["avatar"] == nil || links["self"] == nil {
				t.Errorf("workspace %v, want a workspace_base with links avatar and self only", ws)
			}
		})
	}
}

// listedSlugs returns the workspace slugs of a /2.0/user/workspaces page.
func listedSlugs(v map[string]any) []string {
	var slugs []string
	vals, _ := v["values"].([]any)
	for _, item := range vals {
		ws, _ := item.(map[string]any)["workspace"].(map[string]any)
		slug, _ := ws["slug"].(string)
		slugs = append(slugs, slug)
	}
	return slugs
}

func TestAppUserModes(t *testing.T) {
	const (
		unsupported = "Token is invalid, expired, or not supported for this endpoint."
		mechanism   = "This API is not accessible by this authentication mechanism"
		noLabs      = "No workspace with identifier 'demo-labs'."
	)
	tests := []struct {
		name      string
		fault     Fault    // on UserWorkspaces
		reachable []string // SetReachableWorkspaces
		path      string
		status    int
		message   string
		slugs     string // of a /2.0/user/workspaces answer
	}{
		{"default lists both", NoFault, nil, "/2.0/user/workspaces", 200, "", "bitbucket-demo demo-labs"},
		{"token not supported", APITokenNotSupported, nil, "/2.0/user/workspaces", 401, unsupported, ""},
		{"token not supported: other endpoints accept it", APITokenNotSupported, nil, "/2.0/repositories/bitbucket-demo", 200, "", ""},
		{"mechanism refused", APIAuthMechanismRefused, nil, "/2.0/user/workspaces", 403, mechanism, ""},
		{"mechanism refused: other endpoints accept it", APIAuthMechanismRefused, nil, "/2.0/workspaces/demo-labs", 200, "", ""},
		{"own workspace only: listing", NoFault, []string{"bitbucket-demo"}, "/2.0/user/workspaces", 200, "", "bitbucket-demo"},
		{"own workspace only: own workspace", NoFault, []string{"bitbucket-demo"}, "/2.0/workspaces/bitbucket-demo", 200, "", ""},
		{"own workspace only: own repositories", NoFault, []string{"bitbucket-demo"}, "/2.0/repositories/bitbucket-demo", 200, "", ""},
		{"own workspace only: other workspace", NoFault, []string{"bitbucket-demo"}, "/2.0/workspaces/demo-labs", 404, noLabs, ""},
		{"own workspace only: other repositories", NoFault, []string{"bitbucket-demo"}, "/2.0/repositories/demo-labs", 404, noLabs, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv, _ := start(t)
			s.SetFault(UserWorkspaces, tt.fault)
			s.SetReachableWorkspaces(tt.reachable...)
			status, _, v := getJSON(t, srv.URL+tt.path, token(t, srv.URL))
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, v)
			}
			if tt.message != "" && (v["type"] != "error" || errorMessage(v) != tt.message) {
				t.Errorf("body %v, want error message %q", v, tt.message)
			}
			if got := strings.Join(listedSlugs(v), " "); tt.slugs != "" && got != tt.slugs {
				t.Errorf("listed %q, want %q", got, tt.slugs)
			}
		})
	}

	t.Run("reachable by UUID too", func(t *testing.T) {
		s, srv, _ := start(t)
		s.SetReachableWorkspaces("bitbucket-demo")
		uuid := s.data["demo-labs"].uuid
		status, _, v := getJSON(t, srv.URL+"/2.0/workspaces/"+url.PathEscape(uuid), token(t, srv.URL))
		if status != 404 || errorMessage(v) != "No workspace with identifier '"+uuid+"'." {
			t.Errorf("%d %v", status, v)
		}
	})
}

// follow fetches u and every next page after it, and returns the pages.
func follow(t *testing.T, u, bearer string) []map[string]any {
	t.Helper()
	var pages []map[string]any
	for u != "" {
		if len(pages) > 50 {
			t.Fatalf("more than 50 pages")
		}
		status, _, v := getJSON(t, u, bearer)
		if status != 200 {
			t.Fatalf("%s: %d %v", u, status, v)
		}
		pages = append(pages, v)
		u, _ = v["next"].(string)
	}
	return pages
}

// itemKeys collects one field of every item of the pages (workspace.slug
// for /2.0/user/workspaces items).
func itemKeys(pages []map[string]any, name string) []string {
	var keys []string
	for _, p := range pages {
		vals, _ := p["values"].([]any)
		for _, item := range vals {
			m := item.(map[string]any)
			if ws, ok := m["workspace"].(map[string]any); ok && m["type"] == "workspace_access" {
				m = ws
			}
			k, _ := m[name].(string)
			keys = append(keys, k)
		}
	}
	return keys
}

func TestSort(t *testing.T) {
	asc := func(a, b string) bool { return a <= b }
	desc := func(a, b string) bool { return a >= b }
	tests := []struct {
		name, path, field string
		inOrder           func(a, b string) bool
		status            int
		message           string
	}{
		{"-updated_on", "/2.0/repositories/bitbucket-demo?sort=-updated_on", "updated_on", desc, 200, ""},
		{"updated_on", "/2.0/repositories/bitbucket-demo?sort=updated_on", "updated_on", asc, 200, ""},
		{"name", "/2.0/repositories/bitbucket-demo?sort=name", "name", asc, 200, ""},
		{"-name", "/2.0/repositories/bitbucket-demo?sort=-name", "name", desc, 200, ""},
		{"slug", "/2.0/repositories/bitbucket-demo?sort=slug&pagelen=7", "slug", asc, 200, ""},
		{"created_on by UUID", "/2.0/repositories/{6d1f0c2a-0001-4b7e-9a3c-5e8d2f1b0001}?sort=-created_on", "created_on", desc, 200, ""},
		{"user workspaces: slug", "/2.0/user/workspaces?sort=slug&pagelen=1", "slug", asc, 200, ""},
		{"user workspaces: -slug", "/2.0/user/workspaces?sort=-slug&pagelen=1", "slug", desc, 200, ""},
		{"unknown field", "/2.0/repositories/bitbucket-demo?sort=stars", "", nil, 400, "Invalid sort field 'stars'"},
		{"unknown descending field", "/2.0/repositories/bitbucket-demo?sort=-size", "", nil, 400, "Invalid sort field 'size'"},
		{"user workspaces: name", "/2.0/user/workspaces?sort=name", "", nil, 400, "Invalid sort field 'name'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv, _ := start(t)
			bearer := token(t, srv.URL)
			if tt.status != 200 {
				status, _, v := getJSON(t, srv.URL+tt.path, bearer)
				if status != tt.status || v["type"] != "error" || errorMessage(v) != tt.message {
					t.Errorf("%d %v, want %d %q", status, v, tt.status, tt.message)
				}
				return
			}
			pages := follow(t, srv.URL+tt.path, bearer)
			keys := itemKeys(pages, tt.field)
			if len(keys) < 2 {
				t.Fatalf("only %d items", len(keys))
			}
			for i := 1; i < len(keys); i++ {
				if !tt.inOrder(keys[i-1], keys[i]) {
					t.Errorf("%s out of order across pages: %q before %q", tt.field, keys[i-1], keys[i])
				}
			}
			if first := pages[0]["size"].(float64); int(first) != len(keys) {
				t.Errorf("size %v, followed %d items", first, len(keys))
			}
		})
	}
}

func TestNextKeepsParams(t *testing.T) {
	tests := []struct {
		name, path string
		keep       url.Values // what every next and previous must carry
	}{
		{"pagelen", "/2.0/repositories/bitbucket-demo?pagelen=5",
			url.Values{"pagelen": {"5"}}},
		{"sort", "/2.0/repositories/bitbucket-demo?sort=-updated_on",
			url.Values{"sort": {"-updated_on"}, "pagelen": {"10"}}},
		{"all four", `/2.0/repositories/bitbucket-demo?pagelen=4&sort=name&q=name+~+"a"&fields=values.name,next`,
			url.Values{"sort": {"name"}, "q": {`name ~ "a"`}, "fields": {"values.name,next"}, "pagelen": {"4"}}},
		{"user workspaces", "/2.0/user/workspaces?pagelen=1&sort=-slug&fields=values.workspace.slug,next,previous",
			url.Values{"sort": {"-slug"}, "fields": {"values.workspace.slug,next,previous"}, "pagelen": {"1"}}},
		{"other parameters are not kept", "/2.0/repositories/bitbucket-demo?role=member&pagelen=10",
			url.Values{"pagelen": {"10"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv, _ := start(t)
			pages := follow(t, srv.URL+tt.path, token(t, srv.URL))
			if len(pages) < 2 {
				t.Fatalf("%d pages, want several", len(pages))
			}
			for i, p := range pages {
				for _, rel := range []string{"next", "previous"} {
					link, ok := p[rel].(string)
					if !ok {
						continue
					}
					u, err := url.Parse(link)
					if err != nil || u.Scheme != "http" || u.Host != strings.TrimPrefix(srv.URL, "http://") {
						t.Fatalf("page %d: %s %q is not an absolute URL to the stand-in", i+1, rel, link)
					}
					got := u.Query()
					got.Del("page")
					if got.Encode() != tt.keep.Encode() {
						t.Errorf("page %d: %s keeps %v, want %v", i+1, rel, got, tt.keep)
					}
				}
			}
		})
	}
}

func TestPaginationFaults(t *testing.T) {
	tests := []struct {
		name     string
		endpoint Endpoint
		fault    Fault
		extra    int // AddWorkspaces
		path     string
		check    func(t *testing.T, pages []map[string]any)
	}{
		{"cursor pages", RepositoriesAPI, APICursorPages, 0, "/2.0/repositories/bitbucket-demo?sort=name", func(t *testing.T, pages []map[string]any) {
			if len(pages) != 3 {
				t.Errorf("%d pages, want 3", len(pages))
			}
			seen := map[string]bool{}
			for i, p := range pages {
				cur, ok := p["page"].(string)
				if !ok || cur == "" || strings.Trim(cur, "0123456789") == "" || seen[cur] ||
					strings.ContainsAny(cur, "+/=%") {
					t.Errorf("page %d: page %#v, want a new opaque URL-safe token", i+1, p["page"])
				}
				seen[cur] = true
				if _, ok := p["size"]; ok {
					t.Errorf("page %d has size", i+1)
				}
				if _, ok := p["previous"]; ok {
					t.Errorf("page %d has previous", i+1)
				}
				if next, ok := p["next"].(string); ok && !strings.Contains(next, "sort=name") {
					t.Errorf("next %q lost sort", next)
				}
			}
			if n := len(itemKeys(pages, "name")); n != 23 {
				t.Errorf("%d items, want 23", n)
			}
		}},
		{"no size or pagelen", RepositoriesAPI, APINoSizeOrPagelen, 0, "/2.0/repositories/bitbucket-demo", func(t *testing.T, pages []map[string]any) {
			for i, p := range pages {
				_, hasSize := p["size"]
				_, hasPagelen := p["pagelen"]
				if hasSize || hasPagelen || p["page"] != float64(i+1) {
					t.Errorf("page %d: %v", i+1, p)
				}
			}
			if len(pages) != 3 || len(itemKeys(pages, "name")) != 23 {
				t.Errorf("%d pages, %d items; want 3 and 23", len(pages), len(itemKeys(pages, "name")))
			}
		}},
		{"empty first page", UserWorkspaces, APIEmptyFirstPage, 0, "/2.0/user/workspaces", func(t *testing.T, pages []map[string]any) {
			if len(pages) != 2 || len(pages[0]["values"].([]any)) != 0 || pages[0]["next"] == nil {
				t.Fatalf("pages %v, want an empty first page with a next, then the items", pages)
			}
			if got := strings.Join(itemKeys(pages, "slug"), " "); got != "bitbucket-demo demo-labs" {
				t.Errorf("listed %q", got)
			}
		}},
		{"empty first page, many workspaces", UserWorkspaces, APIEmptyFirstPage, 25, "/2.0/user/workspaces", func(t *testing.T, pages []map[string]any) {
			if len(pages) != 4 || len(pages[0]["values"].([]any)) != 0 || pages[0]["size"] != float64(27) {
				t.Errorf("%d pages, first %v", len(pages), pages[0])
			}
			if n := len(itemKeys(pages, "slug")); n != 27 {
				t.Errorf("%d workspaces, want 27", n)
			}
		}},
		{"many workspaces", UserWorkspaces, NoFault, 25, "/2.0/user/workspaces?sort=-slug", func(t *testing.T, pages []map[string]any) {
			slugs := itemKeys(pages, "slug")
			if len(pages) != 3 || len(slugs) != 27 || slugs[0] != "extra-workspace-025" || slugs[26] != "bitbucket-demo" {
				t.Errorf("%d pages: %v", len(pages), slugs)
			}
		}},
		{"unstable order repeats and skips", RepositoriesAPI, APIUnstableOrder, 0, "/2.0/repositories/bitbucket-demo", func(t *testing.T, pages []map[string]any) {
			names := itemKeys(pages, "name")
			distinct := map[string]bool{}
			for _, n := range names {
				distinct[n] = true
			}
			if len(names) != 23 || len(distinct) == 23 {
				t.Errorf("%d items, %d distinct: want 23 with repeats", len(names), len(distinct))
			}
		}},
		{"unstable order is stable with sort", RepositoriesAPI, APIUnstableOrder, 0, "/2.0/repositories/bitbucket-demo?sort=slug", func(t *testing.T, pages []map[string]any) {
			distinct := map[string]bool{}
			for _, n := range itemKeys(pages, "name") {
				distinct[n] = true
			}
			if len(distinct) != 23 {
				t.Errorf("%d distinct items, want 23", len(distinct))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv, _ := start(t)
			s.SetFault(tt.endpoint, tt.fault)
			s.AddWorkspaces(tt.extra)
			tt.check(t, follow(t, srv.URL+tt.path, token(t, srv.URL)))
		})
	}
}

func TestCursorRefused(t *testing.T) {
	s, srv, _ := start(t)
	s.SetFault(RepositoriesAPI, APICursorPages)
	bearer := token(t, srv.URL)
	_, _, first := getJSON(t, srv.URL+"/2.0/repositories/bitbucket-demo", bearer)
	next, _ := url.Parse(first["next"].(string))
	own := next.Query().Get("page")
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, page string
		status     int
	}{
		{"its own cursor", own, 200},
		{"a page number", "2", 400},
		{"base64 of an offset", b64("cursor:10"), 400},
		{"an offset with a made-up MAC", b64("cursor:10:abcdefghi"), 400},
		{"its cursor for another workspace", own, 400},
		{"not base64", "!!!", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := "bitbucket-demo"
			if strings.Contains(tt.name, "another workspace") {
				ws = "demo-labs"
			}
			status, _, v := getJSON(t, srv.URL+"/2.0/repositories/"+ws+"?page="+url.QueryEscape(tt.page), bearer)
			if status != tt.status || (status == 400 && errorMessage(v) != "Invalid page") {
				t.Errorf("%d %v, want %d", status, v, tt.status)
			}
		})
	}
}

func TestExtraWorkspacesOption(t *testing.T) {
	s := New(Options{ExtraWorkspaces: 3})
	srv := httptest.NewServer(s)
	defer srv.Close()
	bearer := token(t, srv.URL)
	slugs := itemKeys(follow(t, srv.URL+"/2.0/user/workspaces", bearer), "slug")
	if strings.Join(slugs, " ") != "bitbucket-demo demo-labs extra-workspace-001 extra-workspace-002 extra-workspace-003" {
		t.Errorf("listed %v", slugs)
	}
	if status, _, v := getJSON(t, srv.URL+"/2.0/repositories/extra-workspace-002", bearer); status != 200 || v["size"] != float64(2) {
		t.Errorf("%d %v", status, v)
	}
}

// rawToken posts a correct token request and returns the raw answer.
func rawToken(t *testing.T, base string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/site/oauth2/access_token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", form)
	req.SetBasicAuth(url.QueryEscape(DemoKey), url.QueryEscape(DemoSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestTokenFaults(t *testing.T) {
	const public = `Cannot use client_credentials with a consumer marked as "public". Calls for auto generated consumers should use urn:bitbucket:oauth2:jwt instead.`
	tests := []struct {
		fault             Fault
		status            int
		contentType       string
		errCode, errDesc  string // for JSON answers
		bodyHas           string // for other answers
		header, headerHas string
	}{
		{TokenRateLimited, 429, "text/plain", "", "", "Rate limit for this resource has been exceeded", "Retry-After", ""},
		{TokenInvalidClient, 401, "application/json", "invalid_client", "Invalid client credentials", "", "WWW-Authenticate", "Basic"},
		{TokenNoCallback, 400, "application/json", "invalid_request", "No callback uri defined for the OAuth client.", "", "", ""},
		{TokenPublicConsumer, 400, "application/json", "unauthorized_client", public, "", "", ""},
		{TokenNotPrivate, 400, "application/json", "invalid_grant", public, "", "", ""},
		{TokenUnsupportedGrant, 400, "application/json", "unsupported_grant_type", "Unsupported grant type: client_credentials", "", "", ""},
		{ProxyAuthRequired, 407, "text/html", "", "", "Proxy Authentication Required", "Proxy-Authenticate", "Basic"},
		{ProxyUnauthorized, 401, "text/html", "", "", "401 Authorization Required", "WWW-Authenticate", "Basic"},
		{ProxyForbidden, 403, "text/html", "", "", "Access Denied", "", ""},
		{ProxyRateLimited, 429, "text/html", "", "", "Too Many Requests", "Retry-After", ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			s, srv, _ := start(t)
			s.SetFault(TokenEndpoint, tt.fault)
			resp, body := rawToken(t, srv.URL)
			if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.contentType) {
				t.Fatalf("%d %s, want %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), tt.status, tt.contentType, body)
			}
			if tt.errCode != "" {
				var v map[string]any
				if err := json.Unmarshal([]byte(body), &v); err != nil || len(v) != 2 ||
					v["error"] != tt.errCode || v["error_description"] != tt.errDesc {
					t.Errorf("body %s, want {error: %s, error_description: %s}", body, tt.errCode, tt.errDesc)
				}
			} else if !strings.Contains(body, tt.bodyHas) || json.Valid([]byte(body)) {
				t.Errorf("body %q, want non-JSON with %q", body, tt.bodyHas)
			}
			if got := resp.Header.Get(tt.header); tt.header != "" && !strings.Contains(got, tt.headerHas) ||
				tt.headerHas == "" && got != "" {
				t.Errorf("%s: %q, want %q", tt.header, got, tt.headerHas)
			}
			if len(s.IssuedTokens()) != 0 {
				t.Errorf("a token was issued")
			}
		})
	}

	t.Run("faults after authentication still check the credentials first", func(t *testing.T) {
		for _, f := range []Fault{TokenNoCallback, TokenPublicConsumer, TokenUnsupportedGrant, TokenNotPrivate} {
			s, srv, _ := start(t)
			s.SetFault(TokenEndpoint, f)
			status, v := tokenRequest(t, srv.URL, DemoKey, "wrong", false, form, "grant_type=client_credentials")
			if status != 400 || v["error"] != "unauthorized_client" || v["error_description"] != "Invalid OAuth client credentials" {
				t.Errorf("%s: %d %v", f, status, v)
			}
		}
	})
}

func TestProxyFaultsOnAPI(t *testing.T) {
	for _, e := range []Endpoint{WorkspaceAPI, RepositoriesAPI, UserWorkspaces} {
		for f, status := range map[Fault]int{ProxyAuthRequired: 407, ProxyUnauthorized: 401, ProxyForbidden: 403, ProxyRateLimited: 429} {
			t.Run(string(e)+"/"+string(f), func(t *testing.T) {
				s, srv, _ := start(t)
				bearer := token(t, srv.URL)
				s.SetFault(e, f)
				path := map[Endpoint]string{WorkspaceAPI: "/2.0/workspaces/bitbucket-demo",
					RepositoriesAPI: "/2.0/repositories/bitbucket-demo", UserWorkspaces: "/2.0/user/workspaces"}[e]
				got, h, v := getJSON(t, srv.URL+path, bearer)
				if got != status || v != nil || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
					t.Errorf("%d %s %v, want %d with an HTML body", got, h.Get("Content-Type"), v, status)
				}
			})
		}
	}
}

func TestEchoFaults(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(DemoKey)+":"+url.QueryEscape(DemoSecret)))
	t.Run("token", func(t *testing.T) {
		tests := []struct {
			fault       Fault
			contentType string
			minSize     int
			json        bool
		}{
			{TokenEchoRequest, "application/json", 0, true},
			{TokenEchoHuge, "text/html", 1 << 20, false},
		}
		for _, tt := range tests {
			t.Run(string(tt.fault), func(t *testing.T) {
				s, srv, _ := start(t)
				s.SetFault(TokenEndpoint, tt.fault)
				resp, body := rawToken(t, srv.URL)
				if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.contentType) ||
					len(body) < tt.minSize || json.Valid([]byte(body)) != tt.json {
					t.Fatalf("%d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
				}
				echoed := body
				if tt.json {
					var v map[string]string
					json.Unmarshal([]byte(body), &v) //nolint:errcheck // checked valid above
					if v["error"] != "invalid_request" {
						t.Errorf("error %q", v["error"])
					}
					echoed = v["error_description"]
				}
				if !strings.Contains(echoed, "Authorization: "+basic) || !strings.Contains(echoed, "grant_type=client_credentials") {
					t.Errorf("the answer does not echo the Authorization header and body: %.300s", echoed)
				}
				if !tt.json && (!strings.Contains(body[:1024], basic) || !strings.Contains(body[len(body)-1024:], basic)) {
					t.Errorf("the huge answer does not echo at both ends")
				}
			})
		}
	})
	t.Run("API", func(t *testing.T) {
		tests := []struct {
			endpoint Endpoint
			path     string
			fault    Fault
			status   int
			prefix   string
		}{
			{RepositoriesAPI, "/2.0/repositories/bitbucket-demo", APIEchoAuth401, 401, "Token is invalid, expired, or not supported for this endpoint. "},
			{RepositoriesAPI, "/2.0/repositories/bitbucket-demo", APIEchoAuth403, 403, "Your credentials lack one or more required privilege scopes. "},
			{WorkspaceAPI, "/2.0/workspaces/bitbucket-demo", APIEchoAuth401, 401, "Token is invalid, expired, or not supported for this endpoint. "},
			{UserWorkspaces, "/2.0/user/workspaces", APIEchoAuth403, 403, "Your credentials lack one or more required privilege scopes. "},
		}
		for _, tt := range tests {
			t.Run(string(tt.endpoint)+"/"+string(tt.fault), func(t *testing.T) {
				s, srv, _ := start(t)
				bearer := token(t, srv.URL)
				s.SetFault(tt.endpoint, tt.fault)
				status, _, v := getJSON(t, srv.URL+tt.path, bearer)
				detail, _ := v["error"].(map[string]any)["detail"].(string)
				if status != tt.status || errorMessage(v) != tt.prefix+"Authorization: "+bearer ||
					!strings.Contains(detail, bearer) {
					t.Errorf("%d %v, want %d echoing %q", status, v, tt.status, bearer)
				}
			})
		}
	})
}

func TestHugeData(t *testing.T) {
	tests := []struct {
		name     string
		endpoint Endpoint
		fault    Fault
		path     string
		check    func(t *testing.T, body []byte, v map[string]any)
	}{
		{"flood: repositories", RepositoriesAPI, APIFlood, "/2.0/repositories/bitbucket-demo", func(t *testing.T, body []byte, v map[string]any) {
			vals := v["values"].([]any)
			if len(body) < 1<<20 || len(vals) < 300000 || v["pagelen"] != float64(10) || v["next"] != nil {
				t.Errorf("%d bytes, %d values, pagelen %v", len(body), len(vals), v["pagelen"])
			}
			for _, x := range vals[:100] {
				if m := x.(map[string]any); len(m) != 0 {
					t.Fatalf("value %v, want {}", m)
				}
			}
		}},
		{"flood: user workspaces", UserWorkspaces, APIFlood, "/2.0/user/workspaces", func(t *testing.T, body []byte, v map[string]any) {
			if slugs := listedSlugs(v); len(slugs) != 5000 || slugs[4999] != "flood-04999" || v["next"] != nil {
				t.Errorf("%d workspaces, next %v", len(slugs), v["next"])
			}
		}},
		{"flood: workspace", WorkspaceAPI, APIFlood, "/2.0/workspaces/bitbucket-demo", func(t *testing.T, body []byte, v map[string]any) {
			if len(body) < 1<<20 || v["slug"] != "bitbucket-demo" || len(v["members"].([]any)) < 300000 {
				t.Errorf("%d bytes, slug %v", len(body), v["slug"])
			}
		}},
		{"long strings: repositories", RepositoriesAPI, APILongStrings, "/2.0/repositories/bitbucket-demo", func(t *testing.T, body []byte, v map[string]any) {
			r := v["values"].([]any)[0].(map[string]any)
			name, desc := r["name"].(string), r["description"].(string)
			if len(name) != 64<<10 || strings.Contains(name, " ") || len(desc) != 64<<10 || !strings.Contains(desc, " ") ||
				r["slug"] != "api-gateway" {
				t.Errorf("name %d bytes, description %d bytes, slug %v", len(name), len(desc), r["slug"])
			}
		}},
		{"long strings: workspace", WorkspaceAPI, APILongStrings, "/2.0/workspaces/bitbucket-demo", func(t *testing.T, body []byte, v map[string]any) {
			if len(v["name"].(string)) != 64<<10 {
				t.Errorf("name of %d bytes", len(v["name"].(string)))
			}
		}},
		{"long strings: user workspaces", UserWorkspaces, APILongStrings, "/2.0/user/workspaces", func(t *testing.T, body []byte, v map[string]any) {
			if slugs := listedSlugs(v); len(slugs) != 2 || len(slugs[0]) < 8<<10 || !strings.HasPrefix(slugs[0], "bitbucket-demo-") {
				t.Errorf("slugs of %d", len(slugs))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv, _ := start(t)
			s.SetFault(tt.endpoint, tt.fault)
			req, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
			req.Header.Set("Authorization", token(t, srv.URL))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var v map[string]any
			if err := json.Unmarshal(body, &v); resp.StatusCode != 200 || err != nil {
				t.Fatalf("%d, %v: %.200s", resp.StatusCode, err, body)
			}
			tt.check(t, body, v)
		})
	}

	t.Run("long scope", func(t *testing.T) {
		s, srv, _ := start(t)
		s.SetFault(TokenEndpoint, TokenLongScope)
		_, v := tokenRequest(t, srv.URL, DemoKey, DemoSecret, false, form, "grant_type=client_credentials")
		scope := v["scope"].(string)
		if len(scope) < 64<<10 || !strings.HasPrefix(scope, DefaultScopes+" ") {
			t.Fatalf("scope of %d bytes: %.100s", len(scope), scope)
		}
		status, h, _ := getJSON(t, srv.URL+"/2.0/repositories/bitbucket-demo", "Bearer "+v["access_token"].(string))
		if status != 200 || len(h.Get("X-OAuth-Scopes")) < 64<<10 {
			t.Errorf("%d, X-OAuth-Scopes of %d bytes", status, len(h.Get("X-OAuth-Scopes")))
		}
	})
}

func TestRedirects(t *testing.T) {
	// other is another origin on the same host, recording what reaches it.
	type seen struct{ method, path, auth, body string }
	var mu sync.Mutex
	var got []seen
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), string(body)})
		mu.Unlock()
		w.WriteHeader(http.StatusTeapot)
	}))
	defer other.Close()

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name     string
		endpoint Endpoint
		fault    Fault
		method   string
		path     string
		status   int    // without following
		location string // without following, relative to other or to the stand-in ("same:")
		followed int    // the status after following
		atOther  string // the method that reaches other, if any
	}{
		{"token, 307 away", TokenEndpoint, Redirect307OtherOrigin, "POST", "/site/oauth2/access_token", 307,
			"/site/oauth2/access_token", 418, "POST"},
		{"token, 302 away", TokenEndpoint, Redirect302OtherOrigin, "POST", "/site/oauth2/access_token", 302,
			"/site/oauth2/access_token", 418, "GET"},
		{"repositories, 302 away", RepositoriesAPI, Redirect302OtherOrigin, "GET", "/2.0/repositories/bitbucket-demo?page=2&pagelen=10", 302,
			"/2.0/repositories/bitbucket-demo?page=2&pagelen=10", 418, "GET"},
		{"user workspaces, 307 away", UserWorkspaces, Redirect307OtherOrigin, "GET", "/2.0/user/workspaces", 307,
			"/2.0/user/workspaces", 418, "GET"},
		{"token, same origin", TokenEndpoint, RedirectSameOrigin, "POST", "/site/oauth2/access_token", 307,
			"same:/site/oauth2/access_token?standin-redirected=1", 200, ""},
		{"workspace, same origin", WorkspaceAPI, RedirectSameOrigin, "GET", "/2.0/workspaces/bitbucket-demo?fields=slug", 307,
			"same:/2.0/workspaces/bitbucket-demo?fields=slug&standin-redirected=1", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv, _ := start(t)
			bearer := token(t, srv.URL)
			s.SetFault(tt.endpoint, tt.fault)
			s.SetRedirectTarget(other.URL)
			do := func(c *http.Client) *http.Response {
				var body io.Reader
				if tt.method == "POST" {
					body = strings.NewReader("grant_type=client_credentials")
				}
				req, _ := http.NewRequest(tt.method, srv.URL+tt.path, body)
				if tt.method == "POST" {
					req.Header.Set("Content-Type", form)
					req.SetBasicAuth(DemoKey, DemoSecret)
				} else {
					req.Header.Set("Authorization", bearer)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body) //nolint:errcheck // only the status matters
				resp.Body.Close()
				return resp
			}
			resp := do(noFollow)
			want := other.URL + tt.location
			if rest, ok := strings.CutPrefix(tt.location, "same:"); ok {
				want = srv.URL + rest
			}
			if resp.StatusCode != tt.status || resp.Header.Get("Location") != want {
				t.Errorf("%d Location %q, want %d %q", resp.StatusCode, resp.Header.Get("Location"), tt.status, want)
			}

			mu.Lock()
			got = nil
			mu.Unlock()
			if resp := do(http.DefaultClient); resp.StatusCode != tt.followed {
				t.Errorf("followed: %d, want %d", resp.StatusCode, tt.followed)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.atOther == "" {
				if len(got) != 0 {
					t.Errorf("other origin reached: %v", got)
				}
				reqs := s.Requests()
				if last := reqs[len(reqs)-1]; !strings.Contains(last.RawQuery, "standin-redirected=1") {
					t.Errorf("the second leg was recorded as %+v", last)
				}
				return
			}
			if len(got) != 1 || got[0].method != tt.atOther {
				t.Fatalf("other origin saw %v, want one %s", got, tt.atOther)
			}
			// What this shows: Go's client keeps the credentials on a
			// redirect to the same host name on another port.
			t.Logf("other origin saw %s %s with Authorization %q and body %q", got[0].method, got[0].path, got[0].auth, got[0].body)
		})
	}

	t.Run("default target", func(t *testing.T) {
		s, srv, _ := start(t)
		s.SetFault(WorkspaceAPI, Redirect302OtherOrigin)
		resp, err := noFollow.Get(srv.URL + "/2.0/workspaces/bitbucket-demo")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "http://127.0.0.1:9/2.0/workspaces/bitbucket-demo" {
			t.Errorf("Location %q", loc)
		}
	})
}

func TestDrip(t *testing.T) {
	tests := []struct {
		name      string
		endpoint  Endpoint
		path      string
		rate      int           // bytes per 10 ms; 0: the default rate
		timeout   time.Duration // of the client
		completes bool
	}{
		{"token, default rate, outlasts a 500 ms timeout", TokenEndpoint, "/site/oauth2/access_token", 0, 500 * time.Millisecond, false},
		{"repositories, outlasts a 300 ms timeout", RepositoriesAPI, "/2.0/repositories/bitbucket-demo", 20, 300 * time.Millisecond, false},
		{"token, fast drip completes", TokenEndpoint, "/site/oauth2/access_token", 64, 5 * time.Second, true},
		{"workspace, fast drip completes", WorkspaceAPI, "/2.0/workspaces/bitbucket-demo", 200, 5 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv, _ := start(t)
			bearer := token(t, srv.URL)
			s.SetFault(tt.endpoint, Drip)
			if tt.rate != 0 {
				s.SetDripRate(tt.rate, 10*time.Millisecond)
			}
			var req *http.Request
			if tt.endpoint == TokenEndpoint {
				req, _ = http.NewRequest("POST", srv.URL+tt.path, strings.NewReader("grant_type=client_credentials"))
				req.Header.Set("Content-Type", form)
				req.SetBasicAuth(DemoKey, DemoSecret)
			} else {
				req, _ = http.NewRequest("GET", srv.URL+tt.path, nil)
				req.Header.Set("Authorization", bearer)
			}
			client := &http.Client{Timeout: tt.timeout}
			began := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("the headers did not come at once: %v", err)
			}
			if resp.StatusCode != 200 || time.Since(began) > tt.timeout/2 {
				t.Errorf("%d after %v, want 200 at once", resp.StatusCode, time.Since(began))
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tt.completes {
				if err != nil || !json.Valid(body) {
					t.Errorf("%v: %q", err, body)
				}
			} else if err == nil || len(body) == 0 {
				t.Errorf("read %d bytes, error %v; want some bytes, then the client's timeout", len(body), err)
			}
			// The stand-in stops dripping once the client has gone.
			deadline := time.Now().Add(2 * time.Second)
			for s.Dripping() != 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := s.Dripping(); n != 0 {
				t.Errorf("%d answers still dripping after the client left", n)
			}
		})
	}
}

func TestCloneLinks(t *testing.T) {
	_, srv, _ := start(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	hostname := host[:strings.LastIndex(host, ":")]
	_, _, v := getJSON(t, srv.URL+"/2.0/repositories/bitbucket-demo?sort=name", token(t, srv.URL))
	byName := map[string]map[string]any{}
	for _, r := range v["values"].([]any) {
		byName[r.(map[string]any)["name"].(string)] = r.(map[string]any)
	}
	tests := []struct {
		repo, name, href string
	}{
		{"api-gateway", "https", "http://demo-user@" + host + "/bitbucket-demo/api-gateway.git"},
		{"api-gateway", "ssh", "git@" + hostname + ":bitbucket-demo/api-gateway.git"},
		{"auth-service", "https", "http://demo-user@" + host + "/bitbucket-demo/auth-service.git"},
	}
	for _, tt := range tests {
		t.Run(tt.repo+"/"+tt.name, func(t *testing.T) {
			links := byName[tt.repo]["links"].(map[string]any)["clone"].([]any)
			for _, l := range links {
				if l := l.(map[string]any); l["name"] == tt.name {
					if l["href"] != tt.href {
						t.Errorf("href %q, want %q", l["href"], tt.href)
					}
					return
				}
			}
			t.Errorf("no %s clone link in %v", tt.name, links)
		})
	}
}

func TestShellData(t *testing.T) {
	s, srv, _ := start(t)
	bearer := token(t, srv.URL)
	for _, e := range []Endpoint{RepositoriesAPI, WorkspaceAPI, UserWorkspaces} {
		s.SetFault(e, APIShellData)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	repos := map[string]map[string]any{}
	for _, p := range follow(t, srv.URL+"/2.0/repositories/bitbucket-demo?pagelen=100", bearer) {
		for _, r := range p["values"].([]any) {
			repos[r.(map[string]any)["slug"].(string)] = r.(map[string]any)
		}
	}
	tests := []string{"x;touch /tmp/pwned", "$(id)", "`id`", `it's "quoted"`, "--upload-pack=touch /tmp/pwned",
		"x|tee /tmp/pwned", "x\ntouch /tmp/pwned", "../../../../tmp/pwned"}
	for _, slug := range tests {
		t.Run(slug, func(t *testing.T) {
			r, ok := repos[slug]
			if !ok {
				t.Fatalf("no repository with slug %q", slug)
			}
			links := r["links"].(map[string]any)
			clone := map[string]string{}
			for _, c := range links["clone"].([]any) {
				clone[c.(map[string]any)["name"].(string)] = c.(map[string]any)["href"].(string)
			}
			full := "bitbucket-demo/" + slug
			if r["name"] != slug || r["full_name"] != full ||
				links["html"].(map[string]any)["href"] != srv.URL+"/"+full ||
				clone["https"] != "http://demo-user@"+host+"/"+full+".git" ||
				!strings.HasSuffix(clone["ssh"], ":"+full+".git") {
				t.Errorf("repository %v", r)
			}
		})
	}
	t.Run("workspace and listing", func(t *testing.T) {
		_, _, v := getJSON(t, srv.URL+"/2.0/workspaces/bitbucket-demo", bearer)
		_, _, l := getJSON(t, srv.URL+"/2.0/user/workspaces", bearer)
		if v["name"] != "x;touch /tmp/pwned" || !slices.Contains(listedSlugs(l), "x;touch /tmp/pwned") {
			t.Errorf("workspace %v, listing %v", v["name"], listedSlugs(l))
		}
	})
}

func TestPagelenCaps(t *testing.T) {
	tests := []struct {
		name     string
		caps     map[Endpoint]int // SetPagelenCap before the request
		setBack  bool             // then SetPagelenCap(e, 0) on each
		path     string
		status   int
		pagelen  float64 // of a 200 answer
		values   int     // on the page
		nextKeep string  // pagelen that next carries
	}{
		{"default", nil, false, "/2.0/repositories/bitbucket-demo", 200, 10, 10, "10"},
		{"at the cap", nil, false, "/2.0/repositories/bitbucket-demo?pagelen=100", 200, 100, 23, ""},
		{"above the cap", nil, false, "/2.0/repositories/bitbucket-demo?pagelen=101", 400, 0, 0, ""},
		{"user workspaces above the cap", nil, false, "/2.0/user/workspaces?pagelen=101", 400, 0, 0, ""},
		{"negative", nil, false, "/2.0/repositories/bitbucket-demo?pagelen=-1", 400, 0, 0, ""},
		{"not a number", nil, false, "/2.0/user/workspaces?pagelen=ten", 400, 0, 0, ""},
		{"zero is the default", nil, false, "/2.0/repositories/bitbucket-demo?pagelen=0", 200, 10, 10, "10"},
		{"a lowered cap", map[Endpoint]int{RepositoriesAPI: 50}, false, "/2.0/repositories/bitbucket-demo?pagelen=51", 400, 0, 0, ""},
		{"under a lowered cap", map[Endpoint]int{RepositoriesAPI: 50}, false, "/2.0/repositories/bitbucket-demo?pagelen=50", 200, 50, 23, ""},
		{"a cap is per endpoint", map[Endpoint]int{RepositoriesAPI: 50}, false, "/2.0/user/workspaces?pagelen=100", 200, 100, 2, ""},
		{"a cap under the default shortens the default page", map[Endpoint]int{RepositoriesAPI: 5}, false, "/2.0/repositories/bitbucket-demo", 200, 5, 5, "5"},
		{"a cap set back", map[Endpoint]int{UserWorkspaces: 1}, true, "/2.0/user/workspaces?pagelen=100", 200, 100, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv, _ := start(t)
			for e, n := range tt.caps {
				s.SetPagelenCap(e, n)
				if tt.setBack {
					s.SetPagelenCap(e, 0)
				}
			}
			status, _, v := getJSON(t, srv.URL+tt.path, token(t, srv.URL))
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, v)
			}
			if status == 400 {
				// Bitbucket's body, as jenkinsci/bitbucket-branch-source-plugin#1182 shows it.
				if len(v) != 2 || v["type"] != "error" || errorMessage(v) != "Invalid pagelen" || len(v["error"].(map[string]any)) != 1 {
					t.Errorf("body %v, want {type: error, error: {message: Invalid pagelen}}", v)
				}
				return
			}
			if v["pagelen"] != tt.pagelen || len(v["values"].([]any)) != tt.values {
				t.Errorf("pagelen %v, %d values; want %v, %d", v["pagelen"], len(v["values"].([]any)), tt.pagelen, tt.values)
			}
			next, _ := v["next"].(string)
			if u, _ := url.Parse(next); u.Query().Get("pagelen") != tt.nextKeep {
				t.Errorf("next %q, want one with pagelen=%s", next, tt.nextKeep)
			}
		})
	}
}

// TestCredentialHeaders: every answer of the API says how Bitbucket saw the
// credential (jenkinsci/bitbucket-branch-source-plugin#414 logs them on a
// 429), and every 401 carries Bitbucket's Basic challenge.
func TestCredentialHeaders(t *testing.T) {
	const challenge = `Basic realm="Bitbucket.org HTTP"`
	tests := []struct {
		name     string
		endpoint Endpoint
		fault    Fault
		auth     string // "valid": a token of the default scopes; "valid:SCOPES": of those
		path     string
		status   int
		oauth    string // X-OAuth-Scopes
		accepted string // X-Accepted-OAuth-Scopes
		credType string // X-Credential-Type
	}{
		{"200", "", "", "valid", "/2.0/repositories/bitbucket-demo", 200, "account, repository", "repository", "oauth2"},
		{"200, no scope needed", "", "", "valid", "/2.0/workspaces/bitbucket-demo", 200, "account, repository", "", "oauth2"},
		{"200, user workspaces", "", "", "valid", "/2.0/user/workspaces", 200, "account, repository", "account", "oauth2"},
		{"400", "", "", "valid", "/2.0/user/workspaces?pagelen=1000", 400, "account, repository", "account", "oauth2"},
		{"200 without a token: public repositories", "", "", "", "/2.0/repositories/demo-labs", 200, "", "repository", ""},
		{"401 without a token", "", "", "", "/2.0/user/workspaces", 401, "", "account", ""},
		{"401 for an unknown token", "", "", "Bearer nope", "/2.0/user/workspaces", 401, "", "account", ""},
		{"401 for Basic", "", "", "Basic eDp5", "/2.0/workspaces/bitbucket-demo", 401, "", "", ""},
		{"401 expired", RepositoriesAPI, APIExpiredToken, "valid", "/2.0/repositories/bitbucket-demo", 401, "", "repository", ""},
		{"401 not supported", UserWorkspaces, APITokenNotSupported, "valid", "/2.0/user/workspaces", 401, "account, repository", "account", "oauth2"},
		{"401 echoing", WorkspaceAPI, APIEchoAuth401, "valid", "/2.0/workspaces/bitbucket-demo", 401, "account, repository", "", "oauth2"},
		{"401 on a removed endpoint", "", "", "", "/2.0/repositories", 401, "", "repository", ""},
		{"403 missing scope", "", "", "valid:account", "/2.0/repositories/bitbucket-demo", 403, "account", "repository", "oauth2"},
		{"403 fault", RepositoriesAPI, APIMissingScope, "valid", "/2.0/repositories/bitbucket-demo", 403, "account", "repository", "oauth2"},
		{"404 workspace", "", "", "valid", "/2.0/workspaces/nope", 404, "account, repository", "", "oauth2"},
		{"404 route", "", "", "valid", "/2.0/nothing/here", 404, "account, repository", "", "oauth2"},
		{"405", "", "", "valid:account", "/2.0/user/workspaces", 405, "account", "", "oauth2"},
		{"410", "", "", "valid", "/2.0/user/permissions/repositories", 410, "account, repository", "account, repository", "oauth2"},
		{"410 fault", WorkspaceAPI, APIRemoved, "valid", "/2.0/workspaces/bitbucket-demo", 410, "account, repository", "", "oauth2"},
		{"429", RepositoriesAPI, APIRateLimited, "valid", "/2.0/repositories/bitbucket-demo", 429, "account, repository", "repository", "oauth2"},
		{"429 without a token", UserWorkspaces, APIRateLimited, "", "/2.0/user/workspaces", 429, "", "account", ""},
		{"500", RepositoriesAPI, APIServerError, "valid", "/2.0/repositories/bitbucket-demo", 500, "account, repository", "repository", "oauth2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv, _ := start(t)
			auth := tt.auth
			if scopes, ok := strings.CutPrefix(auth, "valid"); ok {
				if scopes, ok = strings.CutPrefix(scopes, ":"); ok {
					s.SetScopes(scopes)
				}
				auth = token(t, srv.URL)
			}
			s.SetFault(tt.endpoint, tt.fault)
			method := "GET"
			if tt.status == 405 {
				method = "DELETE"
			}
			req, _ := http.NewRequest(method, srv.URL+tt.path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body) //nolint:errcheck // only the headers matter
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			for name, want := range map[string]string{"X-OAuth-Scopes": tt.oauth, "X-Accepted-OAuth-Scopes": tt.accepted, "X-Credential-Type": tt.credType} {
				got, sent := resp.Header[http.CanonicalHeaderKey(name)]
				if !sent || len(got) != 1 || got[0] != want {
					t.Errorf("%s: %q (sent: %v), want %q", name, got, sent, want)
				}
			}
			if _, sent := resp.Header["X-Request-Count"]; !sent {
				t.Errorf("no X-Request-Count")
			}
			if got := resp.Header.Get("WWW-Authenticate"); (tt.status == 401) != (got == challenge) {
				t.Errorf("WWW-Authenticate %q on a %d", got, tt.status)
			}
		})
	}
}

func TestRemovedEndpointBody(t *testing.T) {
	for _, path := range []string{"/2.0/workspaces", "/2.0/user/permissions/workspaces", "/2.0/user/permissions/repositories", "/2.0/repositories"} {
		t.Run(path, func(t *testing.T) {
			_, srv, _ := start(t)
			status, _, v := getJSON(t, srv.URL+path, token(t, srv.URL))
			e, _ := v["error"].(map[string]any)
			data, _ := e["data"].(map[string]any)
			top, _ := v["data"].(map[string]any)
			const changelog = "https://developer.atlassian.com/cloud/bitbucket/changelog#CHANGE-2770"
			if status != 410 || e["message"] != "CHANGE-2770 - Functionality has been deprecated" ||
				e["detail"] != "Please read the changelog entry for more details." ||
				data["announcement_url"] != changelog || top["announcement_url"] != changelog {
				t.Errorf("%d %v, want the 410 of ktrysmt/go-bitbucket#357", status, v)
			}
		})
	}
}

func TestScopeImplications(t *testing.T) {
	tests := []struct {
		granted string
		path    string
		status  int
	}{
		{"pullrequest", "/2.0/repositories/bitbucket-demo", 200},
		{"pullrequest:write", "/2.0/repositories/bitbucket-demo", 200},
		{"repository:write", "/2.0/repositories/bitbucket-demo", 200},
		{"project", "/2.0/repositories/bitbucket-demo", 200},
		{"repository:admin", "/2.0/repositories/bitbucket-demo", 403},
		{"repository:delete", "/2.0/repositories/bitbucket-demo", 403},
		{"account:write", "/2.0/repositories/bitbucket-demo", 403},
		{"pullrequest", "/2.0/user/workspaces", 403},
		{"repository:admin account", "/2.0/user/workspaces", 200},
	}
	for _, tt := range tests {
		t.Run(tt.granted+" "+tt.path, func(t *testing.T) {
			s, srv, _ := start(t)
			s.SetScopes(tt.granted)
			status, h, v := getJSON(t, srv.URL+tt.path, token(t, srv.URL))
			if status != tt.status {
				t.Fatalf("token granted %q: %d on %s, want %d: %v", tt.granted, status, tt.path, tt.status, v)
			}
			if status == 403 {
				detail := v["error"].(map[string]any)["detail"].(map[string]any)
				required, granted := detail["required"].([]any), detail["granted"].([]any)
				if len(required) != 1 || required[0] != h.Get("X-Accepted-OAuth-Scopes") || len(granted) != len(strings.Fields(tt.granted)) {
					t.Errorf("detail %v: want the missing scope and the granted ones", detail)
				}
			}
		})
	}
}

func TestMissingScopes(t *testing.T) {
	tests := []struct {
		granted, required []string
		want              string // space-separated
	}{
		{nil, nil, ""},
		{[]string{"account"}, []string{}, ""},
		{[]string{"repository"}, []string{"repository"}, ""},
		{[]string{"pullrequest"}, []string{"repository"}, ""},
		{[]string{"pullrequest:write"}, []string{"repository"}, ""},
		{[]string{"project"}, []string{"repository"}, ""},
		{[]string{"repository:write"}, []string{"repository"}, ""},
		{[]string{"repository:admin"}, []string{"repository"}, "repository"},
		{[]string{"repository:admin"}, []string{"repository:write"}, "repository:write"},
		{[]string{"account"}, []string{"account", "repository"}, "repository"},
		{nil, []string{"account", "repository"}, "account repository"},
	}
	for _, tt := range tests {
		if got := strings.Join(missingScopes(tt.granted, tt.required), " "); got != tt.want {
			t.Errorf("missingScopes(%q, %q) = %q, want %q", tt.granted, tt.required, got, tt.want)
		}
	}
}

// TestScopeFor: the stand-in takes the scope each operation it serves needs
// from the table generated from the OpenAPI description.
func TestScopeFor(t *testing.T) {
	tests := []struct {
		method, template string
		want             string
		known            bool
	}{
		{"GET", "/repositories/{workspace}", "repository", true},
		{"HEAD", "/repositories/{workspace}", "repository", true},
		{"GET", "/workspaces/{workspace}", "", true},
		{"GET", "/user/workspaces", "account", true},
		{"GET", "/user/permissions/repositories", "account repository", true},
		{"DELETE", "/user/workspaces", "", false},
		{"GET", "/nothing/here", "", false},
	}
	for _, tt := range tests {
		got, known := scopeFor(tt.method, tt.template)
		if strings.Join(got, " ") != tt.want || known != tt.known {
			t.Errorf("scopeFor(%s, %s) = %q, %v; want %q, %v", tt.method, tt.template, got, known, tt.want, tt.known)
		}
	}
}
