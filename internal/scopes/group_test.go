package scopes

import (
	"slices"
	"strings"
	"testing"
)

func TestGrouped(t *testing.T) {
	groups := Grouped(Operations())

	// Every operation lands in exactly one group, in its own order.
	var all []Operation
	for _, g := range groups {
		all = append(all, g.Operations...)
		if len(g.Operations) == 0 {
			t.Errorf("group %q is empty", g.Label)
		}
		for _, op := range g.Operations {
			if groupLabel(op) != g.Label || op.Connect != g.Connect {
				t.Errorf("%s %s is in group %q", op.Method, op.Path, g.Label)
			}
		}
	}
	if len(all) != len(Operations()) {
		t.Fatalf("%d operations in groups, want %d", len(all), len(Operations()))
	}

	var labels []string
	for _, g := range groups {
		labels = append(labels, g.Label)
	}
	if labels[0] != LabelAnyToken || labels[len(labels)-1] != LabelConnect {
		t.Errorf("first and last groups: %q, %q", labels[0], labels[len(labels)-1])
	}
	// Form order, a combination after its first scope alone.
	want := []string{
		LabelAnyToken,
		"Account: Email",
		"Account: Read",
		"Account: Read + Repositories: Read",
		"Account: Read + Issues: Read",
		"Account: Write",
		"Account: Write + Issues: Read",
		"Account: Write + Issues: Write",
		"Projects: Read",
		"Projects: Read + Projects: Admin",
		"Projects: Admin",
		"Repositories: Read",
		"Repositories: Read + Repositories: Admin",
		"Repositories: Write",
		"Repositories: Admin",
		"Repositories: Admin + Issues: Read",
		"Repositories: Admin + Issues: Write",
		"Repositories: Delete",
		"Pull requests: Read",
		"Pull requests: Write",
		"Issues: Read",
		"Issues: Write",
		"Snippets: Read",
		"Snippets: Write",
		"Webhooks: Read and write",
		"Pipelines: Read",
		"Pipelines: Write",
		"Pipelines: Edit variables",
		"Runners: Read",
		"Runners: Write",
		LabelConnect,
	}
	if !slices.Equal(labels, want) {
		t.Errorf("groups:\n%s\nwant:\n%s", strings.Join(labels, "\n"), strings.Join(want, "\n"))
	}
}

func TestGroupedTiny(t *testing.T) {
	ops := []Operation{
		{Method: "GET", Path: "/c", Scopes: []string{"repository:admin", "repository"}},
		{Method: "PUT", Path: "/addon", Connect: true},
		{Method: "GET", Path: "/b", Scopes: []string{"repository"}},
		{Method: "GET", Path: "/w"},
		{Method: "GET", Path: "/a", Scopes: []string{"account"}},
		{Method: "POST", Path: "/c", Scopes: []string{"repository", "repository:admin"}},
		{Method: "GET", Path: "/t", Scopes: []string{"test"}},
	}
	type want struct {
		label  string
		scopes []string
		paths  []string
	}
	wants := []want{
		{LabelAnyToken, nil, []string{"GET /w"}},
		{"Account: Read", []string{"account"}, []string{"GET /a"}},
		{"Repositories: Read", []string{"repository"}, []string{"GET /b"}},
		// The spec's order of scopes does not matter: both are one group.
		{"Repositories: Read + Repositories: Admin", []string{"repository", "repository:admin"}, []string{"GET /c", "POST /c"}},
		{"test", []string{"test"}, []string{"GET /t"}}, // a scope the form lacks comes last, named as it is
		{LabelConnect, nil, []string{"PUT /addon"}},
	}
	got := Grouped(ops)
	if len(got) != len(wants) {
		t.Fatalf("%d groups, want %d: %+v", len(got), len(wants), got)
	}
	for i, w := range wants {
		var paths []string
		for _, op := range got[i].Operations {
			paths = append(paths, op.Method+" "+op.Path)
		}
		if got[i].Label != w.label || !slices.Equal(got[i].Scopes, w.scopes) || !slices.Equal(paths, w.paths) {
			t.Errorf("group %d: %q %q %q; want %q %q %q", i, got[i].Label, got[i].Scopes, paths, w.label, w.scopes, w.paths)
		}
	}
	if ops[0].Scopes[0] != "repository:admin" {
		t.Errorf("Grouped reordered the caller's scopes: %q", ops[0].Scopes)
	}
}

func TestFilter(t *testing.T) {
	ops := Operations()
	has := func(got []Operation, method, path string) bool {
		return slices.ContainsFunc(got, func(op Operation) bool { return op.Method == method && op.Path == path })
	}
	for _, tc := range []struct {
		q            string
		method, path string // an operation the result must hold
		check        func(Operation) bool
	}{
		// A permission label, in any case.
		{"PULL REQUESTS: read", "GET", "/repositories/{workspace}/{repo_slug}/pullrequests",
			func(op Operation) bool { return slices.Contains(op.Scopes, "pullrequest") }},
		// A scope.
		{"pipeline:variable", "POST", "/repositories/{workspace}/{repo_slug}/pipelines_config/variables",
			func(op Operation) bool { return strings.Contains(strings.Join(op.Scopes, " "), "pipeline:variable") }},
		// A granular scope.
		{"read:workspace:bitbucket", "GET", "/workspaces/{workspace}",
			func(op Operation) bool { return slices.Contains(op.Granular, "read:workspace:bitbucket") }},
		// Words of the summary, with the spaces of a hurried hand.
		{"  Deploy   KEY ", "POST", "/repositories/{workspace}/{repo_slug}/deploy-keys",
			func(op Operation) bool { return strings.Contains(strings.ToLower(op.Summary), "deploy key") }},
		// Part of a path.
		{"projects/{project_key}/deploy-keys", "GET", "/workspaces/{workspace}/projects/{project_key}/deploy-keys",
			func(op Operation) bool { return strings.HasPrefix(op.Path, "/workspaces/{workspace}/projects/") }},
		// The two groups without scopes are found by their labels.
		{"connect", "PUT", "/addon", func(op Operation) bool { return op.Connect }},
		{"any valid token", "GET", "/workspaces/{workspace}", func(op Operation) bool { return len(op.Scopes) == 0 && !op.Connect }},
	} {
		got := Filter(ops, tc.q)
		if !has(got, tc.method, tc.path) {
			t.Errorf("Filter(%q) lacks %s %s", tc.q, tc.method, tc.path)
		}
		for _, op := range got {
			if !tc.check(op) {
				t.Errorf("Filter(%q) holds %s %s (%q)", tc.q, op.Method, op.Path, op.Scopes)
			}
		}
		if len(got) == len(ops) {
			t.Errorf("Filter(%q) kept everything", tc.q)
		}
	}

	for _, q := range []string{"", "   ", "\t\n"} {
		if got := Filter(ops, q); len(got) != len(ops) {
			t.Errorf("Filter(%q) holds %d operations, want all %d", q, len(got), len(ops))
		}
	}
	// No match, and no match across two fields (path, then summary).
	for _, q := range []string{"no-such-thing", "<script>", "pull requests: read pullrequest",
		"/repositories/{workspace} list repositories"} {
		if got := Filter(ops, q); len(got) != 0 {
			t.Errorf("Filter(%q) holds %d operations, want none", q, len(got))
		}
	}
}
