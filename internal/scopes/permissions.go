package scopes

import "slices"

// Permission is a checkbox on an OAuth consumer's form and the scope it
// grants.
type Permission struct {
	Scope string // the OAuth 2 scope: "pullrequest"
	Label string // the checkbox as the form names it: "Pull requests: Read"
	Where string // how to reach the checkbox on bitbucket.org, for a reader
}

// SettingsURL is the page that lists a workspace's OAuth consumers; the
// page's own menu path is Settings (the cog) → Workspace settings → Apps and
// features → OAuth consumers. Replace {workspace} with a workspace ID that
// has been checked (config.WorkspaceID) before putting it in a link.
const SettingsURL = "https://bitbucket.org/{workspace}/workspace/settings/api"

// where is the path to a consumer's permissions, in the menu wording of
// Atlassian's "Use OAuth on Bitbucket Cloud" (support.atlassian.com): the
// Settings cog, Workspace settings, OAuth consumers, then the consumer's
// Edit, where the Permissions section lists the groups below.
const where = "bitbucket.org → your workspace → Settings → Workspace settings → OAuth consumers → Edit the consumer → Permissions → "

// permission makes the entry for one checkbox: group and level as the form
// shows them.
func permission(scope, group, level string) Permission {
	return Permission{Scope: scope, Label: group + ": " + level, Where: where + group + " → " + level}
}

// permissions are the consumer form's checkboxes in the form's order, with
// the scope each grants (support.atlassian.com/bitbucket-cloud/docs/app-password-permissions;
// the OAuth consumer form uses the same groups and levels).
var permissions = []Permission{
	permission("email", "Account", "Email"),
	permission("account", "Account", "Read"),
	permission("account:write", "Account", "Write"),
	permission("team", "Workspace membership", "Read"),
	permission("team:write", "Workspace membership", "Write"),
	permission("project", "Projects", "Read"),
	permission("project:admin", "Projects", "Admin"),
	permission("repository", "Repositories", "Read"),
	permission("repository:write", "Repositories", "Write"),
	permission("repository:admin", "Repositories", "Admin"),
	permission("repository:delete", "Repositories", "Delete"),
	permission("pullrequest", "Pull requests", "Read"),
	permission("pullrequest:write", "Pull requests", "Write"),
	permission("issue", "Issues", "Read"),
	permission("issue:write", "Issues", "Write"),
	permission("wiki", "Wikis", "Read and write"),
	permission("snippet", "Snippets", "Read"),
	permission("snippet:write", "Snippets", "Write"),
	permission("webhook", "Webhooks", "Read and write"),
	permission("pipeline", "Pipelines", "Read"),
	permission("pipeline:write", "Pipelines", "Write"),
	permission("pipeline:variable", "Pipelines", "Edit variables"),
	permission("runner", "Runners", "Read"),
	permission("runner:write", "Runners", "Write"),
}

// projectWrite is the deprecated Projects: Write. Bitbucket made it obsolete
// in May 2023 (project:admin for projects, repository for their
// repositories) and no operation asks for it, but tokens of older
// consumers still carry it, so Lookup knows it; Permissions leaves it out.
var projectWrite = permission("project:write", "Projects", "Write")

