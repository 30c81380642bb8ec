package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// resultsView is what the results page shows. The handler fills the raw
// parts as the flow goes; fill turns them into what the template needs.
type resultsView struct {
	Page            int
	Workspace       string // the workspace shown
	WorkspaceSource string // where that choice came from
	Workspaces      []string

	TokenError      *stepError
	WorkspacesError *stepError
	WorkspaceError  *stepError
	ReposError      *stepError

	workspace workspaceJSON
	repos     pageJSON[repositoryJSON]

	// Set by fill.
	Token         *tokenView
	WorkspaceInfo *workspaceView
	Repos         []repoView
	ReposLoaded   bool
	TotalRepos    int
	TotalPages    int
	PrevURL       string
	NextURL       string
	Switch        []switchLink
	CloneExample  string
	Exchanges     []exchangeView
	Notes         []string
	Curl          []string
}

type tokenView struct {
	Type      string // "Bearer"
	Scopes    string
	ExpiresAt string
	ExpiresIn string
	Masked    string
	Fetched   bool // false: reused from the cache
}

type workspaceView struct {
	Name, Slug, UUID, Link, Created string
	IsPrivate                       bool
}

type repoView struct {
	Name, FullName, Link, Language, Updated, Description string
	IsPrivate                                            bool
}

type switchLink struct {
	Slug, URL string
	Current   bool
}

type exchangeView struct {
	Step     int
	Method   string
	URL      string
	Auth     string
	Status   string
	Duration string
	Failed   bool
}

func (v *resultsView) fill(p *pageLoad, cfg config, now time.Time) {
	if t := p.tok.Token; t != nil {
		v.Token = &tokenView{
			Type:      t.Type(), // x/oauth2 normalises Bitbucket's "bearer"
			Scopes:    t.Scopes,
			ExpiresAt: t.ExpiresAt.UTC().Format("2006-01-02 15:04:05 UTC"),
			ExpiresIn: t.ExpiresAt.Sub(now).Round(time.Second).String(),
			Masked:    mask(t.AccessToken),
			Fetched:   p.tok.Fetched,
		}
	}
	if v.Workspace != "" && v.WorkspaceError == nil && v.workspace.Slug != "" {
		ws := v.workspace
		v.WorkspaceInfo = &workspaceView{
			Name: ws.Name, Slug: ws.Slug, UUID: ws.UUID, IsPrivate: ws.IsPrivate,
			Link: safeLink(ws.Links.HTML.Href), Created: bbDate(ws.CreatedOn),
		}
	}
	// A workspace is chosen only after the token (and any listing) worked.
	if v.Workspace != "" && v.ReposError == nil {
		v.ReposLoaded = true
		for _, r := range v.repos.Values {
			v.Repos = append(v.Repos, repoView{
				Name: r.Name, FullName: r.FullName, Link: safeLink(r.Links.HTML.Href),
				IsPrivate: r.IsPrivate, Language: r.Language, Updated: bbDate(r.UpdatedOn),
				Description: r.Description,
			})
		}
		v.TotalRepos = v.repos.Size
		if v.repos.Size > 0 {
			v.TotalPages = (v.repos.Size + perPage - 1) / perPage
		}
		if v.Page > 1 {
			v.PrevURL = resultsURL(v.Workspace, v.Page-1)
		}
		if v.repos.Next != "" && v.Page < maxPage {
			v.NextURL = resultsURL(v.Workspace, v.Page+1)
		}
		if len(v.repos.Values) > 0 {
			r := v.repos.Values[0]
			slug := r.Slug
			if slug == "" {
				slug = r.Name
			}
			v.CloneExample = fmt.Sprintf("git clone https://x-token-auth:{access_token}@bitbucket.org/%s/%s.git", v.Workspace, slug)
		}
	}
	if len(v.Workspaces) > 1 {
		for _, ws := range v.Workspaces {
			v.Switch = append(v.Switch, switchLink{Slug: ws, URL: resultsURL(ws, 1), Current: ws == v.Workspace})
		}
	}

	v.Notes = p.tr.notes
	curl := []string{fmt.Sprintf(`curl -sS -X POST -u "$BITBUCKET_CONSUMER_KEY:$BITBUCKET_CONSUMER_SECRET" -d grant_type=client_credentials %s`,
		shellQuote(cfg.TokenURL))}
	seen := map[string]bool{}
	for _, e := range p.tr.list() {
		ev := exchangeView{Method: e.Method, URL: e.URL, Auth: e.Auth, Duration: formatDuration(e.Duration)}
		ev.Step = 4
		if e.Method == http.MethodPost {
			ev.Step = 2
		}
		if e.Status != 0 {
			ev.Status = strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
			ev.Failed = e.Status >= 300
		} else {
			ev.Status = "no response: " + e.Err
			ev.Failed = true
		}
		v.Exchanges = append(v.Exchanges, ev)
		if e.Method == http.MethodGet && !seen[e.URL] {
			seen[e.URL] = true
			curl = append(curl, `curl -sS -H "Authorization: Bearer $BITBUCKET_ACCESS_TOKEN" `+shellQuote(e.URL))
		}
	}
	v.Curl = curl
}

// errorList returns the steps that failed.
func (v *resultsView) errorList() []*stepError {
	var out []*stepError
	for _, e := range []*stepError{v.TokenError, v.WorkspacesError, v.WorkspaceError, v.ReposError} {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

// status is 200 only when the token and every call succeeded; 504 when a
// step timed out, 502 for any other upstream failure.
func (v *resultsView) status() int {
	status := http.StatusOK
	for _, e := range v.errorList() {
		if e.Timeout {
			return http.StatusGatewayTimeout
		}
		status = e.pageStatus()
	}
	return status
}

func resultsURL(workspace string, page int) string {
	q := url.Values{"workspace": {workspace}}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	return "/oauth-callback?" + q.Encode()
}

// safeLink returns href when it is an absolute http(s) URL, else "". Links
// come from Bitbucket, and the page renders only those it can trust to be
// web pages.
func safeLink(href string) string {
	u, err := url.Parse(href)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return u.String()
}

// bbDate shows Bitbucket's ISO 8601 time (with microseconds and +00:00) as
// a date and time in UTC, or as it came when it does not parse.
func bbDate(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return clip(s)
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func formatDuration(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
