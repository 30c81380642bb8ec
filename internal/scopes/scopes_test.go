package scopes

import (
	"slices"
	"strings"
	"testing"
)

func TestOperations(t *testing.T) {
	ops := Operations()
	if len(ops) != 334 {
		t.Fatalf("%d operations, want 334", len(ops))
	}
	var empty, connect int
	for _, op := range ops {
		if len(op.Scopes) == 0 {
			empty++
		}
		if op.Connect {
			connect++
			if len(op.Scopes) != 0 {
				t.Errorf("%s %s: a Connect operation with OAuth scopes %v", op.Method, op.Path, op.Scopes)
			}
		}
	}
	// 28 empty: 22 for Connect apps (10 under /addon, 12 application
	// properties) and 6 any token reaches.
	if empty != 28 || connect != 22 {
		t.Errorf("%d operations without scopes, %d Connect; want 28 and 22", empty, connect)
	}
}

// TestEmptyScopeKinds: the two meanings of an empty scope list, operation
// by operation.
func TestEmptyScopeKinds(t *testing.T) {
	want := map[string]bool{ // method + path → Connect
		"GET /workspaces/{workspace}":     false,
		"GET /hook_events":                false,
		"GET /hook_events/{subject_type}": false,
		"GET /users/{selected_user}":      false,
		"GET /workspaces/{workspace}/pipelines-config/identity/oidc/.well-known/openid-configuration": false,
		"GET /workspaces/{workspace}/pipelines-config/identity/oidc/keys.json":                        false,
		"PUT /addon":    true,
		"DELETE /addon": true,
		"GET /addon/linkers/{linker_key}/values/{value_id}":                                                            true,
		"GET /repositories/{workspace}/{repo_slug}/properties/{app_key}/{property_name}":                               true,
		"DELETE /repositories/{workspace}/{repo_slug}/commit/{commit}/properties/{app_key}/{property_name}":            true,
		"PUT /repositories/{workspace}/{repo_slug}/pullrequests/{pullrequest_id}/properties/{app_key}/{property_name}": true,
		"GET /users/{selected_user}/properties/{app_key}/{property_name}":                                              true,
	}
	seen := 0
	for _, op := range Operations() {
		connect, ok := want[op.Method+" "+op.Path]
		if !ok {
			continue
		}
		seen++
		if len(op.Scopes) != 0 || op.Connect != connect {
			t.Errorf("%s %s: scopes %v, Connect %v; want none and %v", op.Method, op.Path, op.Scopes, op.Connect, connect)
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d operations", seen, len(want))
	}
}

func TestOperationsOrder(t *testing.T) {
	ops := Operations()
	rank := map[string]int{"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
	for i := 1; i < len(ops); i++ {
		a, b := ops[i-1], ops[i]
		if a.Path > b.Path || a.Path == b.Path && rank[a.Method] >= rank[b.Method] {
			t.Errorf("%s %s comes before %s %s", a.Method, a.Path, b.Method, b.Path)
		}
	}
}

func TestOperationFields(t *testing.T) {
	i := slices.IndexFunc(Operations(), func(op Operation) bool {
		return op.Method == "GET" && op.Path == "/repositories"
	})
	if i < 0 {
		t.Fatal("no GET /repositories")
	}
	want := Operation{Method: "GET", Path: "/repositories", Summary: "List public repositories",
		Scopes: []string{"repository"}, Granular: []string{"read:repository:bitbucket"}, Deprecated: true}
	got := Operations()[i]
	if got.Method != want.Method || got.Path != want.Path || got.Summary != want.Summary ||
		!slices.Equal(got.Scopes, want.Scopes) || !slices.Equal(got.Granular, want.Granular) ||
		got.Deprecated != want.Deprecated || got.Connect != want.Connect {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         []string
		ok           bool
	}{
		{"GET", "/repositories/{workspace}", []string{"repository"}, true},
		{"get", "/repositories/{workspace}", []string{"repository"}, true},
		{"GET", "/user/workspaces", []string{"account"}, true},
		{"GET", "/user", []string{"account"}, true},
		{"GET", "/workspaces/{workspace}", nil, true},
		{"POST", "/repositories/{workspace}/{repo_slug}/pullrequests", []string{"pullrequest:write"}, true},
		{"DELETE", "/repositories/{workspace}/{repo_slug}", []string{"repository:delete"}, true},
		{"POST", "/repositories/{workspace}/{repo_slug}/deploy-keys", []string{"repository", "repository:admin"}, true},
		{"PUT", "/repositories/{workspace}/{repo_slug}/issues/{issue_id}/vote", []string{"account:write", "issue"}, true},
		{"PUT", "/addon", nil, true},
		{"GET", "/repositories/acme", nil, false},            // a path, not a template
		{"GET", "/2.0/repositories/{workspace}", nil, false}, // templates start after /2.0
		{"PATCH", "/repositories/{workspace}", nil, false},
		{"GET", "", nil, false},
	} {
		got, ok := Required(tc.method, tc.path)
		if ok != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("Required(%q, %q) = %q, %v; want %q, %v", tc.method, tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFind(t *testing.T) {
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/repositories/acme", "/repositories/{workspace}"},
		{"GET", "/repositories/{6d1f0c2a-0001-4b7e-9a3c-5e8d2f1b0001}", "/repositories/{workspace}"},
		{"get", "/workspaces/acme", "/workspaces/{workspace}"},
		{"GET", "/user/workspaces", "/user/workspaces"}, // a literal, not /user/{something}
		{"GET", "/repositories/acme/api/pullrequests", "/repositories/{workspace}/{repo_slug}/pullrequests"},
		{"POST", "/repositories/acme/api/pullrequests", "/repositories/{workspace}/{repo_slug}/pullrequests"},
		{"GET", "/repositories/acme/", "/repositories/{workspace}"},
		{"GET", "/no/such/thing/here/at/all", ""},
		{"PATCH", "/repositories/acme", ""},
		{"GET", "/repositories//api", ""}, // an empty segment is no parameter
	} {
		op, ok := Find(tc.method, tc.path)
		if ok != (tc.want != "") || op.Path != tc.want {
			t.Errorf("Find(%q, %q) = %q, %v; want %q", tc.method, tc.path, op.Path, ok, tc.want)
		}
	}
}

// TestRequiredIsACopy: a caller that changes what Required returned does not
// change what the next caller is told.
func TestRequiredIsACopy(t *testing.T) {
	got, _ := Required("GET", "/repositories/{workspace}")
	got[0] = "changed"
	if again, _ := Required("GET", "/repositories/{workspace}"); again[0] != "repository" {
		t.Errorf("after a caller's change, Required says %q", again)
	}
}

func TestParseTable(t *testing.T) {
	good := "# comment\nGET\t/a\tGet a\trepository account\tread:a:bitbucket\tdeprecated connect\nPOST\t/a\t\t-\t-\t-\n"
	ops, err := parseTable(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 2 || !slices.Equal(ops[0].Scopes, []string{"repository", "account"}) ||
		!ops[0].Deprecated || !ops[0].Connect || ops[1].Scopes != nil || ops[1].Deprecated || ops[1].Connect {
		t.Errorf("parsed %+v", ops)
	}
	for _, bad := range []string{
		"",
		"# only a comment\n",
		"GET\t/a\tsummary\trepository\t-\n",       // five fields
		"GET\t/a\tsum\tmary\trepository\t-\t-\n",  // seven
		"get\t/a\tsummary\trepository\t-\t-\n",    // lower-case method
		"GET\ta\tsummary\trepository\t-\t-\n",     // path without a slash
		"GET\t/a\tsummary\t\t-\t-\n",              // empty list not written -
		"GET\t/a\tsummary\trepository\t-\tbeta\n", // unknown flag
		"GET\t/a\tsummary\trepository\t-\t-\n\n",  // blank line
	} {
		if ops, err := parseTable(bad); err == nil {
			t.Errorf("parseTable(%q) = %+v, want an error", bad, ops)
		}
	}
}

// TestTableHasNoBlankSummary: every operation in the spec has a summary;
// one that came out empty would mean the generator lost it.
func TestTableHasNoBlankSummary(t *testing.T) {
	for _, op := range Operations() {
		if strings.TrimSpace(op.Summary) == "" {
			t.Errorf("%s %s has no summary", op.Method, op.Path)
		}
	}
}
