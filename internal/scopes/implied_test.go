package scopes

import (
	"maps"
	"slices"
	"testing"
)

func TestImplied(t *testing.T) {
	for _, tc := range []struct {
		name    string
		granted []string
		want    []string
	}{
		{"repository:write implies repository", []string{"repository:write"}, []string{"repository", "repository:write"}},
		{"pullrequest implies repository", []string{"pullrequest"}, []string{"pullrequest", "repository"}},
		{"project implies repository", []string{"project"}, []string{"project", "repository"}},
		// Transitive: pullrequest:write → repository:write → repository.
		{"pullrequest:write implies pullrequest, repository:write and repository", []string{"pullrequest:write"},
			[]string{"pullrequest", "pullrequest:write", "repository", "repository:write"}},
		{"repository:admin implies neither read nor write", []string{"repository:admin"}, []string{"repository:admin"}},
		{"project:admin implies neither project nor repository", []string{"project:admin"}, []string{"project:admin"}},
		{"pipeline:variable implies nothing documented", []string{"pipeline:variable"}, []string{"pipeline:variable"}},
		{"issue:write implies issue", []string{"issue:write"}, []string{"issue", "issue:write"}},
		{"snippet:write implies snippet", []string{"snippet:write"}, []string{"snippet", "snippet:write"}},
		{"account:write implies account", []string{"account:write"}, []string{"account", "account:write"}},
		{"team:write implies team", []string{"team:write"}, []string{"team", "team:write"}},
		{"pipeline:write implies pipeline", []string{"pipeline:write"}, []string{"pipeline", "pipeline:write"}},
		{"runner:write implies runner", []string{"runner:write"}, []string{"runner", "runner:write"}},
		{"account implies no email", []string{"account"}, []string{"account"}},
		{"wiki, webhook, issue, email imply nothing", []string{"wiki", "webhook", "issue", "email"}, []string{"email", "issue", "webhook", "wiki"}},
		{"granular names imply nothing", []string{"write:repository:bitbucket"}, []string{"write:repository:bitbucket"}},
		{"unknown names pass through", []string{"made-up", "Repository:Write"}, []string{"Repository:Write", "made-up"}},
		{"repeats and empty names", []string{"project", "", "project", "repository"}, []string{"project", "repository"}},
		{"nothing granted", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := slices.Sorted(maps.Keys(Implied(tc.granted)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Implied(%q) = %q, want %q", tc.granted, got, tc.want)
			}
		})
	}
}

// TestImpliedKeepsTheCallersSlice: Implied works on its own copy.
func TestImpliedKeepsTheCallersSlice(t *testing.T) {
	granted := make([]string, 1, 10) // room to append into, if Implied wrongly did
	granted[0] = "pullrequest:write"
	Implied(granted)
	if got := granted[:cap(granted)]; got[0] != "pullrequest:write" || slices.ContainsFunc(got[1:], func(s string) bool { return s != "" }) {
		t.Errorf("Implied wrote into the caller's array: %q", got)
	}
}

func TestReaches(t *testing.T) {
	op := func(method, path string) Operation {
		i := slices.IndexFunc(Operations(), func(o Operation) bool { return o.Method == method && o.Path == path })
		if i < 0 {
			t.Fatalf("no %s %s", method, path)
		}
		return Operations()[i]
	}
	every := map[string]bool{}
	for _, p := range Permissions() {
		every[p.Scope] = true
	}
	repos := op("GET", "/repositories/{workspace}")
	workspace := op("GET", "/workspaces/{workspace}")
	deployKeys := op("GET", "/repositories/{workspace}/{repo_slug}/deploy-keys") // repository and repository:admin
	connect := op("PUT", "/addon")
	property := op("GET", "/repositories/{workspace}/{repo_slug}/properties/{app_key}/{property_name}")
	variables := op("GET", "/workspaces/{workspace}/pipelines-config/variables") // pipeline

	for _, tc := range []struct {
		name    string
		granted []string
		op      Operation
		want    bool
	}{
		{"the scope itself", []string{"repository"}, repos, true},
		{"an implied scope", []string{"pullrequest:write"}, repos, true},
		{"an implied scope, through another", []string{"project"}, repos, true},
		{"admin is not read", []string{"repository:admin"}, repos, false},
		{"nothing granted", nil, repos, false},
		{"a granular name is not the OAuth scope", []string{"read:repository:bitbucket"}, repos, false},
		{"no scope needed, no scope held", nil, workspace, true},
		{"no scope needed, some held", []string{"account"}, workspace, true},
		{"multi-scope: both", []string{"repository", "repository:admin"}, deployKeys, true},
		{"multi-scope: read through write, and admin", []string{"repository:write", "repository:admin"}, deployKeys, true},
		{"multi-scope: admin alone", []string{"repository:admin"}, deployKeys, false},
		{"multi-scope: read alone", []string{"repository"}, deployKeys, false},
		{"Connect, nothing held", nil, connect, false},
		{"Connect, every scope held", slices.Collect(maps.Keys(every)), connect, false},
		{"Connect property, every scope held", slices.Collect(maps.Keys(every)), property, false},
		{"pipeline:variable does not read variables", []string{"pipeline:variable"}, variables, false},
		{"pipeline:write reads them", []string{"pipeline:write"}, variables, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Reaches(Implied(tc.granted), tc.op); got != tc.want {
				t.Errorf("Reaches(Implied(%q), %s %s) = %v, want %v", tc.granted, tc.op.Method, tc.op.Path, got, tc.want)
			}
		})
	}
}
