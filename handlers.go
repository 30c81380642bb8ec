package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"bitbucket-client-credentials-sample/bitbucket"
	"bitbucket-client-credentials-sample/internal/config"
	"bitbucket-client-credentials-sample/internal/explain"
	"bitbucket-client-credentials-sample/internal/web"
)

const (
	perPage        = 10 // repositories on a page
	maxWorkspaces  = 50 // workspaces discovery reads and the page lists
	maxPagesAtOnce = 8  // results pages talking to Bitbucket at the same time
)

// What each call asks for with Bitbucket's partial responses (fields=): what
// the page shows, and next; a repository alone runs to several kB.
// TestFieldsAreWhatThePageShows keeps them in step with the types below.
const (
	repoFields = "next,previous,page,size,pagelen,values.name,values.full_name,values.description,values.is_private," +
		"values.language,values.updated_on,values.links.html.href,values.links.clone.name,values.links.clone.href"
	workspaceFields = "uuid,slug,name,is_private,created_on,links.html.href"
	accessFields    = "next,values.workspace.slug,values.workspace.uuid"
)

// handleHealthcheck answers 200 {"status":"ok"} without calling Bitbucket,
// so a load balancer or a script can tell the app is up.
func handleHealthcheck() http.Handler {
	body := []byte(`{"status":"ok"}` + "\n")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(body) //nolint:errcheck // nothing to do if the client went away
	})
}

// handleLanding serves the page that teaches the grant. It is the same for
// every request of a process, so it is rendered once, here. It also sets
// the origin cookie (see web.AskedByAPerson).
func handleLanding(pages *web.Renderer, origin string, view landingView) (http.Handler, error) {
	page, err := pages.RenderBytes(http.StatusOK, "index.html", "Bitbucket Cloud client credentials grant", view)
	if err != nil {
		return nil, err
	}
	length, cookie := strconv.Itoa(len(page)), web.OriginCookieLine(origin)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", cookie)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", length)
		w.Write(page) //nolint:errcheck // nothing to do if the client went away
	}), nil
}

// handleAuthorize stands where other grants send the browser to Bitbucket's
// consent screen. The client credentials grant has no user and so no
// consent: the app already holds all it needs to get a token. So /authorize
// redirects straight on to /oauth-callback, with the query string (a
// workspace or page chosen on the way), which /oauth-callback validates.
func handleAuthorize() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := "/oauth-callback"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	})
}

// handleCallback is where the flow happens: the token, the workspace, two
// concurrent API calls, and a page that shows what happened. held keeps the
// last token a page used, for /scopes.
func handleCallback(client *bitbucket.Client, held *atomic.Pointer[oauth2.Token], origin string, cfg config.Config,
	pages *web.Renderer, redact *redactor, logger *slog.Logger) http.Handler {
	disc, setup := &discovery{}, newResultsSetup(cfg)
	slots := make(chan struct{}, maxPagesAtOnce)
	cookie := web.OriginCookieLine(origin)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store") // the page shows token details
		if r.Method == http.MethodHead {
			// Link previewers send HEAD: answer without spending the
			// consumer's rate limit on a page nobody reads.
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			return
		}
		q, err := parseResultsQuery(r.URL.Query())
		if err != nil {
			pages.ErrorPage(w, http.StatusBadRequest, err.Error())
			return
		}
		if !web.AskedByAPerson(r, origin) {
			w.Header().Add("Set-Cookie", cookie) // nothing called on this page load: a button runs the flow
			pages.Render(w, http.StatusOK, "confirm.html", "Run the flow?", q)
			return
		}
		// A few pages at a time talk to Bitbucket; the others wait, within
		// the page's budget, so that a burst of loads cannot spend the
		// consumer's rate limit or fill the memory.
		rec := &recorder{}
		ctx, cancel := context.WithTimeout(withRecorder(r.Context(), rec), pageBudget(cfg.Timeout))
		defer cancel()
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		case <-ctx.Done():
			pages.ErrorPage(w, http.StatusServiceUnavailable, fmt.Sprintf("%d results pages were already talking to "+
				"Bitbucket, and none finished in time: this one gave up without calling Bitbucket. Reload in a moment.", maxPagesAtOnce))
			return
		}
		f := runFlow(ctx, client, disc, cfg, q, logger)
		if f.token != nil {
			held.Store(f.token)
		}
		v := newResultsView(ctx, f, rec.list(), setup, redact)
		for _, s := range v.failures() {
			logger.Warn("step failed", "error", s.Log)
		}
		pages.Render(w, v.status(), "results.html", "Results: token and repositories", v)
	})
}

// flow is what one load of the results page did, step by step.
type flow struct {
	token                                         *oauth2.Token
	workspace, source                             string // the workspace shown, and where it came from
	known                                         []workspaceRef
	ws                                            workspaceJSON
	repos                                         repoPage
	notes                                         []string // pagelen retries
	tokenErr, discoveryErr, workspaceErr, repoErr error
}

