package standin

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type workspace struct {
	slug, name, uuid string
	admin, private   bool
	created          time.Time
	repos            []repo
}

type repo struct {
	name, slug, description, language string
	private                           bool
	created, updated                  time.Time
	uuid                              string
	size                              int     // bytes on disk, as Bitbucket reports it
	website                           string  // "" is sent as null
	parent                            *parent // the repository it was forked from, if any
}

// parent is the repository a fork was made from, as a fork's "parent"
// names it (a condensed repository).
type parent struct{ fullName, name, uuid string }

// bbTime formats a time the way Bitbucket does: microseconds and +00:00.
func bbTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000-07:00")
}

// href is one entry of an object's links.
func href(u string) map[string]string { return map[string]string{"href": u} }

// avatarTS is the cache-busting ts of the avatar links.
const avatarTS = "1732792800"

// project is the one project of a workspace's repositories: key DEMO,
// name Demo, with a UUID derived from the workspace's, so that adding it
// changed no other UUID.
func (ws *workspace) project(base string) map[string]any {
	const key = "DEMO"
	return map[string]any{
		"type": "project",
		"key":  key,
		"uuid": "{5e0c9b1d" + ws.uuid[9:],
		"name": "Demo",
		"links": map[string]any{
			"self":   href(base + "/2.0/workspaces/" + ws.slug + "/projects/" + key),
			"html":   href(base + "/" + ws.slug + "/workspace/projects/" + key),
			"avatar": href(base + "/" + ws.slug + "/workspace/projects/" + key + "/avatar/32?ts=" + avatarTS),
		},
	}
}

// json is the workspace as GET /2.0/workspaces/{workspace} answers it, with
// every link Bitbucket sends.
func (ws *workspace) json(base string) map[string]any {
	api := base + "/2.0/workspaces/" + ws.slug
	return map[string]any{
		"type":                "workspace",
		"uuid":                ws.uuid,
		"name":                ws.name,
		"slug":                ws.slug,
		"is_private":          ws.private,
		"is_privacy_enforced": false,
		"forking_mode":        "allow_forks",
		"created_on":          bbTime(ws.created),
		"updated_on":          bbTime(ws.created.Add(90 * 24 * time.Hour)),
		"links": map[string]any{
			"avatar":       href(base + "/workspaces/" + ws.slug + "/avatar/?ts=" + avatarTS),
			"html":         href(base + "/" + ws.slug + "/"),
			"members":      href(api + "/members"),
			"owners":       href(api + "/members?q=permission%3D%22owner%22"),
			"projects":     href(api + "/projects"),
			"repositories": href(base + "/2.0/repositories/" + ws.slug),
			"snippets":     href(base + "/2.0/snippets/" + ws.slug),
			"self":         href(api),
		},
	}
}

// condensed is the workspace as a repository embeds it.
func (ws *workspace) condensed(base string) map[string]any {
	return map[string]any{
		"type": "workspace",
		"uuid": ws.uuid,
		"name": ws.name,
		"slug": ws.slug,
		"links": map[string]any{
			"avatar": href(base + "/workspaces/" + ws.slug + "/avatar/?ts=" + avatarTS),
			"html":   href(base + "/" + ws.slug + "/"),
			"self":   href(base + "/2.0/workspaces/" + ws.slug),
		},
	}
}

// owner is the workspace as a repository's owner: a "team" account named
// by UUID in its links, without the username and nickname that 2026
// answers no longer carry.
func (ws *workspace) owner(base string) map[string]any {
	id := url.PathEscape(ws.uuid) // %7B...%7D
	return map[string]any{
		"type":         "team",
		"display_name": ws.name,
		"uuid":         ws.uuid,
		"links": map[string]any{
			"self":   href(base + "/2.0/workspaces/" + id),
			"avatar": href(base + "/account/" + ws.slug + "/avatar/"),
			"html":   href(base + "/" + id + "/"),
		},
	}
}

// access is the workspace as an item of GET /2.0/user/workspaces, in the
// shape of the spec's workspace_access: the workspace is a workspace_base,
// whose links are avatar and self only (no html). stringAdmin types
// administrator as the spec's schema does, a string.
func (ws *workspace) access(base string, stringAdmin bool) map[string]any {
	var admin any = ws.admin
	if stringAdmin {
		admin = strconv.FormatBool(ws.admin)
	}
	return map[string]any{
		"type":          "workspace_access",
		"administrator": admin,
		"workspace": map[string]any{
			"type": "workspace_base",
			"uuid": ws.uuid,
			"slug": ws.slug,
			"links": map[string]any{
				"avatar": href(base + "/workspaces/" + ws.slug + "/avatar/?ts=" + avatarTS),
				"self":   href(base + "/2.0/workspaces/" + ws.slug),
			},
		},
	}
}

