package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"bitbucket-client-credentials-sample/bitbucket"
	"bitbucket-client-credentials-sample/internal/config"
)

// resultsView is what the results page shows. The handler sets the raw
// parts as the flow goes; fill turns them into what the template needs,
// bounded: whatever Bitbucket sent, the page shows one page of it.
type resultsView struct {
	Workspace       string // as asked for: a slug or a {UUID}
	WorkspaceSource string

	TokenError, DiscoveryError, WorkspaceError, ReposError *stepView

	token     *oauth2.Token
	origin    bitbucket.Origin
	redact    func(string) string // removes credentials from upstream text (an echo may hold them)
	known     []workspaceRef      // the workspaces discovery listed with this token
	workspace workspaceJSON
	repos     bitbucket.Page[bitbucket.Repository]

	// Set by fill.
	Token         *tokenView
	NoWorkspace   bool // the token reaches no workspace
	WorkspaceInfo *workspaceView
	Switch        []switchLink
	Repos         []repoView
	PageLabel     string
	PrevURL       string
	NextURL       string
	Clone         string
	Exchanges     []exchangeView
	Notes         []string
	Curl          []string
	Exports       []string // demo mode: the demo consumer, so the commands run as shown
	EncodingNote  bool     // form-encoding changes the key or the secret
}

// workspaceJSON is what the page shows of GET /2.0/workspaces/{workspace}.
type workspaceJSON struct {
	UUID      string `json:"uuid"`
	Slug      string `json:"slug"`
	Name      string `json:"name"`
	IsPrivate bool   `json:"is_private"`
	CreatedOn string `json:"created_on"`
	Links     struct {
		HTML bitbucket.Link `json:"html"`
	} `json:"links"`
}

type tokenView struct {
	Type, Scopes, ExpiresAt, ExpiresIn, Masked, JSON string
	Fetched                                          bool
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
	Step                                int
	Method, URL, Auth, Status, Duration string
	Failed                              bool
}

// text is upstream text as the page shows it: without credentials, clipped.
func (v *resultsView) text(s string, n int) string { return clip(v.redact(s), n) }

// link is an upstream link as the page shows it: a web page's URL, with no
// credential in it (Redact looks behind %-escapes too).
func (v *resultsView) link(href string) string { return safeLink(v.redact(href)) }

// tokenType is the token's type if it is a word, as a type should be.
func tokenType(t *oauth2.Token) string {
	if typ := t.Type(); regexp.MustCompile(`^[A-Za-z]{1,20}$`).MatchString(typ) {
		return typ
	}
	return "(not shown: not a type name)"
}

func (v *resultsView) fill(cfg config.Config, exchanges []exchange, now time.Time) {
	if v.TokenError != nil && v.origin == bitbucket.Reused && !v.TokenError.Stopping {
		v.Notes = append(v.Notes, fmt.Sprintf("The token request failed moments ago. The app gives every page load that "+
			"failure for %v before it asks Bitbucket again, so this page made no token request.", bitbucket.FailureBackoff))
	}
	if t := v.token; t != nil {
		v.Token = &tokenView{
			Type:      tokenType(t), // x/oauth2 normalises Bitbucket's "bearer"
			Scopes:    v.text(bitbucket.Scopes(t), 200),
			ExpiresAt: t.Expiry.UTC().Format("2006-01-02 15:04:05 UTC"),
			ExpiresIn: t.Expiry.Sub(now).Round(time.Second).String(),
			Masked:    mask(t.AccessToken),
			JSON:      v.tokenJSON(t),
			Fetched:   v.origin == bitbucket.Fetched,
		}
		switch v.origin {
		case bitbucket.Reused:
			v.Notes = append(v.Notes, "Reused the cached access token: no token request. It expires at "+v.Token.ExpiresAt+".")
		case bitbucket.Shared:
			v.Notes = append(v.Notes, "Another page load was already asking for a token; this one waited for that request.")
		case bitbucket.Renewing:
			v.Notes = append(v.Notes, "The token is due for renewal: this page load used it, still valid, and started its renewal "+
				"in the background. The next page load gets the new token.")
		}
		v.NoWorkspace = v.Workspace == "" && v.DiscoveryError == nil
	}
	if ws := v.workspace; v.WorkspaceError == nil && ws.Slug != "" {
		v.WorkspaceInfo = &workspaceView{Name: v.text(ws.Name, 200), Slug: v.text(ws.Slug, 100), UUID: v.text(ws.UUID, 40),
			IsPrivate: ws.IsPrivate, Link: v.link(ws.Links.HTML.Href), Created: bbDate(v.text(ws.CreatedOn, 40))}
	}
	for _, ws := range v.known[:min(len(v.known), maxWorkspaces)] {
		current := ws.Slug == v.Workspace || strings.EqualFold(ws.UUID, v.Workspace) || ws.Slug == v.workspace.Slug
		v.Switch = append(v.Switch, switchLink{Slug: ws.Slug, URL: resultsURL(ws.Slug, ""), Current: current})
	}
	if len(v.Switch) < 2 {
		v.Switch = nil
	}
	if v.Workspace != "" && v.ReposError == nil && v.token != nil {
		v.fillRepos(cfg.APIURL)
	}
	v.fillExchanges(cfg, exchanges)
}