// runFlow runs the steps of the grant for one page load.
func runFlow(ctx context.Context, client *bitbucket.Client, disc *discovery, cfg config.Config, q resultsQuery, logger *slog.Logger) *flow {
	f := &flow{workspace: q.Workspace, source: "chosen on this page"}
	// Steps 2 and 3: the access token, cached across page loads.
	if f.token, f.tokenErr = client.Tokens().TokenContext(ctx); f.tokenErr != nil {
		return f
	}
	// Which workspace: the page's, BITBUCKET_WORKSPACE, or the first the
	// token can reach (asked once per token: discovery is best effort).
	if f.workspace == "" && cfg.Workspace != "" {
		f.workspace, f.source = cfg.Workspace, "from BITBUCKET_WORKSPACE"
	}
	if f.workspace == "" {
		var note string
		f.known, note, f.discoveryErr = disc.run(ctx, client, f.token)
		f.notes = append(f.notes, note)
		if f.discoveryErr != nil || len(f.known) == 0 {
			return f
		}
		f.workspace, f.source = f.known[0].Slug, "the first the token can reach"
	} else {
		f.known = disc.known(f.token)
	}

	// Step 4: the workspace's details and a page of its repositories.
	// Neither needs the other, so they run at once: one round trip.
	ws := url.PathEscape(f.workspace)
	query := url.Values{"pagelen": {strconv.Itoa(perPage)}, "sort": {"-updated_on"}, "fields": {repoFields}}
	if q.Page != "" {
		query.Set("page", q.Page) // as Bitbucket's own next link had it
	}
	f.repos.Values = make([]repoJSON, 0, perPage) // decoded into without growing
	var wg sync.WaitGroup
	var repoNote string
	wg.Go(func() {
		f.workspaceErr = call(logger, func() error {
			return client.Get(ctx, "/workspaces/"+ws, url.Values{"fields": {workspaceFields}}, &f.ws)
		})
	})
	// The other call runs in the handler's own goroutine, whose stack has grown
	// already: a new goroutine's often has to grow, and be copied, while the
	// answer is decoded (runtime.newstack in docs/performance.md's profile).
	f.repoErr = call(logger, func() error {
		err := client.Get(ctx, "/repositories/"+ws, query, &f.repos)
		if smaller, note, ok := smallerPagelen(err, query); ok {
			repoNote, err = note, client.Get(ctx, "/repositories/"+ws, smaller, &f.repos)
		}
		return err
	})
	wg.Wait()
	f.notes = append(f.notes, repoNote)
	return f
}

// call runs one API call. A panic in it becomes a failed step: net/http
// recovers panics only in the handler's own goroutine, and one in another
// goroutine would end the process.
func call(logger *slog.Logger, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			logger.Error("panic in an API call", "panic", clip(fmt.Sprint(p), 300), "stack", string(debug.Stack()))
			err = explain.ErrPanic
		}
	}()
	return f()
}

// smallerPagelen reads a 400 "Invalid pagelen": each endpoint caps pagelen
// in its own way, so the app asks once more with half as many, and the page
// says so.
func smallerPagelen(err error, query url.Values) (url.Values, string, bool) {
	var e *bitbucket.Error
	n, _ := strconv.Atoi(query.Get("pagelen"))
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || !strings.Contains(strings.ToLower(e.Message), "pagelen") || n < 2 {
		return nil, "", false
	}
	smaller := maps.Clone(query)
	smaller.Set("pagelen", strconv.Itoa(n/2))
	return smaller, fmt.Sprintf("Bitbucket refused pagelen=%d for %s (\"Invalid pagelen\": each endpoint has its own cap), "+
		"so the app asked once more with pagelen=%d.", n, clip(e.Request, 100), n/2), true
}

// pageBudget bounds one results page's calls to Bitbucket: the token
// request, the workspace listing and the concurrent API round, each up to
// the timeout, plus one retry after a 401.
func pageBudget(timeout time.Duration) time.Duration { return 4 * timeout }

// discovery remembers, per token, which workspaces GET /2.0/user/workspaces
// listed, or that it failed. Since May 2026 a client credentials token acts
// as an app user, and Bitbucket does not document what this endpoint does
// for one: it may refuse. Asking again on every page load would cost a call
// (and, after a 401, a token request) each time. Concurrent page loads wait
// for the one listing; no lock is held while it talks to Bitbucket.
type discovery struct {
	mu  sync.Mutex
	tok *oauth2.Token
	cur *listing
}

type listing struct {
	done chan struct{} // closed once list and err are set
	list []workspaceRef
	err  error
}

type workspaceRef struct{ Slug, UUID string }