// json is the repository as GET /2.0/repositories/{workspace} lists it:
// every field and link Bitbucket sends (the spec's repository schema and
// its narrative's example), some 3 kB each.
func (r repo) json(base string, ws *workspace) map[string]any {
	full := ws.slug + "/" + r.slug
	api := base + "/2.0/repositories/" + full
	forkPolicy := "allow_forks"
	if r.private {
		forkPolicy = "no_public_forks"
	}
	var website any // null, as Bitbucket sends an unset website
	if r.website != "" {
		website = r.website
	}
	v := map[string]any{
		"type":        "repository",
		"uuid":        r.uuid,
		"full_name":   full,
		"name":        r.name,
		"slug":        r.slug,
		"description": r.description,
		"scm":         "git",
		"website":     website,
		"owner":       ws.owner(base),
		"workspace":   ws.condensed(base),
		"is_private":  r.private,
		"project":     ws.project(base),
		"fork_policy": forkPolicy,
		"created_on":  bbTime(r.created),
		"updated_on":  bbTime(r.updated),
		"size":        r.size,
		"language":    r.language,
		"has_issues":  false, // issue trackers and wikis went in 2026
		"has_wiki":    false,
		"override_settings": map[string]bool{
			"default_merge_strategy": true,
			"branching_model":        true,
		},
		"links": map[string]any{
			"self":         href(api),
			"html":         href(base + "/" + full),
			"avatar":       href(base + "/ravatar/" + url.PathEscape(r.uuid) + "?ts=default"),
			"pullrequests": href(api + "/pullrequests"),
			"commits":      href(api + "/commits"),
			"forks":        href(api + "/forks"),
			"watchers":     href(api + "/watchers"),
			"branches":     href(api + "/refs/branches"),
			"tags":         href(api + "/refs/tags"),
			"downloads":    href(api + "/downloads"),
			"source":       href(api + "/src"),
			"clone":        cloneLinks(base, full),
			"hooks":        href(api + "/hooks"),
		},
	}
	if r.language != "" { // like Bitbucket, an empty repository has no main branch
		v["mainbranch"] = map[string]string{"type": "branch", "name": "main"}
	}
	if p := r.parent; p != nil {
		v["parent"] = map[string]any{
			"type":      "repository",
			"full_name": p.fullName,
			"name":      p.name,
			"uuid":      p.uuid,
			"links": map[string]any{
				"self":   href(base + "/2.0/repositories/" + p.fullName),
				"html":   href(base + "/" + p.fullName),
				"avatar": href(base + "/ravatar/" + url.PathEscape(p.uuid) + "?ts=default"),
			},
		}
	}
	return v
}

