package standin

import (
	"net/http"

	"bitbucket-client-credentials-sample/internal/scopes"
)

// Which OAuth scopes an operation needs, and whether a token holds them,
// are each decided in one function: scopeFor and missingScopes. Every
// answer of the API takes its X-Accepted-OAuth-Scopes header, and every
// 403 its detail.required, from them. Both read package scopes, the table
// generated from Bitbucket's OpenAPI description and its documented scope
// implications, so the stand-in and the app's own scope help never
// disagree: there is no second list here.

// scopeFor returns the scopes the operation needs (an empty list when a
// valid token is enough), and false for an operation the OpenAPI
// description does not list. template is the path as the description
// writes it, without /2.0: "/repositories/{workspace}". HEAD needs what
// GET needs (the description lists GET only).
func scopeFor(method, template string) ([]string, bool) {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	return scopes.Required(method, template)
}

// missingScopes returns the required scopes that a token granted these
// lacks, once scopes.Implied has added what the granted ones imply
// (repository:write, project and pullrequest imply repository;
// pullrequest:write implies repository:write; repository:admin implies
// neither): none means the token may go on. It is the one check of
// granted scopes in the stand-in.
func missingScopes(granted, required []string) []string {
	held := scopes.Implied(granted)
	var missing []string
	for _, s := range required {
		if !held[s] {
			missing = append(missing, s)
		}
	}
	return missing
}
