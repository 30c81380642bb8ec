package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"bitbucket-client-credentials-sample/bitbucket"
	"bitbucket-client-credentials-sample/internal/config"
)

const (
	perPage       = 10 // repositories on a page
	maxWorkspaces = 50 // workspaces discovery reads and the page lists
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
// every request of a process, so it is rendered once, here.
func handleLanding(pages *renderer, origin string, view landingView) (http.Handler, error) {
	page, err := pages.renderBytes(http.StatusOK, "index.html", "Bitbucket Cloud client credentials grant", view)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setOriginCookie(w, origin)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
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
// concurrent API calls, and a page that shows what happened.
func handleCallback(client *bitbucket.Client, disc *discovery, origin string, cfg config.Config, pages *renderer, logger *slog.Logger, now func() time.Time) http.Handler {
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
			pages.errorPage(w, http.StatusBadRequest, err.Error())
			return
		}
		if !askedByAPerson(r, origin) {
			// Nothing is called on this page load: a button runs the flow.
			setOriginCookie(w, origin)
			pages.render(w, http.StatusOK, "confirm.html", "Run the flow?", q)
			return
		}
		rec := &recorder{}
		ctx, cancel := context.WithTimeout(withRecorder(r.Context(), rec), pageBudget(cfg.Timeout))
		defer cancel()
		v := &resultsView{Workspace: q.Workspace, WorkspaceSource: "chosen on this page", redact: client.Tokens().Redact}
		defer func() { // whatever happened, show it
			if v.known == nil {
				v.known = disc.known(v.token)
			}
			v.fill(cfg, rec.list(), now())
			for _, s := range v.failures() {
				logger.Warn("step failed", "error", s.logText)
			}
			pages.render(w, v.status(), "results.html", "Results: token and repositories", v)
		}()

		// Steps 2 and 3: the access token, cached across page loads.
		tok, origin, err := client.Tokens().Get(ctx)
		v.token, v.origin = tok, origin
		if err != nil {
			v.TokenError = explain(ctx, err)
			return
		}

		// Which workspace: the page's, BITBUCKET_WORKSPACE, or the first the
		// token can reach (asked once per token: discovery is best effort).
		if v.Workspace == "" && cfg.Workspace != "" {
			v.Workspace, v.WorkspaceSource = cfg.Workspace, "from BITBUCKET_WORKSPACE"
		}
		if v.Workspace == "" {
			list, err := disc.run(ctx, client, tok)
			v.known = list
			if err != nil {
				v.DiscoveryError = explain(ctx, err)
				return
			}
			if len(list) == 0 {
				return // the page says to set BITBUCKET_WORKSPACE
			}
			v.Workspace, v.WorkspaceSource = list[0].Slug, "the first the token can reach"
		}

		// Step 4: the workspace's details and a page of its repositories.
		// Neither needs the other, so they run at once: one round trip.
		ws := url.PathEscape(v.Workspace)
		query := url.Values{"pagelen": {fmt.Sprint(perPage)}, "sort": {"-updated_on"}}
		if q.Page != "" {
			query.Set("page", q.Page) // as Bitbucket's own next link had it
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			v.WorkspaceError = call(ctx, logger, func() error { return client.Get(ctx, "/workspaces/"+ws, nil, &v.workspace) })
		})
		wg.Go(func() {
			v.ReposError = call(ctx, logger, func() error { return client.Get(ctx, "/repositories/"+ws, query, &v.repos) })
		})
		wg.Wait()
	})
}

// call runs one API call and explains its failure. A panic in it becomes a
// failed step: net/http recovers panics only in the handler's own goroutine,
// and one in another goroutine would end the process.
func call(ctx context.Context, logger *slog.Logger, f func() error) (failed *stepView) {
	defer func() {
		if p := recover(); p != nil {
			logger.Error("panic in an API call", "panic", clip(fmt.Sprint(p), 300), "stack", string(debug.Stack()))
			failed = &stepView{Step: "The API call", Message: "The app failed while making this call; the log has the details.",
				logText: "panic"}
		}
	}()
	if err := f(); err != nil {
		return explain(ctx, err)
	}
	return nil
}