func demoData(uuid func() string) (map[string]*workspace, []string) {
	epoch := time.Date(2024, 3, 4, 9, 30, 0, 0, time.UTC)
	demo := &workspace{slug: "bitbucket-demo", name: "Bitbucket Demo", admin: true, private: true, created: epoch}
	labs := &workspace{slug: "demo-labs", name: "Demo Labs", created: epoch.Add(200 * 24 * time.Hour)}

	names := []struct{ name, lang, desc string }{
		{"api-gateway", "go", "Routes and rate-limits requests to the internal services."},
		{"billing-service", "java", "Invoices, payments and refunds."},
		{"web-storefront", "typescript", "The customer-facing shop."},
		{"mobile-app", "kotlin", "Android client."},
		{"ios-app", "swift", "iOS client."},
		{"data-pipeline", "python", "Nightly ETL into the warehouse."},
		{"infra-terraform", "hcl", "Cloud infrastructure as code."},
		{"design-system", "typescript", "Shared UI components and tokens."},
		{"auth-service", "go", "Issues and checks session tokens."},
		{"search-indexer", "rust", "Keeps the search index fresh."},
		{"docs-site", "", "Product documentation."},
		{"ml-recommendations", "python", "Recommends products from order history."},
		{"notifications", "go", "Email, SMS and push delivery."},
		{"inventory", "java", "Stock levels across warehouses."},
		{"analytics-dashboards", "sql", ""},
		{"feature-flags", "go", "Flags, rollouts and experiments."},
		{"legacy-monolith", "php", "Being split into services; do not add features."},
		{"load-tests", "javascript", "k6 scenarios for the checkout path."},
		{"ci-templates", "yaml", "Shared Bitbucket Pipelines steps."},
		{"support-portal", "ruby", "Customer support tickets."},
		{"security-policies", "", "OPA policies and audits."},
		{"edge-functions", "typescript", "Functions that run at the CDN edge."},
		{"playground", "", ""},
	}
	for i, n := range names {
		demo.repos = append(demo.repos, repo{
			name: n.name, slug: n.name, description: n.desc, language: n.lang,
			private: i%3 != 2,
			created: epoch.Add(time.Duration(i) * 24 * time.Hour),
			updated: time.Date(2026, 11, 27, 18, 0, 0, 123456000, time.UTC).Add(-time.Duration(i*i) * 7 * time.Hour),
		})
	}
	for i, n := range []string{"prototype-cli", "benchmarks", "research-notes"} {
		labs.repos = append(labs.repos, repo{
			name: n, slug: n, language: []string{"go", "c", ""}[i], private: i != 1,
			description: []string{"An experimental command-line tool.", "Micro-benchmarks of the hot paths.", ""}[i],
			created:     labs.created.Add(time.Duration(i) * 48 * time.Hour),
			updated:     time.Date(2026, 10, 2, 8, 15, 0, 0, time.UTC).Add(-time.Duration(i) * 30 * time.Hour),
		})
	}
	demo.uuid, labs.uuid = uuid(), uuid()
	for _, ws := range []*workspace{demo, labs} {
		for i := range ws.repos {
			ws.repos[i].uuid = uuid()
			ws.repos[i].size = repoSize(ws.repos[i])
		}
	}
	repoNamed(demo, "docs-site").website = "https://docs.example.com/"
	// demo-labs/benchmarks is a fork of bitbucket-demo/load-tests (public).
	from := repoNamed(demo, "load-tests")
	repoNamed(labs, "benchmarks").parent = &parent{fullName: demo.slug + "/" + from.slug, name: from.name, uuid: from.uuid}
	return map[string]*workspace{demo.slug: demo, labs.slug: labs}, []string{demo.slug, labs.slug}
}

// repoNamed finds one of the demo data's repositories.
func repoNamed(ws *workspace, name string) *repo {
	for i := range ws.repos {
		if ws.repos[i].name == name {
			return &ws.repos[i]
		}
	}
	panic("no demo repository " + name)
}

// extraWorkspace is the workspace AddWorkspaces adds as the ith extra one
// (from 1).
func extraWorkspace(i int, created time.Time, uuid func() string) *workspace {
	ws := &workspace{
		slug: fmt.Sprintf("extra-workspace-%03d", i), name: fmt.Sprintf("Extra Workspace %d", i),
		admin: i%2 == 1, private: true, created: created, uuid: uuid(),
	}
	for j, name := range []string{"service-a", "service-b"} {
		ws.repos = append(ws.repos, repo{
			name: name, slug: name, language: "go", private: true,
			description: fmt.Sprintf("Service %c of %s.", 'A'+j, ws.name),
			created:     created.Add(time.Duration(j) * time.Hour),
			updated:     created.Add(time.Duration(30+j) * 24 * time.Hour),
			uuid:        uuid(),
		})
		ws.repos[j].size = repoSize(ws.repos[j])
	}
	return ws
}

// repoSize makes up a repository's size in bytes, the same on every run:
// some MB for one with commits, a few kB for an empty one.
func repoSize(r repo) int {
	if r.language == "" {
		return 4096 + 512*len(r.name)
	}
	return 1_000_000 + 7919*len(r.name)*len(r.description) + int(r.created.Unix()%1_000_003)
}

// cloneUser is the user name in the stand-in's https clone links; Bitbucket
// puts the caller's user name there.
const cloneUser = "demo-user"

// cloneLinks are a repository's links.clone as Bitbucket writes them: https
// with a user name in it (https://{user}@bitbucket.org/{full_name}.git) and
// scp-style ssh (git@bitbucket.org:{full_name}.git, no port: the stand-in
// serves no ssh). full goes in as it is, unescaped, as Bitbucket's slugs
// need no escaping.
func cloneLinks(base, full string) []map[string]string {
	scheme, host, _ := strings.Cut(base, "://")
	hostname, _, err := net.SplitHostPort(host)
	if err != nil {
		hostname = host
	}
	return []map[string]string{
		{"name": "https", "href": scheme + "://" + cloneUser + "@" + host + "/" + full + ".git"},
		{"name": "ssh", "href": "git@" + hostname + ":" + full + ".git"},
	}
}
