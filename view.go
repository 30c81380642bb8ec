package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"bitbucket-client-credentials-sample/internal/config"
	"bitbucket-client-credentials-sample/internal/explain"
	"bitbucket-client-credentials-sample/internal/scopes"
)

// The answers, decoded once into what the page shows and nothing else: the
// calls ask for these fields alone (repoFields, workspaceFields).
type (
	repoPage struct {
		Values   []repoJSON      `json:"values"`
		Next     string          `json:"next"`
		Previous string          `json:"previous"`
		Size     json.Number     `json:"size"`    // optional
		Pagelen  json.Number     `json:"pagelen"` // optional
		Page     json.RawMessage `json:"page"`    // a number, a number in a string, or a cursor; optional
	}
	repoJSON struct {
		Name        string    `json:"name"`
		FullName    string    `json:"full_name"`
		Description string    `json:"description"`
		IsPrivate   bool      `json:"is_private"`
		Language    string    `json:"language"`
		UpdatedOn   time.Time `json:"updated_on"`
		Links       struct {
			HTML struct {
				Href string `json:"href"`
			} `json:"html"`
			Clone []struct {
				Name string `json:"name"`
				Href string `json:"href"`
			} `json:"clone"` // "https" is https://{user}@bitbucket.org/{full_name}.git
		} `json:"links"`
	}
	workspaceJSON struct {
		UUID      string    `json:"uuid"`
		Slug      string    `json:"slug"`
		Name      string    `json:"name"`
		IsPrivate bool      `json:"is_private"`
		CreatedOn time.Time `json:"created_on"`
		Links     struct {
			HTML struct {
				Href string `json:"href"`
			} `json:"html"`
		} `json:"links"`
	}
)

// resultsView is what the results page shows, computed here as text ready
// to print (from upstream: without credentials, bounded), so that the
// template only prints. Whatever Bitbucket sent, it is one page of it.
type resultsView struct {
	TokenError, DiscoveryError, WorkspaceError, ReposError *explain.Step

	Token           *tokenView
	Workspace       string // as asked for: a slug or a {UUID}
	WorkspaceSource string
	Discovered      bool // the workspace came from discovery, a fallback
	NoWorkspace     bool // the token reaches no workspace
	WorkspaceInfo   *workspaceView
	Switch          []switchLink
	Repos           template.HTML // the table's rows (see row)
	ShowRepos       bool
	PageLabel       string
	PrevURL         string
	NextURL         string
	Clone           string
	Exchanges       template.HTML // the table's rows
	Notes           []string
	Curl            []string
	Exports         []string // demo mode: the demo consumer, so the commands run as shown
	EncodingNote    bool     // form-encoding changes the key or the secret
}

type tokenView struct {
	Type, Scopes, ExpiresAt, ExpiresIn, Masked, JSON, Reach string
	Fetched                                                 bool

	token *oauth2.Token // the token shown
}

// resultsSetup is what every results page shares: the configuration's part
// of the page, computed once when the handler is built, and the view of
// the token, kept from page to page.
type resultsSetup struct {
	apiHost      string   // the clone command's host, besides bitbucket.org (a stand-in's)
	tokenCurl    string   // step 2 with curl
	exports      []string // demo mode: the demo consumer, so the commands run as shown
	encodingNote bool
	tokens       tokenViews
}

func newResultsSetup(cfg config.Config) *resultsSetup {
	s := &resultsSetup{encodingNote: formEncodingChanges(cfg),
		tokenCurl: `curl -sS -X POST -u "$BITBUCKET_CONSUMER_KEY:$BITBUCKET_CONSUMER_SECRET" -d grant_type=client_credentials ` + shellQuote(cfg.TokenURL)}
	if u, err := url.Parse(cfg.APIURL); err == nil {
		s.apiHost = u.Host
	}
	if cfg.Demo {
		s.exports = []string{
			"export BITBUCKET_CONSUMER_KEY=" + shellQuote(cfg.ConsumerKey),
			"export BITBUCKET_CONSUMER_SECRET=" + shellQuote(cfg.ConsumerSecret),
		}
	}
	return s
}

