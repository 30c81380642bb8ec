package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinySpec has one operation of each kind the table must tell apart, in
// an order the table must not keep (keys of a JSON object have none), and
// a scope listed twice, which the table lists once.
const tinySpec = `{
  "openapi": "3.0.0",
  "paths": {
    "/workspaces/{workspace}": {
      "parameters": [{"name": "workspace", "in": "path"}],
      "get": {
        "summary": "Get a workspace",
        "security": [{"oauth2": []}, {"basic": []}, {"api_key": []}],
        "x-atlassian-oauth2-scopes": [{"state": "Current", "scheme": "oauth2", "scopes": ["read:workspace:bitbucket"]}]
      }
    },
    "/repositories/{workspace}/{repo_slug}/deploy-keys": {
      "post": {
        "summary": "Add a repository deploy key",
        "security": [{"oauth2": ["repository", "repository:admin"]}, {"basic": []}],
        "x-atlassian-oauth2-scopes": [{"state": "Current", "scheme": "oauth2", "scopes": ["admin:repository:bitbucket", "write:ssh-key:bitbucket"]}]
      },
      "get": {
        "summary": "  List repository\n\tdeploy keys  ",
        "security": [{"oauth2": ["repository", "repository:admin"]}],
        "x-atlassian-oauth2-scopes": [{"state": "Current", "scheme": "oauth2", "scopes": ["admin:repository:bitbucket"]}]
      }
    },
    "/addon": {
      "delete": {
        "summary": "Delete an app",
        "security": [{"oauth2": []}, {"basic": []}]
      }
    },
    "/repositories/{workspace}": {
      "get": {
        "summary": "List repositories in a workspace",
        "security": [{"oauth2": ["repository"]}],
        "x-atlassian-oauth2-scopes": [{"state": "Current", "scheme": "oauth2", "scopes": ["read:repository:bitbucket"]}]
      }
    },
    "/snippets": {
      "get": {
        "summary": "List snippets",
        "deprecated": true,
        "security": [{"oauth2": ["snippet", "snippet"]}],
        "x-atlassian-oauth2-scopes": [
          {"state": "Current", "scheme": "oauth2", "scopes": ["read:snippet:bitbucket"]},
          {"state": "Current", "scheme": "oauth2", "scopes": ["read:snippet:bitbucket"]},
          {"state": "Current", "scheme": "basic", "scopes": ["not:oauth2"]}
        ]
      }
    },
    "/users/{selected_user}/properties/{app_key}/{property_name}": {
      "put": {
        "summary": "Update a user application property",
        "security": [{"oauth2": []}]
      }
    }
  }
}`

const tinyTable = header +
	"DELETE\t/addon\tDelete an app\t-\t-\tconnect\n" +
	"GET\t/repositories/{workspace}\tList repositories in a workspace\trepository\tread:repository:bitbucket\t-\n" +
	"GET\t/repositories/{workspace}/{repo_slug}/deploy-keys\tList repository deploy keys\trepository repository:admin\tadmin:repository:bitbucket\t-\n" +
	"POST\t/repositories/{workspace}/{repo_slug}/deploy-keys\tAdd a repository deploy key\trepository repository:admin\tadmin:repository:bitbucket write:ssh-key:bitbucket\t-\n" +
	"GET\t/snippets\tList snippets\tsnippet\tread:snippet:bitbucket\tdeprecated\n" +
	"PUT\t/users/{selected_user}/properties/{app_key}/{property_name}\tUpdate a user application property\t-\t-\tconnect\n" +
	"GET\t/workspaces/{workspace}\tGet a workspace\t-\tread:workspace:bitbucket\t-\n"

func TestGenerateTinySpec(t *testing.T) {
	got, err := Generate([]byte(tinySpec))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != tinyTable {
		t.Errorf("table:\n%s\nwant:\n%s", got, tinyTable)
	}
}