func (v *resultsView) fillRepos(apiURL string) {
	values := v.repos.Values[:min(len(v.repos.Values), perPage)]
	for _, r := range values {
		v.Repos = append(v.Repos, repoView{
			Name: v.text(r.Name, 100), FullName: v.text(r.FullName, 200), Link: v.link(r.Links.HTML.Href),
			IsPrivate: r.IsPrivate, Language: v.text(r.Language, 40), Updated: bbDate(v.text(r.UpdatedOn, 40)),
			Description: v.text(r.Description, 300),
		})
	}
	v.PageLabel = pageLabel(v.repos)
	if p := v.repos.Previous; p != "" {
		v.PrevURL = resultsURL(v.Workspace, pageParam(v.redact(p))) // without a page value: the first page
	}
	if p := pageParam(v.redact(v.repos.Next)); p != "" {
		v.NextURL = resultsURL(v.Workspace, p)
	}
	if len(values) > 0 {
		r := values[0]
		r.FullName = v.redact(r.FullName)
		r.Links.Clone = nil
		for _, l := range values[0].Links.Clone {
			r.Links.Clone = append(r.Links.Clone, bitbucket.NamedLink{Name: l.Name, Href: v.redact(l.Href)})
		}
		if u, err := url.Parse(apiURL); err == nil {
			v.Clone = cloneCommand(r, u.Host)
		}
	}
}

func (v *resultsView) fillExchanges(cfg config.Config, exchanges []exchange) {
	v.Curl = []string{`curl -sS -X POST -u "$BITBUCKET_CONSUMER_KEY:$BITBUCKET_CONSUMER_SECRET" -d grant_type=client_credentials ` +
		shellQuote(cfg.TokenURL)}
	if cfg.Demo {
		v.Exports = []string{
			"export BITBUCKET_CONSUMER_KEY=" + shellQuote(cfg.ConsumerKey),
			"export BITBUCKET_CONSUMER_SECRET=" + shellQuote(cfg.ConsumerSecret),
		}
	}
	v.EncodingNote = formEncodingChanges(cfg)
	seen := map[string]bool{}
	rejected := false
	for _, e := range exchanges {
		ev := exchangeView{Step: 4, Method: e.Method, URL: e.URL, Auth: e.Auth, Duration: formatDuration(e.Duration)}
		if e.Method == http.MethodPost {
			ev.Step = 2
			if rejected {
				v.Notes = append(v.Notes, "Bitbucket answered 401 to the token: the client dropped it, fetched a new one and retried once.")
			}
		}
		switch {
		case e.Status == 0:
			ev.Status, ev.Failed = "no answer: "+e.Err, true
		default:
			ev.Status = strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
			ev.Failed = e.Status >= 300 || e.Err != ""
			if e.Err != "" {
				ev.Status += ", then " + e.Err
			}
		}
		rejected = rejected || e.Status == http.StatusUnauthorized
		v.Exchanges = append(v.Exchanges, ev)
		if e.Method == http.MethodGet && !seen[e.URL] {
			seen[e.URL] = true
			v.Curl = append(v.Curl, `curl -sS -H "Authorization: Bearer $BITBUCKET_ACCESS_TOKEN" `+shellQuote(e.URL))
		}
	}
}

// failures returns the steps that failed.
func (v *resultsView) failures() []*stepView {
	var out []*stepView
	for _, s := range []*stepView{v.TokenError, v.DiscoveryError, v.WorkspaceError, v.ReposError} {
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
			status = s.pageStatus()
		}
	}
	return status
}

// tokenJSON is the token endpoint's answer as the page shows it: the
// fields Bitbucket sends, the token itself masked, text clipped.
func (v *resultsView) tokenJSON(t *oauth2.Token) string {
	fields := map[string]any{"access_token": mask(t.AccessToken)}
	for _, key := range []string{"token_type", "expires_in", "scope", "scopes", "state"} {
		switch val := t.Extra(key).(type) {
		case string:
			fields[key] = v.text(val, 200)
		case float64, bool:
			fields[key] = val
		}
	}
	b, _ := json.MarshalIndent(fields, "", "  ") // keys in alphabetical order
	return string(b)
}

// pageLabel says which page this is, only from what the answer says: page
// may be an opaque cursor, and size and pagelen may be missing.
func pageLabel(p bitbucket.Page[bitbucket.Repository]) string {
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
func cloneCommand(r bitbucket.Repository, apiHost string) string {
	u := &url.URL{Scheme: "https", Host: "bitbucket.org", Path: "/" + r.FullName + ".git"}
	for _, l := range r.Links.Clone {
		if c, err := url.Parse(l.Href); err == nil && l.Name == "https" {
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

// bbDate shows Bitbucket's ISO 8601 time (microseconds and +00:00) in UTC,
// or as it came when it does not parse.
func bbDate(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return clip(s, 40)
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func formatDuration(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}

// shellQuote quotes s as one argument for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// clip keeps upstream text to n characters of valid UTF-8 on one line.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