// tokenViews keeps the view of the last token shown. A token is on every
// page load of its lifetime, and all its view but the time left and who
// fetched it is the same each time: its JSON and its reach are computed
// once per token, not once per page.
type tokenViews struct{ last atomic.Pointer[tokenView] }

func (c *tokenViews) view(t *oauth2.Token, fetched bool, redact *redactor) *tokenView {
	tv := c.last.Load()
	if tv == nil || tv.token != t { // the token source hands out the same *Token until it renews it
		tv = newTokenView(t, redact)
		c.last.Store(tv)
	}
	shown := *tv
	shown.Fetched, shown.ExpiresIn = fetched, time.Until(t.Expiry).Round(time.Second).String()
	return &shown
}

type workspaceView struct {
	Name, Slug, UUID, Link, Created, Visibility string
}

type switchLink struct {
	Slug, URL string
	Current   bool
}

// newResultsView computes the page from what the flow did. ctx is the
// page's: when the app stops, its cause says so.
func newResultsView(ctx context.Context, f *flow, exchanges []exchange, setup *resultsSetup, redact *redactor) *resultsView {
	v := &resultsView{Workspace: f.workspace, WorkspaceSource: f.source, Discovered: f.source == "the first the token can reach"}
	for _, step := range []struct {
		err error
		to  **explain.Step
	}{{f.tokenErr, &v.TokenError}, {f.discoveryErr, &v.DiscoveryError}, {f.workspaceErr, &v.WorkspaceError}, {f.repoErr, &v.ReposError}} {
		if step.err != nil {
			*step.to = explain.Failure(ctx, step.err, redact.clip)
		}
	}
	fetched := false
	for _, e := range exchanges {
		fetched = fetched || e.Method == http.MethodPost
	}
	if v.TokenError != nil && !fetched && !v.TokenError.Stopping {
		v.Notes = append(v.Notes, "The token request failed moments ago. The app gives every page load that failure "+
			"for five seconds before it asks Bitbucket again, so this page made no token request.")
	}
	if t := f.token; t != nil {
		v.Token = setup.tokens.view(t, fetched, redact)
		if !fetched && time.Until(t.Expiry) < time.Minute {
			v.Notes = append(v.Notes, "The token expires within a minute: this page load used it, still valid, while the "+
				"client renews it in the background. The next page load gets the new token.")
		}
		v.NoWorkspace = v.Workspace == "" && v.DiscoveryError == nil
	}
	if ws := f.ws; v.WorkspaceError == nil && ws.Slug != "" {
		v.WorkspaceInfo = &workspaceView{Name: redact.clip(ws.Name, 200), Slug: redact.clip(ws.Slug, 100), UUID: redact.clip(ws.UUID, 40),
			Link: safeLink(redact.clip(ws.Links.HTML.Href, 2000)), Created: date(ws.CreatedOn), Visibility: visibility(ws.IsPrivate)}
	}
	for _, ws := range f.known[:min(len(f.known), maxWorkspaces)] {
		current := ws.Slug == v.Workspace || strings.EqualFold(ws.UUID, v.Workspace) || ws.Slug == f.ws.Slug
		v.Switch = append(v.Switch, switchLink{Slug: ws.Slug, URL: resultsURL(ws.Slug, ""), Current: current})
	}
	if len(v.Switch) < 2 {
		v.Switch = nil
	}
	if v.ShowRepos = v.Workspace != "" && v.ReposError == nil && f.token != nil; v.ShowRepos {
		v.fillRepos(f.repos, setup.apiHost, redact)
	}
	for _, n := range f.notes {
		if n != "" {
			v.Notes = append(v.Notes, n)
		}
	}
	v.fillExchanges(setup, exchanges)
	return v
}

