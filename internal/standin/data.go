package standin

import (
	"fmt"
	"net"
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
}

// bbTime formats a time the way Bitbucket does: microseconds and +00:00.
func bbTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000-07:00")
}

func (ws *workspace) json(base string) map[string]any {
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
			"self":         map[string]string{"href": base + "/2.0/workspaces/" + ws.slug},
			"html":         map[string]string{"href": base + "/" + ws.slug + "/"},
			"repositories": map[string]string{"href": base + "/2.0/repositories/" + ws.slug},
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
				"avatar": map[string]string{"href": base + "/workspaces/" + ws.slug + "/avatar/?ts=1732792800"},
				"self":   map[string]string{"href": base + "/2.0/workspaces/" + ws.slug},
			},
		},
	}
}

func (r repo) json(base string, ws *workspace) map[string]any {
	full := ws.slug + "/" + r.slug
	v := map[string]any{
		"type":        "repository",
		"uuid":        r.uuid,
		"full_name":   full,
		"name":        r.name,
		"slug":        r.slug,
		"description": r.description,
		"is_private":  r.private,
		"language":    r.language,
		"scm":         "git",
		"created_on":  bbTime(r.created),
		"updated_on":  bbTime(r.updated),
		"workspace": map[string]any{
			"type": "workspace", "uuid": ws.uuid, "slug": ws.slug, "name": ws.name,
			"links": map[string]any{"html": map[string]string{"href": base + "/" + ws.slug + "/"}},
		},
		"project": map[string]any{"type": "project", "key": "DEMO", "name": "Demo"},
		"links": map[string]any{
			"self":  map[string]string{"href": base + "/2.0/repositories/" + full},
			"html":  map[string]string{"href": base + "/" + full},
			"clone": cloneLinks(base, full),
		},
	}
	if r.language != "" { // like Bitbucket, an empty repository has no main branch
		v["mainbranch"] = map[string]string{"type": "branch", "name": "main"}
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
		}
	}
	return map[string]*workspace{demo.slug: demo, labs.slug: labs}, []string{demo.slug, labs.slug}
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
	}
	return ws
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