// granular maps each scope of API tokens and Forge apps to the OAuth 2 scope
// that grants the same access on a consumer. Derived from the spec: beside
// each granular name, the OAuth 2 scopes of the same operations (counts in
// the comments, from bitbucket-openapi.json); the most frequent one wins,
// except where marked "by hand".
var granular = map[string]string{
	"read:repository:bitbucket":   "repository",        // repository 49, repository:write 4, repository:admin 4, account 2, project:admin 1
	"write:repository:bitbucket":  "repository:write",  // repository:write 10
	"admin:repository:bitbucket":  "repository:admin",  // repository:admin 26, repository 5, issue:write 2
	"delete:repository:bitbucket": "repository:delete", // repository:delete 1
	"read:pullrequest:bitbucket":  "pullrequest",       // pullrequest 27, pullrequest:write 6, project:admin 2
	"write:pullrequest:bitbucket": "pullrequest:write", // pullrequest:write 8
	"admin:project:bitbucket":     "project:admin",     // project:admin 15, project 4
	"read:workspace:bitbucket":    "account",           // account 7, none 1 (the "account" scope reads a workspace's members, permissions, projects)
	"read:user:bitbucket":         "account",           // account 7, issue 2, email 2, none 1
	"write:user:bitbucket":        "account:write",     // account:write 4, issue:write 2, issue 2
	"read:pipeline:bitbucket":     "pipeline",          // pipeline 27, pipeline:write 2
	"write:pipeline:bitbucket":    "pipeline:write",    // pipeline:write 6, pipeline 1
	"admin:pipeline:bitbucket":    "pipeline:variable", // pipeline:variable 15, pipeline 3
	"write:runner:bitbucket":      "runner:write",      // runner:write 6
	"read:issue:bitbucket":        "issue",             // issue 18, issue:write 5, repository:admin 2, account 2
	"write:issue:bitbucket":       "issue:write",       // issue:write 12, account:write 4, repository:admin 2, issue 2
	"delete:issue:bitbucket":      "issue:write",       // issue:write 1
	"read:webhook:bitbucket":      "webhook",           // webhook 8
	"write:webhook:bitbucket":     "webhook",           // webhook 4
	"delete:webhook:bitbucket":    "webhook",           // webhook 2
	"read:snippet:bitbucket":      "snippet",           // snippet 15, snippet:write 4
	"write:snippet:bitbucket":     "snippet:write",     // snippet:write 7, snippet 3
	"delete:snippet:bitbucket":    "snippet:write",     // snippet:write 1
	"read:gpg-key:bitbucket":      "account",           // account 2, account:write 1
	"write:gpg-key:bitbucket":     "account:write",     // account:write 1
	"delete:gpg-key:bitbucket":    "account:write",     // account:write 1

	// By hand: the spec's counts tie or point elsewhere.
	"read:project:bitbucket": "project", // project:admin 4, project 2: the four are reads of project permission settings, which OAuth guards with admin; the scope itself is Projects: Read
	"read:runner:bitbucket":  "runner",  // runner 4, runner:write 4: the four runner:write ones are writes that also list the read scope
	"read:ssh-key:bitbucket": "account", // account 2, account:write 2: as read:runner, the writes list the read scope too
	// A user's SSH keys are Account; deploy keys are Repositories or Projects:
	// Admin, and their operations name admin:repository:bitbucket or
	// admin:project:bitbucket beside these, which map there.
	"write:ssh-key:bitbucket":  "account:write", // repository 2, repository:admin 2, account:write 2, project 1, project:admin 1
	"delete:ssh-key:bitbucket": "account:write", // repository 1, repository:admin 1, account:write 1, project 1, project:admin 1
	// Permission settings of repositories and of projects: the project ones
	// also name admin:project:bitbucket, which maps to Projects: Admin.
	"write:permission:bitbucket":  "repository:admin", // repository:admin 2, project:admin 2
	"delete:permission:bitbucket": "repository:admin", // repository:admin 2, project:admin 2
	// Listed in the spec's narrative ("Forge app and API token scopes") but on
	// no operation.
	"read:permission:bitbucket": "repository:admin", // the repository:admin scope includes "View and edit repo permissions"
	"admin:workspace:bitbucket": "team:write",       // "create, update and delete the workspace"; team:write manages the workspaces one administers
}

// byScope indexes the checkboxes by scope. It is built once, at package
// initialisation, from the fixed lists above, and never changes.
var byScope = func() map[string]Permission {
	m := make(map[string]Permission, len(permissions)+1)
	for _, p := range append(slices.Clone(permissions), projectWrite) {
		m[p.Scope] = p
	}
	return m
}()

// Lookup returns the checkbox that grants scope: an OAuth 2 scope
// ("pullrequest"), or a granular scope of API tokens
// ("read:pullrequest:bitbucket"), whose Permission then names the OAuth 2
// scope that grants the same access. It reports false for a name Bitbucket
// does not have. Names are case-sensitive, as Bitbucket's are.
func Lookup(scope string) (Permission, bool) {
	if classic, ok := granular[scope]; ok {
		scope = classic
	}
	p, ok := byScope[scope]
	return p, ok
}

// Permissions returns the consumer form's checkboxes in the form's order:
// Account, Workspace membership, Projects, Repositories, Pull requests,
// Issues, Wikis, Snippets, Webhooks, Pipelines, Runners. The deprecated
// Projects: Write is left out. The slice is the caller's own.
func Permissions() []Permission {
	return slices.Clone(permissions)
}