func newTokenView(t *oauth2.Token, redact *redactor) *tokenView {
	redact.remember(t.AccessToken) // an answer that echoes the token in another field shows it redacted
	tv := &tokenView{Type: t.Type(), Scopes: redact.clip(bitbucketScopes(t), 200), Masked: mask(t.AccessToken), token: t,
		ExpiresAt: t.Expiry.UTC().Format("2006-01-02 15:04:05 UTC")}
	if !isWord(tv.Type) { // x/oauth2 normalises Bitbucket's "bearer"; anything else is shown only if it is a word
		tv.Type = "(not shown: not a type name)"
	}
	// The token endpoint's answer: the fields Bitbucket sends, the token masked.
	fields := map[string]any{"access_token": tv.Masked}
	for _, key := range []string{"token_type", "expires_in", "scope", "scopes", "state"} {
		switch val := t.Extra(key).(type) {
		case string:
			fields[key] = redact.clip(val, 200)
		case float64, bool:
			fields[key] = val
		}
	}
	b, _ := json.MarshalIndent(fields, "", "  ") // keys in alphabetical order
	tv.JSON = string(b)
	n, m := reach(tv.Scopes)
	tv.Reach = fmt.Sprintf("This token reaches %d of %d operations of Bitbucket's REST API.", n, m)
	return tv
}

// bitbucketScopes are the token's scopes, space-separated: "scope" since May
// 2026, "scopes" in older answers.
func bitbucketScopes(t *oauth2.Token) string {
	s, _ := t.Extra("scope").(string)
	if s == "" {
		s, _ = t.Extra("scopes").(string)
	}
	return s
}

// reach counts the operations a token with these scopes reaches, of all
// those the OpenAPI description lists.
func reach(scopeList string) (n, of int) {
	have, ops := scopes.Implied(strings.Fields(scopeList)), scopes.Operations()
	for _, op := range ops {
		if scopes.Reaches(have, op) {
			n++
		}
	}
	return n, len(ops)
}

func isWord(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return s != "" && len(s) <= 20
}

// row writes a table row of HTML to b: a cell that is a <th> as it is, any
// other in a <td>; class, if any, is the row's. The tables' rows are built
// here, each text escaped (html.EscapeString) and each link one safeLink
// let through: html/template makes a reflect call for every value it
// prints, and a page of ten repositories has fifty of them, which took a
// fifth of the CPU a results page cost (docs/performance.md).
func row(b *strings.Builder, class string, cells ...string) {
	if class != "" {
		b.WriteString(`<tr class="` + class + `">`)
	} else {
		b.WriteString("<tr>")
	}
	for _, c := range cells {
		if strings.HasPrefix(c, "<th") {
			b.WriteString(c)
			continue
		}
		b.WriteString("<td>")
		b.WriteString(c)
		b.WriteString("</td>")
	}
	b.WriteString("</tr>\n")
}

// orDash is a cell's text, escaped, or a dash when there is none.
func orDash(text string) string {
	if text == "" {
		return `<span class="muted">—</span>`
	}
	return html.EscapeString(text)
}

func visibility(private bool) string {
	if private {
		return "private"
	}
	return "public"
}

// date shows Bitbucket's times in UTC, to the minute.
func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func (v *resultsView) fillRepos(p repoPage, apiHost string, redact *redactor) {
	values := p.Values[:min(len(p.Values), perPage)]
	var rows strings.Builder
	rows.Grow(len(values) * 512) // a row is 300 to 700 bytes: one allocation, mostly
	for _, r := range values {
		name := html.EscapeString(redact.clip(r.Name, 100))
		if link := safeLink(redact.clip(r.Links.HTML.Href, 2000)); link != "" {
			name = `<a href="` + html.EscapeString(link) + `">` + name + `</a>`
		}
		vis := visibility(r.IsPrivate)
		row(&rows, "", `<th scope="row">`+name+`</th>`, `<span class="tag `+vis+`">`+vis+`</span>`,
			orDash(redact.clip(r.Language, 40)), html.EscapeString(date(r.UpdatedOn)), orDash(redact.clip(r.Description, 300)))
	}
	v.Repos = template.HTML(rows.String())
	v.PageLabel = pageLabel(p)
	if p.Previous != "" { // without a page value that the app carries: the first page
		v.PrevURL = resultsURL(v.Workspace, pageParam(redact.clip(p.Previous, 2000)))
	}
	if next := pageParam(redact.clip(p.Next, 2000)); next != "" {
		v.NextURL = resultsURL(v.Workspace, next)
	}
	if len(values) > 0 {
		v.Clone = cloneCommand(values[0], apiHost, redact)
	}
}

