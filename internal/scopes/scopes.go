// Package scopes says which OAuth 2 scopes each Bitbucket Cloud REST API
// operation needs, and which checkbox on an OAuth consumer's form grants
// each scope.
//
// With the client credentials grant a token carries exactly the
// permissions ticked on the consumer: the token request has no scope
// parameter. So "which box do I tick?" is the question behind most 403s,
// and this package answers it from Bitbucket's own OpenAPI description.
//
// The spec (bitbucket-openapi.json, 1.9 MB) stays in the repository, but
// nothing reads it at run time: `go generate` turns it into operations.tsv,
// a small table that the package embeds and parses once, on first use.
package scopes

//go:generate go run ./gen

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

//go:embed operations.tsv
var table string

// Operation is one operation of Bitbucket's REST API 2.0, as the OpenAPI
// description lists it.
type Operation struct {
	Method  string // HTTP method, upper case: "GET"
	Path    string // path template under https://api.bitbucket.org/2.0: "/repositories/{workspace}"
	Summary string // one line

	// Scopes are the OAuth 2 scopes the operation needs: every one of them
	// is required. Empty means either no scope beyond a valid token, or,
	// where Connect is true, no OAuth token at all.
	Scopes []string

	// Granular are the scopes API tokens and Forge apps need for the same
	// operation (read:repository:bitbucket, ...). They imply nothing: each
	// one listed is required.
	Granular []string

	Deprecated bool // Bitbucket marks the operation deprecated

	// Connect is true for the operations of Atlassian Connect apps (the
	// /addon resources and application properties): they take a Connect
	// app's JWT, so no OAuth consumer's token reaches them.
	Connect bool
}

// catalogue is the parsed table and an index into it.
type catalogue struct {
	ops   []Operation
	index map[string]int // method + " " + path → position in ops
}

// load parses the embedded table once. The table is generated and checked
// by the tests, so a table that does not parse is a broken build, not bad
// input: it panics, naming the line.
var load = sync.OnceValue(func() catalogue {
	ops, err := parseTable(table)
	if err != nil {
		panic("scopes: operations.tsv: " + err.Error())
	}
	c := catalogue{ops: ops, index: make(map[string]int, len(ops))}
	for i, op := range ops {
		c.index[op.Method+" "+op.Path] = i
	}
	return c
})

// Operations returns every operation in the table's order: by path, then
// by method (GET, POST, PUT, PATCH, DELETE, ...). The slice and the slices
// inside it are shared by every caller: read them, never modify them.
func Operations() []Operation {
	return load().ops
}

// Required returns the OAuth 2 scopes the operation at method and path
// needs, all of them required, and whether the table has that operation.
// path is a template as the spec writes it ("/repositories/{workspace}",
// not "/repositories/acme"), without the /2.0 prefix; method is matched
// without regard to case. An empty list with true means no scope beyond a
// valid token, except for Connect operations, which no OAuth token reaches
// (see Operation.Connect).
func Required(method, path string) ([]string, bool) {
	c := load()
	i, ok := c.index[strings.ToUpper(method)+" "+path]
	if !ok {
		return nil, false
	}
	return slices.Clone(c.ops[i].Scopes), true
}

// Find returns the operation a request is for: its method and its path
// below the API's base URL, such as "/repositories/acme" (unescaped).
// Where several templates match, the one with the most literal segments
// wins ("/user/workspaces" over "/users/{selected_user}"-like templates).
func Find(method, path string) (Operation, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	best, bestScore := -1, -1
	for i, op := range load().ops {
		tmpl := strings.Split(strings.Trim(op.Path, "/"), "/")
		if op.Method != strings.ToUpper(method) || len(tmpl) != len(segs) {
			continue
		}
		score := 0
		for j, t := range tmpl {
			switch {
			case strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") && !strings.Contains(t[1:], "{") && segs[j] != "":
			case t == segs[j]:
				score++
			default:
				score = -1
			}
			if score < 0 {
				break
			}
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return Operation{}, false
	}
	return load().ops[best], true
}

// parseTable reads the format gen writes: comment lines start with #; every
// other line has six tab-separated fields: method, path, summary, scopes,
// granular scopes and flags, lists space-separated and "-" when empty.
func parseTable(text string) ([]Operation, error) {
	var ops []Operation
	for n, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 6 {
			return nil, fmt.Errorf("line %d: %d fields, want 6", n+1, len(f))
		}
		if f[0] == "" || f[0] != strings.ToUpper(f[0]) || !strings.HasPrefix(f[1], "/") {
			return nil, fmt.Errorf("line %d: %q %q is not a method and a path", n+1, f[0], f[1])
		}
		if f[3] == "" || f[4] == "" || f[5] == "" {
			return nil, fmt.Errorf("line %d: an empty list is written -", n+1)
		}
		op := Operation{Method: f[0], Path: f[1], Summary: f[2], Scopes: fieldList(f[3]), Granular: fieldList(f[4])}
		for _, flag := range fieldList(f[5]) {
			switch flag {
			case "deprecated":
				op.Deprecated = true
			case "connect":
				op.Connect = true
			default:
				return nil, fmt.Errorf("line %d: unknown flag %q", n+1, flag)
			}
		}
		ops = append(ops, op)
	}
	if len(ops) == 0 {
		return nil, errors.New("no operations")
	}
	return ops, nil
}

// fieldList splits a list field; "-" is the empty list.
func fieldList(field string) []string {
	if field == "-" {
		return nil
	}
	return strings.Fields(field)
}