// pageBudget bounds one results page's calls to Bitbucket: the token
// request, the workspace listing and the concurrent API round, each up to
// the timeout, plus one retry after a 401.
func pageBudget(timeout time.Duration) time.Duration { return 4 * timeout }

// discovery remembers, per token, which workspaces GET /2.0/user/workspaces
// listed, or that it failed. Since May 2026 a client-credentials token acts
// as an app_user, and Bitbucket does not document what this endpoint does
// for one: it may refuse. Asking again on every page load would cost a call
// (and, after a 401, a token request) each time.
type discovery struct {
	mu   sync.Mutex // held while listing: concurrent page loads wait for one
	tok  *oauth2.Token
	list []workspaceRef
	err  error
}

type workspaceRef struct{ Slug, UUID string }

// workspaceAccess is an item of GET /2.0/user/workspaces. Its
// "administrator" is left out: a boolean in examples, a string in the spec,
// and the app does not show it. Decode only what you use.
type workspaceAccess struct {
	Workspace struct {
		UUID string `json:"uuid"`
		Slug string `json:"slug"`
	} `json:"workspace"`
}

// known returns what was listed with tok, if anything.
func (d *discovery) known(tok *oauth2.Token) []workspaceRef {
	d.mu.Lock()
	defer d.mu.Unlock()
	if tok == nil || d.tok != tok {
		return nil
	}
	return d.list
}

func (d *discovery) run(ctx context.Context, client *bitbucket.Client, tok *oauth2.Token) ([]workspaceRef, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tok == tok {
		return d.list, d.err
	}
	// sort=slug: without a sort, Bitbucket's pages may repeat or skip items.
	query := url.Values{"sort": {"slug"}, "pagelen": {"100"}}
	items, err := bitbucket.List[workspaceAccess](ctx, client, "/user/workspaces", query, maxWorkspaces)
	var list []workspaceRef
	for _, a := range items {
		if config.WorkspaceID.MatchString(a.Workspace.Slug) { // upstream data is checked before it names a path
			list = append(list, workspaceRef{Slug: a.Workspace.Slug, UUID: a.Workspace.UUID})
		}
	}
	var e *bitbucket.Error
	if err != nil && (!errors.As(err, &e) || e.Status == 0) {
		return list, err // no answer: not worth remembering
	}
	// A 401 may have replaced tok: remember under the token in use now.
	if cur, _, err := client.Tokens().Get(ctx); err == nil {
		tok = cur
	}
	d.tok, d.list, d.err = tok, list, err
	return list, err
}

// badInput is a message for the person who sent the request, shown on the
// 400 page as it is.
type badInput string

func (b badInput) Error() string { return string(b) }

type resultsQuery struct {
	Workspace string
	Page      string // Bitbucket's own page value: a number or an opaque cursor
}

// pageValue is what the page links carry from Bitbucket's next and
// previous, as it is ("clients are not expected to construct URLs
// themselves"): a number or an opaque cursor, never one the app computed.
// The app sends it back with the same sort and pagelen, which next keeps.
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

// handleStatic serves the embedded CSS, script and diagrams. Folders and
// missing files get the app's 404 page rather than a listing.
func handleStatic(static fs.FS, pages *renderer) http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/static/")
		if fi, err := fs.Stat(static, name); err != nil || fi.IsDir() {
			pages.errorPage(w, http.StatusNotFound, "There is no such file.")
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})
}

func handleNotFound(pages *renderer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pages.errorPage(w, http.StatusNotFound, "There is no page at this address.")
	})
}

func handleMethodNotAllowed(pages *renderer, allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		pages.errorPage(w, http.StatusMethodNotAllowed, "This address answers only "+allow+".")
	})
}