func (v *resultsView) fillExchanges(setup *resultsSetup, exchanges []exchange) {
	v.Curl = []string{setup.tokenCurl} // a slice of this page's own: the GET commands are appended to it
	v.Exports, v.EncodingNote = setup.exports, setup.encodingNote
	seen := map[string]bool{}
	rejected := false
	lastPost := -1 // the token request that the token step's failure, if any, is about
	for i, e := range exchanges {
		if e.Method == http.MethodPost {
			lastPost = i
		}
	}
	var rows strings.Builder
	for i, e := range exchanges {
		step, status := "4", strconv.Itoa(e.Status)+" "+http.StatusText(e.Status)
		if e.Method == http.MethodPost {
			step = "2"
			if rejected {
				v.Notes = append(v.Notes, "Bitbucket answered 401 to the token: the client dropped it, fetched a new one and retried once.")
			}
		}
		if e.Status == 0 {
			status = "no answer: " + e.Err
		} else if e.Err != "" {
			status += ", then " + e.Err
		}
		rejected = rejected || e.Status == http.StatusUnauthorized
		class := ""
		if e.Status == 0 || e.Status >= 300 || e.Err != "" || (i == lastPost && v.TokenError != nil) { // a 200 may hold no token
			class = "failed"
		}
		row(&rows, class, step, "<code>"+html.EscapeString(e.Method+" "+e.URL)+"</code>", "<code>"+html.EscapeString(e.Auth)+"</code>",
			html.EscapeString(status), strconv.FormatFloat(float64(e.Duration.Microseconds())/1000, 'f', 1, 64)+" ms")
		if e.Method == http.MethodGet && !seen[e.URL] && !strings.HasSuffix(e.URL, "…") { // a clipped URL makes no command
			seen[e.URL] = true
			v.Curl = append(v.Curl, `curl -sS -H "Authorization: Bearer $BITBUCKET_ACCESS_TOKEN" `+shellQuote(e.URL))
		}
	}
	v.Exchanges = template.HTML(rows.String())
}