// TestGenerateRefuses: input the table cannot hold faithfully is an error
// that names the operation, never a table that says something else.
func TestGenerateRefuses(t *testing.T) {
	op := func(path, security string) string {
		return `{"paths": {"` + path + `": {"get": {"summary": "s", "security": ` + security + `}}}}`
	}
	for _, tc := range []struct {
		name, spec, want string
	}{
		{"not JSON", `{"paths": `, "reading the spec"},
		{"no paths", `{"openapi": "3.0.0"}`, "no paths"},
		{"no operations", `{"paths": {"/a": {"parameters": []}}}`, "no operations"},
		{"no security", `{"paths": {"/a": {"get": {"summary": "s"}}}}`, "GET /a: no oauth2 security requirement"},
		{"no oauth2", op("/a", `[{"basic": []}]`), "GET /a: no oauth2 security requirement"},
		{"two oauth2 alternatives", op("/a", `[{"oauth2": ["repository"]}, {"oauth2": ["project"]}]`), "more than one oauth2"},
		{"scope with a space", op("/a", `[{"oauth2": ["repository write"]}]`), `scope "repository write"`},
		{"scope with a tab", op("/a", `[{"oauth2": ["repository\twrite"]}]`), "not a scope name"},
		{"path with a tab", op(`/a\tb`, `[{"oauth2": []}]`), "not a path template"},
		{"path with a newline", op(`/a\nGET`, `[{"oauth2": []}]`), "not a path template"},
		{"path without a slash", op("a", `[{"oauth2": []}]`), "not a path template"},
		{"granular scope with a space", `{"paths": {"/a": {"get": {"security": [{"oauth2": []}],
			"x-atlassian-oauth2-scopes": [{"scheme": "oauth2", "scopes": ["read:a b"]}]}}}}`, `scope "read:a b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table, err := Generate([]byte(tc.spec))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Generate = %q, %v; want an error containing %q", table, err, tc.want)
			}
		})
	}
}

// TestSummaryIsOneLine: whatever a summary holds, it cannot add a line or a
// column to the table.
func TestSummaryIsOneLine(t *testing.T) {
	spec := `{"paths": {"/a": {"get": {"summary": "\t Get\r\nthe\u0000 thing \u0085 now\u000b",
		"security": [{"oauth2": ["repository"]}]}}}}`
	got, err := Generate([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	want := header + "GET\t/a\tGet the thing now\trepository\t-\t-\n"
	if string(got) != want {
		t.Errorf("table:\n%q\nwant:\n%q", got, want)
	}
}

// TestCommittedTable: running the generator again on the committed spec
// changes nothing, so the table the package embeds is the spec's.
func TestCommittedTable(t *testing.T) {
	spec, err := os.ReadFile(filepath.Join("..", "bitbucket-openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join("..", "operations.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, committed) {
		t.Fatal("operations.tsv is not what the generator makes of bitbucket-openapi.json: run go generate ./internal/scopes/")
	}

	// The facts file counts 334 operations, 28 of them with an empty scope
	// list: a parser that lost operations or scopes would change these.
	var ops, empty int
	for _, line := range strings.Split(strings.TrimSuffix(string(got), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		ops++
		if strings.Split(line, "\t")[3] == "-" {
			empty++
		}
	}
	if ops != 334 || empty != 28 {
		t.Errorf("%d operations, %d with no scope; want 334 and 28", ops, empty)
	}
}

// TestRunKeepsTheTableOnError: a spec the generator refuses leaves the
// table it would have replaced as it was.
func TestRunKeepsTheTableOnError(t *testing.T) {
	dir := t.TempDir()
	spec, out := filepath.Join(dir, "spec.json"), filepath.Join(dir, "operations.tsv")
	if err := os.WriteFile(spec, []byte(`{"paths": {"/a": {"get": {}}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, []byte("old table\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(spec, out); err == nil || !strings.Contains(err.Error(), "GET /a") {
		t.Errorf("run = %v, want an error naming GET /a", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "old table\n" {
		t.Errorf("the table became %q", b)
	}
}
