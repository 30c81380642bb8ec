package standin

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// repositories lists every repository of a workspace, by slug.
func repositories(t *testing.T, base, workspace, bearer string) map[string]map[string]any {
	t.Helper()
	repos := map[string]map[string]any{}
	for _, p := range follow(t, base+"/2.0/repositories/"+workspace+"?pagelen=100", bearer) {
		for _, r := range p["values"].([]any) {
			repos[r.(map[string]any)["slug"].(string)] = r.(map[string]any)
		}
	}
	return repos
}

// linkNames are the names under an object's links, sorted.
func linkNames(v map[string]any) string {
	links, _ := v["links"].(map[string]any)
	var names []string
	for k := range links {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

func TestRepositoryObjects(t *testing.T) {
	_, srv, _ := start(t)
	bearer := token(t, srv.URL)
	demo := repositories(t, srv.URL, "bitbucket-demo", bearer)
	labs := repositories(t, srv.URL, "demo-labs", bearer)
	const allLinks = "avatar branches clone commits downloads forks hooks html pullrequests self source tags watchers"

	for slug, r := range demo {
		for _, field := range []string{"type", "uuid", "full_name", "name", "slug", "description", "scm", "website",
			"owner", "workspace", "project", "is_private", "has_issues", "has_wiki", "fork_policy", "size",
			"language", "created_on", "updated_on", "override_settings", "links"} {
			if _, ok := r[field]; !ok {
				t.Errorf("%s has no %s", slug, field)
			}
		}
		if got := linkNames(r); got != allLinks {
			t.Errorf("%s links: %s, want %s", slug, got, allLinks)
		}
		owner := r["owner"].(map[string]any)
		if owner["type"] != "team" || owner["display_name"] != "Bitbucket Demo" || owner["uuid"] != r["workspace"].(map[string]any)["uuid"] ||
			owner["username"] != nil || owner["nickname"] != nil || linkNames(owner) != "avatar html self" {
			t.Errorf("%s owner %v", slug, owner)
		}
		if ws := r["workspace"].(map[string]any); ws["slug"] != "bitbucket-demo" || linkNames(ws) != "avatar html self" {
			t.Errorf("%s workspace %v", slug, ws)
		}
		project := r["project"].(map[string]any)
		if project["type"] != "project" || project["key"] != "DEMO" || project["name"] != "Demo" ||
			!strings.HasPrefix(project["uuid"].(string), "{") || linkNames(project) != "avatar html self" {
			t.Errorf("%s project %v", slug, project)
		}
		if _, forked := r["parent"]; forked {
			t.Errorf("%s has a parent", slug)
		}
	}

	tests := []struct {
		repo                 map[string]any
		name                 string
		mainbranch           bool
		created, updated     string
		private              bool
		forkPolicy, language string
		website              any
	}{
		// The demo data as before: same names, dates, privacy, languages.
		{demo["api-gateway"], "api-gateway", true, "2024-03-04T09:30:00.000000+00:00", "2026-11-27T18:00:00.123456+00:00", true, "no_public_forks", "go", nil},
		{demo["docs-site"], "docs-site", false, "2024-03-14T09:30:00.000000+00:00", "2026-10-29T14:00:00.123456+00:00", true, "no_public_forks", "", "https://docs.example.com/"},
		{demo["playground"], "playground", false, "2024-03-26T09:30:00.000000+00:00", "2026-07-09T14:00:00.123456+00:00", true, "no_public_forks", "", nil},
		{labs["benchmarks"], "benchmarks", true, "2024-09-22T09:30:00.000000+00:00", "2026-10-01T02:15:00.000000+00:00", false, "allow_forks", "c", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.repo
			_, hasMain := r["mainbranch"]
			if r["name"] != tt.name || hasMain != tt.mainbranch || r["created_on"] != tt.created || r["updated_on"] != tt.updated ||
				r["is_private"] != tt.private || r["fork_policy"] != tt.forkPolicy || r["language"] != tt.language || r["website"] != tt.website {
				t.Errorf("%v", r)
			}
		})
	}

	t.Run("a fork names its parent", func(t *testing.T) {
		p, _ := labs["benchmarks"]["parent"].(map[string]any)
		if p["type"] != "repository" || p["full_name"] != "bitbucket-demo/load-tests" || p["uuid"] != demo["load-tests"]["uuid"] ||
			linkNames(p) != "avatar html self" {
			t.Errorf("parent %v", p)
		}
		for slug, r := range labs {
			if _, forked := r["parent"]; forked != (slug == "benchmarks") {
				t.Errorf("%s: parent %v", slug, r["parent"])
			}
		}
	})
}

func TestWorkspaceObject(t *testing.T) {
	_, srv, _ := start(t)
	_, _, v := getJSON(t, srv.URL+"/2.0/workspaces/bitbucket-demo", token(t, srv.URL))
	if got, want := linkNames(v), "avatar html members owners projects repositories self snippets"; got != want {
		t.Errorf("links %s, want %s", got, want)
	}
	if v["type"] != "workspace" || v["slug"] != "bitbucket-demo" || v["name"] != "Bitbucket Demo" ||
		v["created_on"] != "2024-03-04T09:30:00.000000+00:00" || v["forking_mode"] != "allow_forks" {
		t.Errorf("workspace %v", v)
	}
}

// TestPageWeight: a page of repositories weighs what Bitbucket's does
// (some 3 kB a repository, not a few hundred bytes), fields cuts it down,
// and BodyBytes counts what the client read.
func TestPageWeight(t *testing.T) {
	s, srv, _ := start(t)
	bearer := token(t, srv.URL)
	read := func(path string) int {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == 200 && !json.Valid(body) {
			t.Fatalf("%s: not JSON", path)
		}
		return len(body)
	}
	before := s.BodyBytes()
	full := read("/2.0/repositories/bitbucket-demo")
	cut := read("/2.0/repositories/bitbucket-demo?fields=values.name,next")
	refused := read("/2.0/repositories/bitbucket-demo?pagelen=1000")
	if full < 25000 || full > 60000 {
		t.Errorf("a page of 10 repositories weighs %d bytes, want some 30 kB", full)
	}
	if cut > full/20 {
		t.Errorf("with fields=values.name,next: %d bytes of %d", cut, full)
	}
	if got := s.BodyBytes() - before; got != int64(full+cut+refused) {
		t.Errorf("BodyBytes grew by %d, the client read %d", got, full+cut+refused)
	}
	t.Logf("a page of 10 repositories: %d bytes; with fields=values.name,next: %d bytes", full, cut)
	token(t, srv.URL) // the token endpoint is not counted, nor a HEAD's body, never sent
	req, _ := http.NewRequest("HEAD", srv.URL+"/2.0/repositories/bitbucket-demo", nil)
	req.Header.Set("Authorization", bearer)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	if got := s.BodyBytes() - before; got != int64(full+cut+refused) {
		t.Errorf("a token request and a HEAD moved BodyBytes by %d", got-int64(full+cut+refused))
	}
}