// failures returns the steps that failed.
func (v *resultsView) failures() []*explain.Step {
	var out []*explain.Step
	for _, s := range []*explain.Step{v.TokenError, v.DiscoveryError, v.WorkspaceError, v.ReposError} {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// status is 200 when every step worked; else the most telling failure's.
func (v *resultsView) status() int {
	status := http.StatusOK
	for _, s := range v.failures() {
		if s.Stopping || (s.Timeout && status != http.StatusServiceUnavailable) || status == http.StatusOK {
			status = s.PageStatus()
		}
	}
	return status
}

// pageLabel says which page this is, only from what the answer says: page
// may be an opaque cursor, and size and pagelen may be missing.
func pageLabel(p repoPage) string {
	var page int64
	if json.Unmarshal(p.Page, &page) != nil {
		var s string // the spec allows a string: a number in one, or a cursor
		if json.Unmarshal(p.Page, &s) != nil {
			return ""
		}
		page, _ = strconv.ParseInt(s, 10, 64)
	}
	if page < 1 || page > 1e6 {
		return ""
	}
	label := "Page " + strconv.FormatInt(page, 10)
	size, err1 := p.Size.Int64()
	pagelen, err2 := p.Pagelen.Int64()
	if err1 == nil && err2 == nil && size >= 0 && size <= 1e9 && pagelen >= 1 && pagelen <= 100 {
		label += fmt.Sprintf(" of %d · %d repositories", max(1, (size+pagelen-1)/pagelen), size)
	}
	return label
}

// pageParam returns the page value of Bitbucket's next or previous link,
// if it is one the app will carry.
func pageParam(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	if p := u.Query().Get("page"); pageValue.MatchString(p) {
		return p
	}
	return ""
}

func resultsURL(workspace, page string) string {
	q := url.Values{"workspace": {workspace}}
	if page != "" {
		q.Set("page", page)
	}
	return "/oauth-callback?" + q.Encode()
}

// cloneParts are what a clone URL may hold before the page puts it in a
// shell command: a host (and port) and a workspace/repository path.
var (
	cloneHost = regexp.MustCompile(`^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$`)
	clonePath = regexp.MustCompile(`^/[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}\.git$`)
)

// cloneCommand builds the git clone line for a repository from Bitbucket's
// own answer: the links.clone entry named https, with its user replaced by
// x-token-auth (the user name Bitbucket requires with a token), or else
// from full_name. Every part is validated, and the argument quoted. The host
// must be bitbucket.org or the API's own (a stand-in's), and plain http is
// only for a loopback host: the command carries the token.
func cloneCommand(r repoJSON, apiHost string, redact *redactor) string {
	u := &url.URL{Scheme: "https", Host: "bitbucket.org", Path: "/" + redact.clip(r.FullName, 300) + ".git"}
	for _, l := range r.Links.Clone {
		if c, err := url.Parse(redact.clip(l.Href, 2000)); err == nil && l.Name == "https" {
			u = c
		}
	}
	ip := net.ParseIP(u.Hostname())
	plainOK := u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())
	if (u.Scheme != "https" && (u.Scheme != "http" || !plainOK)) || (u.Host != "bitbucket.org" && u.Host != apiHost) ||
		!cloneHost.MatchString(u.Host) || !clonePath.MatchString(u.Path) ||
		strings.Contains(u.Path, "..") || u.RawQuery != "" || u.Fragment != "" {
		return ""
	}
	// Inside double quotes only $, `, \ and " are special: the validated
	// parts hold none of them, and $BITBUCKET_ACCESS_TOKEN expands.
	return `git clone "` + u.Scheme + `://x-token-auth:${BITBUCKET_ACCESS_TOKEN}@` + u.Host + u.Path + `"`
}

// safeLink returns href when it is an absolute http(s) URL, else "": links
// come from Bitbucket, and the page renders only those that are web pages.
func safeLink(href string) string {
	u, err := url.Parse(href)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(href) > 2000 {
		return ""
	}
	return u.String()
}

// shellQuote quotes s as one argument for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// scopesView is the /scopes page: every operation of the REST API, grouped
// by the permission it needs, and what the token the app holds reaches.
type scopesView struct {
	Query, Reach, Granted string // Reach and Granted are empty without a token
	Shown                 int    // operations that match the query
	Checkboxes            []string
	Groups                []scopeGroupView
}

type scopeGroupView struct {
	scopes.Group
	Note string
	Has  bool // the token reaches these
}

func newScopesView(tok *oauth2.Token, q string) scopesView {
	v := scopesView{Query: q}
	var have map[string]bool
	if tok != nil {
		v.Granted = clip(bitbucketScopes(tok), 300)
		have = scopes.Implied(strings.Fields(v.Granted))
		n, m := reach(v.Granted)
		v.Reach = fmt.Sprintf("This token reaches %d of %d operations of Bitbucket's REST API.", n, m)
	}
	for _, p := range scopes.Permissions() {
		v.Checkboxes = append(v.Checkboxes, map[bool]string{true: "✓ "}[have[p.Scope]]+p.Label+" (scope "+p.Scope+")")
	}
	ops := scopes.Filter(scopes.Operations(), q)
	v.Shown = len(ops)
	for _, g := range scopes.Grouped(ops) {
		gv := scopeGroupView{Group: g, Has: have != nil && scopes.Reaches(have, g.Operations[0])}
		switch {
		case g.Connect:
			gv.Note = "An empty scope list here means another mechanism: these operations serve Atlassian Connect apps, " +
				"which sign requests with a JWT. No OAuth consumer's token reaches them."
		case len(g.Scopes) == 0:
			gv.Note = "No scope listed: any valid token reaches these."
		}
		v.Groups = append(v.Groups, gv)
	}
	return v
}