func (d *discovery) run(ctx context.Context, client *bitbucket.Client, tok *oauth2.Token) ([]workspaceRef, string, error) {
	d.mu.Lock()
	l := d.cur
	if d.tok == tok && l != nil {
		d.mu.Unlock()
		select {
		case <-l.done:
			return l.list, "", l.err
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
	}
	l = &listing{done: make(chan struct{})}
	d.tok, d.cur = tok, l
	d.mu.Unlock()
	var note string
	l.list, note, l.err = listWorkspaces(ctx, client)
	// A 401 may have replaced tok: remember under the token in use now.
	cur, _ := client.Tokens().TokenContext(ctx)
	d.mu.Lock()
	if e := (*bitbucket.Error)(nil); d.cur == l && l.err != nil && (!errors.As(l.err, &e) || e.Status == 0) {
		d.tok, d.cur = nil, nil // no answer came: not worth remembering
	} else if d.cur == l && cur != nil {
		d.tok = cur
	}
	d.mu.Unlock()
	close(l.done)
	return l.list, note, l.err
}

// known returns what was listed with tok, if anything.
func (d *discovery) known(tok *oauth2.Token) []workspaceRef {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tok != tok || d.cur == nil {
		return nil
	}
	select {
	case <-d.cur.done:
		return d.cur.list
	default:
		return nil
	}
}

// workspaceAccess is an item of GET /2.0/user/workspaces. Its
// "administrator" is left out: a boolean in examples, a string in the spec,
// and the app does not show it.
type workspaceAccess struct {
	Workspace struct {
		Slug string `json:"slug"`
		UUID string `json:"uuid"`
	} `json:"workspace"`
}

// listWorkspaces follows next through the workspaces the token reaches,
// sorted by slug (without a sort, Bitbucket's pages may repeat or skip
// items), up to maxWorkspaces.
func listWorkspaces(ctx context.Context, client *bitbucket.Client) (list []workspaceRef, note string, err error) {
	query := url.Values{"sort": {"slug"}, "pagelen": {"100"}, "fields": {accessFields}}
	for range 2 {
		list, err = nil, nil
		for a, err2 := range bitbucket.All[workspaceAccess](ctx, client, "/user/workspaces", query) {
			if err = err2; err != nil || len(list) == maxWorkspaces {
				break
			}
			if config.WorkspaceID.MatchString(a.Workspace.Slug) { // upstream data is checked before it names a path
				list = append(list, workspaceRef{Slug: a.Workspace.Slug, UUID: a.Workspace.UUID})
			}
		}
		smaller, retried, ok := smallerPagelen(err, query)
		if !ok {
			break
		}
		query, note = smaller, retried
	}
	return list, note, err
}

// badInput is a message for the person who sent the request, shown on the
// 400 page as it is.
type badInput string

func (b badInput) Error() string { return string(b) }

// resultsQuery is the results page's query, validated.
type resultsQuery struct {
	Workspace string
	Page      string // Bitbucket's own page value: a number or an opaque cursor
}

// pageValue is what the page links carry from Bitbucket's next and
// previous, as it is ("clients are not expected to construct URLs
// themselves"): a number or an opaque cursor, never one the app computed.
var pageValue = regexp.MustCompile(`^[A-Za-z0-9._~=-]{1,200}$`)

// parseResultsQuery validates the query before anything uses it.
func parseResultsQuery(q url.Values) (resultsQuery, error) {
	var res resultsQuery
	for name, values := range q {
		if (name == "workspace" || name == "page") && len(values) > 1 {
			return res, badInput("Give " + name + " only once.")
		}
	}
	if ws := q.Get("workspace"); ws != "" {
		if !config.WorkspaceID.MatchString(ws) {
			return res, badInput("workspace must be a Bitbucket workspace ID (letters, digits, - and _, at most 63) or a {UUID}.")
		}
		res.Workspace = ws
	}
	if p := q.Get("page"); p != "" {
		if !pageValue.MatchString(p) {
			return res, badInput("page must be the value from a Next or Previous link: at most 200 letters, digits and . _ ~ = -")
		}
		res.Page = p
	}
	return res, nil
}

// handleScopes lists every operation of Bitbucket's REST API with the
// permission it needs, from the table generated from Bitbucket's OpenAPI
// description (package scopes), and marks what the token the app holds
// reaches. It never calls Bitbucket.
func handleScopes(held *atomic.Pointer[oauth2.Token], pages *web.Renderer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values := r.URL.Query()["q"]
		q := strings.Join(values, "")
		switch {
		case len(values) > 1:
			pages.ErrorPage(w, http.StatusBadRequest, "Give q only once.")
			return
		case !utf8.ValidString(q):
			pages.ErrorPage(w, http.StatusBadRequest, "q must be text (valid UTF-8).")
			return
		case utf8.RuneCountInString(q) > 200:
			pages.ErrorPage(w, http.StatusBadRequest, "q is longer than 200 characters: search for a word, a path or a permission.")
			return
		}
		pages.Render(w, http.StatusOK, "scopes.html", "Which permission to tick", newScopesView(held.Load(), q))
	})
}

// handleStatic serves the embedded CSS, script and diagrams. Folders and
// missing files get the app's 404 page rather than a listing.
func handleStatic(static fs.FS, pages *web.Renderer) http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/static/")
		if fi, err := fs.Stat(static, name); err != nil || fi.IsDir() {
			pages.ErrorPage(w, http.StatusNotFound, "There is no such file.")
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})
}

func handleNotFound(pages *web.Renderer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pages.ErrorPage(w, http.StatusNotFound, "There is no page at this address.")
	})
}

func handleMethodNotAllowed(pages *web.Renderer, allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		pages.ErrorPage(w, http.StatusMethodNotAllowed, "This address answers only "+allow+".")
	})
}
