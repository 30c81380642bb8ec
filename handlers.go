package main

import (
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxPage bounds ?page=: 1,000 pages of 10 is more repositories than any
// workspace a person pages through by hand.
const (
	maxPage = 1000
	perPage = 10
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

// handleLanding serves the page that teaches the grant and shows the
// configuration (the consumer key masked, never the secret).
func handleLanding(pages *renderer, cfg config) http.Handler {
	view := landingView{
		TokenURL:  cfg.TokenURL,
		APIURL:    cfg.APIURL,
		Workspace: cfg.Workspace,
		KeyMasked: mask(cfg.ConsumerKey),
		Timeout:   cfg.Timeout.String(),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pages.render(w, http.StatusOK, "index.html", "Bitbucket Cloud client credentials grant", view)
	})
}

type landingView struct {
	TokenURL, APIURL, Workspace, KeyMasked, Timeout string
}

// handleAuthorize stands where other grants send the browser to Bitbucket's
// consent screen. The client credentials grant has no user and so no
// consent: the app already holds everything it needs to get a token. So
// /authorize goes straight on to /oauth-callback, carrying the query string
// (a workspace or page chosen on the way).
func handleAuthorize(pages *renderer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := "/oauth-callback"
		if r.URL.RawQuery != "" {
			// Carried as it came; /oauth-callback validates it. (A request
			// line cannot hold the CR or LF that could split a header.)
			target += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", target)
		pages.render(w, http.StatusSeeOther, "authorize.html", "Redirecting to /oauth-callback", target)
	})
}

// handleCallback is where the flow happens: get the access token (from the
// cache when it has one), call the API with it, and show what happened.
func handleCallback(bb *bitbucket, cfg config, pages *renderer, logger *slog.Logger, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := parseResultsQuery(r.URL.Query())
		if err != nil {
			pages.errorPage(w, http.StatusBadRequest, err.Error())
			return
		}
		p := bb.newPageLoad()
		v := &resultsView{Page: q.page}
		defer func() { // what the page shows of the flow, whatever happened
			v.fill(p, cfg, now())
			for _, e := range v.errorList() {
				logger.Warn("step failed", e.logAttrs()...)
			}
			w.Header().Set("Cache-Control", "no-store") // the page shows token details
			pages.render(w, v.status(), "results.html", "Results: token and repositories", v)
		}()

		// Steps 2 and 3: the access token.
		tok, serr := p.token()
		if serr != nil {
			v.TokenError = serr
			return
		}

		// Which workspace: the query's, the configuration's, or the first the
		// token can reach (listed once per token lifetime).
		ctx := r.Context()
		v.Workspaces = bb.knownWorkspaces(tok.Gen)
		v.Workspace, v.WorkspaceSource = q.workspace, "chosen on this page"
		if v.Workspace == "" && cfg.Workspace != "" {
			v.Workspace, v.WorkspaceSource = cfg.Workspace, "from the configuration"
		}
		if v.Workspace == "" && v.Workspaces == nil {
			if v.Workspaces, serr = bb.listWorkspaces(ctx, p, tok.Gen); serr != nil {
				v.WorkspacesError = serr
				return
			}
		}
		if v.Workspace == "" {
			if len(v.Workspaces) == 0 {
				return // the page says to set BITBUCKET_WORKSPACE
			}
			v.Workspace, v.WorkspaceSource = v.Workspaces[0], "the first the token can reach"
		}

		// Step 4: the workspace's details and one page of its repositories.
		// Neither depends on the other, so they run concurrently: one
		// round trip instead of two.
		wsPath := "/workspaces/" + url.PathEscape(v.Workspace)
		repoPath := "/repositories/" + url.PathEscape(v.Workspace)
		query := url.Values{"page": {strconv.Itoa(q.page)}, "pagelen": {strconv.Itoa(perPage)}}
		var wg sync.WaitGroup
		wg.Go(func() { v.WorkspaceError = p.get(ctx, wsPath, nil, &v.workspace) })
		wg.Go(func() { v.ReposError = p.get(ctx, repoPath, query, &v.repos) })
		wg.Wait()
	})
}

// badInput is a message for the person who sent the request, shown on
// the 400 page as it is.
type badInput string

func (b badInput) Error() string { return string(b) }

type resultsQuery struct {
	workspace string
	page      int
}

var pageNumber = regexp.MustCompile(`^[1-9][0-9]{0,3}$`)

// parseResultsQuery validates the query before anything uses it. A
// workspace must be a workspace ID, so it can never carry a request to
// another API path.
func parseResultsQuery(q url.Values) (resultsQuery, error) {
	res := resultsQuery{page: 1}
	for name, values := range q {
		if (name == "workspace" || name == "page") && len(values) > 1 {
			return res, badInput("Give " + name + " only once.")
		}
	}
	if ws := q.Get("workspace"); ws != "" {
		if !workspaceSlug.MatchString(ws) {
			return res, badInput("workspace must be a Bitbucket workspace ID (letters, digits, - and _, at most 63) or a {UUID}.")
		}
		res.workspace = ws
	}
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if !pageNumber.MatchString(p) || err != nil || n > maxPage {
			return res, badInput("page must be a whole number from 1 to " + strconv.Itoa(maxPage) + ".")
		}
		res.page = n
	}
	return res, nil
}

// handleStatic serves the embedded CSS and diagram. Folders and missing
// files get the app's 404 page rather than a listing.
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
