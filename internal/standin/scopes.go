package standin

import (
	"net/http"
	"slices"
)

// Which OAuth scopes an operation needs, and whether a token holds them,
// are each decided in one function: scopeFor and missingScopes. Every
// answer of the API takes its X-Accepted-OAuth-Scopes header, and every
// 403 its detail.required, from them.

// operationScopes are the scopes each operation the stand-in knows needs,
// keyed by method and path template as Bitbucket's OpenAPI description
// (../shared/bitbucket-openapi.json) writes them: its
// paths[P][M].security[].oauth2, where every scope listed is required.
//
// This is a local copy of those lines until the generated table of package
// internal/scopes (scopes.Required) replaces it; nothing else in the
// stand-in names a scope an operation needs.
var operationScopes = map[string][]string{
	"GET /workspaces/{workspace}":        {},
	"GET /repositories/{workspace}":      {"repository"},
	"GET /user/workspaces":               {"account"},
	"GET /workspaces":                    {"account"},               // removed in 2026 (410)
	"GET /user/permissions/workspaces":   {"account"},               // removed in 2026 (410)
	"GET /repositories":                  {"repository"},            // removed in 2026 (410)
	"GET /user/permissions/repositories": {"account", "repository"}, // removed in 2026 (410)
}

// scopeFor returns the scopes the operation needs (an empty list when a
// valid token is enough), and false for an operation the stand-in does not
// know. template is the path as the OpenAPI description writes it, without
// /2.0: "/repositories/{workspace}". HEAD needs what GET needs.
func scopeFor(method, template string) ([]string, bool) {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	scopes, ok := operationScopes[method+" "+template]
	return scopes, ok
}

// scopeImplies lists what a granted scope brings with it beyond itself.
// Bitbucket says so only in prose (developer.atlassian.com/cloud/bitbucket/
// bitbucket-cloud-rest-api-scopes): repository:write, project and
// pullrequest imply repository; pullrequest:write implies repository:write
// (and so repository). repository:admin implies neither repository nor
// repository:write: a consumer ticked only "Repositories: Admin" cannot
// list repositories.
var scopeImplies = map[string][]string{
	"repository:write":  {"repository"},
	"project":           {"repository"},
	"pullrequest":       {"repository"},
	"pullrequest:write": {"repository:write"},
}

// impliedScopes returns every scope a token granted these holds: the
// granted ones and, transitively, what they imply.
func impliedScopes(granted []string) map[string]bool {
	held := map[string]bool{}
	todo := slices.Clone(granted)
	for len(todo) > 0 {
		s := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if !held[s] {
			held[s] = true
			todo = append(todo, scopeImplies[s]...)
		}
	}
	return held
}

// missingScopes returns the required scopes that a token granted these
// lacks, implications applied: none means the token may go on. It is the
// one check of granted scopes in the stand-in.
func missingScopes(granted, required []string) []string {
	held := impliedScopes(granted)
	var missing []string
	for _, s := range required {
		if !held[s] {
			missing = append(missing, s)
		}
	}
	return missing
}
