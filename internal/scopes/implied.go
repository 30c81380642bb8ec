package scopes

// implies lists, for each OAuth 2 scope, the scopes it grants without their
// boxes being ticked. Bitbucket states these in prose only: on its scopes
// page (developer.atlassian.com/cloud/bitbucket/bitbucket-cloud-rest-api-scopes)
// and in the scope list of the REST API's introduction, which the spec
// carries in x-atlassian-narrative ("Bitbucket OAuth 2.0 scopes"). The
// quotes are theirs.
//
// Some scopes say plainly that they imply nothing, and are absent here:
//   - repository:admin "doesn't implicitly grant the repository or the
//     repository:write scopes. It gives access to the admin features of a
//     repo only, not direct access to its contents."
//   - project:admin "doesn't implicitly grant the project scope or the
//     repository:write scope on any repositories under the project."
//   - issue and wiki: "doesn't implicitly grant any other scopes".
//
// pipeline:variable "Gives write access to create variables in pipelines"
// and the text names no other scope, so it implies none here: by the docs,
// a token may create a variable it cannot list (GET .../variables needs
// pipeline). Token answers quoted in public code name pipeline:variable
// without pipeline or pipeline:write when every box was ticked, which hints
// that Bitbucket grants more than it documents; this table keeps to the
// docs. Likewise account is not taken to imply email.
//
// Granular scopes (read:repository:bitbucket, ...) imply nothing at all:
// "Unlike OAuth 2.0 scopes, Forge app and API token scopes do not
// implicitly grant access to other scopes".
var implies = map[string][]string{
	// "This scope implies repository, which does not need to be requested separately."
	"repository:write": {"repository"},
	// "This scope implies the repository scope, giving read access to the
	// pull request's destination repository."
	"pullrequest": {"repository"},
	// "Implicitly grants the pullrequest scope ... also implicitly grants the
	// repository:write scope ... This is necessary to allow merging."
	"pullrequest:write": {"pullrequest", "repository:write"},
	// "This scope implies the repository scope, giving read access to all the
	// repositories in a project or projects."
	"project": {"repository"},
	// "This scope implicitly grants the issue scope"
	"issue:write": {"issue"},
	// "This scope implicitly grants the snippet scope which does not need to be requested separately."
	"snippet:write": {"snippet"},
	// "Implies team, but adds the ability to manage the teams that the
	// authorizing user is an admin on."
	"team:write": {"team"},
	// The docs' text for these three names no other scope. They follow the
	// rule the docs state for issue:write, snippet:write and team:write, a
	// group's Write includes its Read, and token answers agree: with every
	// box ticked they name account:write and runner:write, not account or
	// runner.
	"account:write":  {"account"},
	"pipeline:write": {"pipeline"},
	"runner:write":   {"runner"},
}

// Implied returns the scopes a token with the granted scopes holds: those
// granted and everything they imply, directly or through another (so
// pullrequest:write gives repository:write, and through it repository).
// Names it does not know pass through as they are, empty ones are dropped.
// Pass it the names from the token's answer ("scope", separated by spaces)
// or from an API answer's X-OAuth-Scopes header (separated by commas).
func Implied(granted []string) map[string]bool {
	have := make(map[string]bool, len(granted))
	todo := append([]string(nil), granted...)
	for len(todo) > 0 {
		s := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if s == "" || have[s] {
			continue
		}
		have[s] = true
		todo = append(todo, implies[s]...)
	}
	return have
}

// Reaches reports whether a token holding the scopes in have may call op:
// it holds every scope op needs. Build have with Implied, so that implied
// scopes count. An operation that needs no scope is reached by any valid
// token, except the Connect apps' operations, which take a Connect JWT and
// are never reached by an OAuth consumer's token. Reaches says what the
// scopes allow; whether the token's app user may see a given workspace or
// repository is Bitbucket's to decide.
func Reaches(have map[string]bool, op Operation) bool {
	if op.Connect {
		return false
	}
	for _, s := range op.Scopes {
		if !have[s] {
			return false
		}
	}
	return true
}
