package scopes

import (
	"slices"
	"strings"
	"testing"
)

// labels are the consumer form's names for every scope Bitbucket has
// (bitbucket-facts.md, "Consumer permissions").
var labels = map[string]string{
	"email":             "Account: Email",
	"account":           "Account: Read",
	"account:write":     "Account: Write",
	"team":              "Workspace membership: Read",
	"team:write":        "Workspace membership: Write",
	"project":           "Projects: Read",
	"project:write":     "Projects: Write",
	"project:admin":     "Projects: Admin",
	"repository":        "Repositories: Read",
	"repository:write":  "Repositories: Write",
	"repository:admin":  "Repositories: Admin",
	"repository:delete": "Repositories: Delete",
	"pullrequest":       "Pull requests: Read",
	"pullrequest:write": "Pull requests: Write",
	"issue":             "Issues: Read",
	"issue:write":       "Issues: Write",
	"wiki":              "Wikis: Read and write",
	"snippet":           "Snippets: Read",
	"snippet:write":     "Snippets: Write",
	"webhook":           "Webhooks: Read and write",
	"pipeline":          "Pipelines: Read",
	"pipeline:write":    "Pipelines: Write",
	"pipeline:variable": "Pipelines: Edit variables",
	"runner":            "Runners: Read",
	"runner:write":      "Runners: Write",
}

func TestLookupLabels(t *testing.T) {
	for scope, label := range labels {
		p, ok := Lookup(scope)
		if !ok || p.Scope != scope || p.Label != label {
			t.Errorf("Lookup(%q) = %+v, %v; want scope %q, label %q", scope, p, ok, scope, label)
			continue
		}
		// Where ends at the checkbox: the label's group, then its level.
		group, level, _ := strings.Cut(label, ": ")
		if !strings.HasPrefix(p.Where, "bitbucket.org → ") || !strings.HasSuffix(p.Where, "→ Permissions → "+group+" → "+level) {
			t.Errorf("Lookup(%q).Where = %q", scope, p.Where)
		}
	}
}

func TestLookupWhere(t *testing.T) {
	p, _ := Lookup("pullrequest")
	want := "bitbucket.org → your workspace → Settings → Workspace settings → OAuth consumers → Edit the consumer → Permissions → Pull requests → Read"
	if p.Where != want {
		t.Errorf("Where = %q\nwant  %q", p.Where, want)
	}
}

func TestLookupUnknown(t *testing.T) {
	for _, name := range []string{"", "Repository", "repository:read", "read:repository", "read:repository:jira",
		"test", "admin", " repository", "repository "} {
		if p, ok := Lookup(name); ok {
			t.Errorf("Lookup(%q) = %+v, true; want false", name, p)
		}
	}
}

// TestLookupGranular: a granular name answers with the consumer permission
// that grants the same access, Scope being the OAuth 2 scope.
func TestLookupGranular(t *testing.T) {
	for name, scope := range map[string]string{
		"read:repository:bitbucket":   "repository",
		"write:repository:bitbucket":  "repository:write",
		"admin:repository:bitbucket":  "repository:admin",
		"delete:repository:bitbucket": "repository:delete",
		"read:pullrequest:bitbucket":  "pullrequest",
		"write:pullrequest:bitbucket": "pullrequest:write",
		"read:project:bitbucket":      "project",
		"admin:project:bitbucket":     "project:admin",
		"read:user:bitbucket":         "account",
		"read:workspace:bitbucket":    "account",
		"read:ssh-key:bitbucket":      "account",
		"write:ssh-key:bitbucket":     "account:write",
		"admin:pipeline:bitbucket":    "pipeline:variable",
		"read:runner:bitbucket":       "runner",
		"delete:webhook:bitbucket":    "webhook",
		"write:permission:bitbucket":  "repository:admin",
		"admin:workspace:bitbucket":   "team:write",
	} {
		p, ok := Lookup(name)
		if !ok || p.Scope != scope || p.Label != labels[scope] {
			t.Errorf("Lookup(%q) = %+v, %v; want scope %q (%s)", name, p, ok, scope, labels[scope])
		}
	}
}

// TestEveryGranularNameMaps: every granular name on an operation of the spec
// maps to a checkbox, and that checkbox's scope is one the spec lists beside
// it on at least one operation, so the mapping stays grounded in the spec.
func TestEveryGranularNameMaps(t *testing.T) {
	beside := map[string]map[string]bool{} // granular name → OAuth 2 scopes on the same operations
	for _, op := range Operations() {
		for _, g := range op.Granular {
			if beside[g] == nil {
				beside[g] = map[string]bool{}
			}
			for _, s := range op.Scopes {
				beside[g][s] = true
			}
		}
	}
	if len(beside) < 30 {
		t.Fatalf("only %d granular names in the table", len(beside))
	}
	for g, scopes := range beside {
		p, ok := Lookup(g)
		if !ok {
			t.Errorf("granular %q maps to nothing", g)
			continue
		}
		if !scopes[p.Scope] {
			t.Errorf("granular %q maps to %q, which no operation lists beside it (%v)", g, p.Scope, scopes)
		}
	}
	for g := range granular {
		if beside[g] == nil && g != "read:permission:bitbucket" && g != "admin:workspace:bitbucket" {
			t.Errorf("granular %q is mapped but on no operation: remove it or say why", g)
		}
	}
}

func TestPermissions(t *testing.T) {
	perms := Permissions()
	var scopes []string
	for _, p := range perms {
		scopes = append(scopes, p.Scope)
		if q, ok := Lookup(p.Scope); !ok || q != p {
			t.Errorf("Lookup(%q) = %+v, %v; Permissions has %+v", p.Scope, q, ok, p)
		}
	}
	want := []string{"email", "account", "account:write", "team", "team:write", "project", "project:admin",
		"repository", "repository:write", "repository:admin", "repository:delete", "pullrequest", "pullrequest:write",
		"issue", "issue:write", "wiki", "snippet", "snippet:write", "webhook",
		"pipeline", "pipeline:write", "pipeline:variable", "runner", "runner:write"}
	if !slices.Equal(scopes, want) {
		t.Errorf("Permissions in order %q\nwant %q", scopes, want)
	}

	// Every OAuth 2 scope an operation needs is on the form.
	for _, op := range Operations() {
		for _, s := range op.Scopes {
			if !slices.Contains(scopes, s) {
				t.Errorf("%s %s needs %q, which Permissions lacks", op.Method, op.Path, s)
			}
		}
	}

	// The slice is the caller's: changing it changes nobody else's.
	perms[0].Label = "changed"
	if again := Permissions(); again[0].Label != "Account: Email" {
		t.Errorf("after a caller's change, Permissions()[0] = %+v", again[0])
	}
	if p, _ := Lookup("email"); p.Label != "Account: Email" {
		t.Errorf("after a caller's change, Lookup(email) = %+v", p)
	}
}
