package standin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// apiError writes Bitbucket's nested error body.
func apiError(w http.ResponseWriter, status int, message string, detail any) {
	e := map[string]any{"message": message}
	if detail != nil {
		e["detail"] = detail
	}
	writeJSON(w, status, map[string]any{"type": "error", "error": e})
}

const (
	msgInvalidToken     = "Token is invalid, expired, or not supported for this endpoint."
	msgExpiredToken     = "Access token expired."
	msgMissingScope     = "Your credentials lack one or more required privilege scopes."
	msgDeprecated       = "CHANGE-2770 - Functionality has been deprecated"
	msgNotThisMechanism = "This API is not accessible by this authentication mechanism"
	msgNoAPI            = "There is no API hosted at this URL.\n\nFor help using Bitbucket's APIs go to https://developer.atlassian.com/bitbucket"
)

// removed lists the endpoints Bitbucket took away in 2026 (HTTP 410).
var removed = map[string]bool{
	"/2.0/workspaces":                    true,
	"/2.0/user/permissions/workspaces":   true,
	"/2.0/user/permissions/repositories": true,
	"/2.0/repositories":                  true,
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	segs := strings.Split(strings.TrimPrefix(path, "/2.0/"), "/")

	if removed[path] {
		if authorized, _ := s.authorize(w, r, ""); authorized {
			apiError(w, http.StatusGone, msgDeprecated, nil)
		}
		return
	}
	endpoint := endpointOf(r)
	scope, known := scopeNeeded[endpoint] // the scope the endpoint needs, if any
	if !known {
		apiError(w, http.StatusNotFound, "Resource not found", msgNoAPI)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		apiError(w, http.StatusMethodNotAllowed, "Method not allowed", nil)
		return
	}

	fault := s.fault(endpoint)
	switch fault {
	case Hang:
		hang(r)
		return
	case APIRateLimited:
		// Bitbucket's 429 is plain text, with no Retry-After and no
		// X-RateLimit-* headers for OAuth consumers.
		writeRaw(w, http.StatusTooManyRequests, "text/plain; charset=utf-8", "Rate limit for this resource has been exceeded")
		return
	case APIServerError:
		apiError(w, http.StatusInternalServerError, "Something went wrong", nil)
		return
	case APIRemoved:
		apiError(w, http.StatusGone, msgDeprecated, nil)
		return
	case APIEchoAuth401, APIEchoAuth403:
		echoAuthorization(w, r, fault == APIEchoAuth403, scope)
		return
	}

	authorized, granted := s.authorize(w, r, scope)
	if !authorized {
		return
	}
	// What an app_user token (a client credentials token since May 2026)
	// gets from an endpoint that does not serve it is undocumented; these
	// are the two answers the facts name.
	switch fault {
	case APITokenNotSupported:
		apiError(w, http.StatusUnauthorized, msgInvalidToken, nil)
		return
	case APIAuthMechanismRefused:
		apiError(w, http.StatusForbidden, msgNotThisMechanism, nil)
		return
	}
	if fault == APIMissingScope {
		granted = without(granted, scope)
		if scope == "" {
			scope = "account"
		}
		w.Header().Set("X-Accepted-OAuth-Scopes", scope)
		apiError(w, http.StatusForbidden, msgMissingScope, map[string]any{"required": []string{scope}, "granted": granted})
		return
	}
	switch fault {
	case APIMalformed:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"pagelen": 10, "values": [{"name": "trunc`)
		return
	case APIHugeBody:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"pagelen": 10, "values": [], "padding": "`)
		chunk := strings.Repeat("x", 64<<10)
		for range 128 { // 8 MiB
			if _, err := fmt.Fprint(w, chunk); err != nil {
				return
			}
		}
		fmt.Fprint(w, `"}`)
		return
	case APIFlood:
		s.flood(w, r, endpoint)
		return
	}

	base := baseURL(r)
	switch endpoint {
	case WorkspaceAPI:
		ws, ok := s.reachableWorkspace(segs[1])
		if !ok {
			apiError(w, http.StatusNotFound, fmt.Sprintf("No workspace with identifier '%s'.", segs[1]), nil)
			return
		}
		v := ws.json(base)
		if fault == APIHostileData {
			v["name"] = `<script>alert("workspace")</script>`
			v["links"] = map[string]any{"html": map[string]string{"href": "javascript:alert(1)"}}
		}
		switch fault {
		case APILongStrings:
			v["name"] = longName
		case APIShellData:
			v["name"] = shellSyntax[0]
		}
		writeAnswer(w, r, v)
	case RepositoriesAPI:
		ws, ok := s.reachableWorkspace(segs[1])
		if !ok {
			apiError(w, http.StatusNotFound, fmt.Sprintf("No workspace with identifier '%s'.", segs[1]), nil)
			return
		}
		repos := ws.repos
		if fault == APIShellData {
			repos = shellRepos
		}
		values := make([]any, len(repos))
		for i, repo := range repos {
			v := repo.json(base, ws)
			if fault == APIHostileData {
				v["name"] = `<img src=x onerror=alert(1)>`
				v["description"] = `<script>alert("description")</script>`
				v["links"] = map[string]any{"html": map[string]string{"href": "javascript:alert(1)"}}
			}
			if fault == APILongStrings {
				v["name"], v["description"] = longName, longText
			}
			values[i] = v
		}
		s.writePage(w, r, endpoint, values, fault, repositorySort)
	case UserWorkspaces:
		s.mu.Lock()
		values := make([]any, 0, len(s.order))
		for _, slug := range s.order {
			if s.reachable != nil && !s.reachable[slug] {
				continue
			}
			v := s.data[slug].access(base, fault == APIStringTypes)
			if fault == APILongStrings {
				v["workspace"].(map[string]any)["slug"] = slug + "-" + longSlug
			}
			values = append(values, v)
		}
		if fault == APIShellData {
			sh := &workspace{slug: shellSyntax[0], uuid: "{6d1f0c2a-ffff-4b7e-9a3c-5e8d2f1bffff}"}
			values = append(values, sh.access(base, false))
		}
		s.mu.Unlock()
		s.writePage(w, r, endpoint, values, fault, workspaceAccessSort)
	}
}

// authorize checks the Bearer token the way Bitbucket does since May 2026:
// only in the Authorization header, never as ?access_token=. It writes the
// 401 or 403 itself and reports whether the request may go on.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, scope string) (bool, []string) {
	if s.fault(endpointOf(r)) == APIExpiredToken {
		apiError(w, http.StatusUnauthorized, msgExpiredToken, nil)
		return false, nil
	}
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" || r.URL.Query().Has("access_token") {
		apiError(w, http.StatusUnauthorized, msgInvalidToken, nil)
		return false, nil
	}
	s.mu.Lock()
	tok, known := s.tokens[token]
	now := s.opts.Now()
	s.mu.Unlock()
	if !known {
		apiError(w, http.StatusUnauthorized, msgInvalidToken, nil)
		return false, nil
	}
	if !now.Before(tok.expiry) {
		apiError(w, http.StatusUnauthorized, msgExpiredToken, nil)
		return false, nil
	}
	w.Header().Set("X-OAuth-Scopes", strings.Join(tok.scopes, ", "))
	if scope != "" && !contains(tok.scopes, scope) {
		w.Header().Set("X-Accepted-OAuth-Scopes", scope)
		apiError(w, http.StatusForbidden, msgMissingScope, map[string]any{"required": []string{scope}, "granted": tok.scopes})
		return false, nil
	}
	return true, tok.scopes
}

// scopeNeeded lists the API endpoints the stand-in serves and the scope
// each needs (GET /2.0/workspaces/{workspace} needs none beyond a token).
var scopeNeeded = map[Endpoint]string{
	WorkspaceAPI:    "",
	RepositoriesAPI: "repository",
	UserWorkspaces:  "account",
}

// endpointOf names the API endpoint a request is for, or "".
func endpointOf(r *http.Request) Endpoint {
	segs := strings.Split(strings.TrimPrefix(strings.TrimSuffix(r.URL.Path, "/"), "/2.0/"), "/")
	switch {
	case len(segs) == 2 && segs[0] == "workspaces":
		return WorkspaceAPI
	case len(segs) == 2 && segs[0] == "repositories":
		return RepositoriesAPI
	case r.URL.Path == "/2.0/user/workspaces":
		return UserWorkspaces
	}
	return ""
}

// writeAnswer writes a 200 answer of the API, cut down by the request's
// fields parameter if it has one (see applyFields). Of several fields
// parameters the last counts (Bitbucket does not say; an inferred choice).
func writeAnswer(w http.ResponseWriter, r *http.Request, v map[string]any) {
	if all := r.URL.Query()["fields"]; len(all) > 0 && all[len(all)-1] != "" {
		v = applyFields(decoded(v), all[len(all)-1])
	}
	writeJSON(w, http.StatusOK, v)
}

// decoded returns v as encoding/json would decode it (objects as
// map[string]any, arrays as []any): the form applyFields walks.
func decoded(v map[string]any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the stand-in's own answers always encode
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// serveRepoPage answers the html links of repositories and workspaces, so
// that the demo's links lead somewhere.
func (s *Server) serveRepoPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if _, ok := s.workspace(segs[0]); !ok || len(segs) > 2 {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintln(w, "Not found in the local Bitbucket stand-in.")
		return
	}
	fmt.Fprintf(w, "%s lives only in the sample app's local Bitbucket stand-in (demo mode).\n"+
		"With a real consumer, this link leads to the repository on bitbucket.org.\n", strings.Join(segs, "/"))
}

// workspace finds a workspace by its slug or, as Bitbucket allows wherever
// a path takes a workspace, by its UUID in braces ("{...}", which arrives
// URL-escaped as %7B...%7D and is unescaped in r.URL.Path). UUIDs compare
// without regard to case.
func (s *Server) workspace(id string) (*workspace, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(id, "{") && strings.HasSuffix(id, "}") {
		for _, ws := range s.data {
			if strings.EqualFold(ws.uuid, id) {
				return ws, true
			}
		}
		return nil, false
	}
	ws, ok := s.data[id]
	return ws, ok
}

// reachableWorkspace finds a workspace the token may see. One it may not
// see gets the same 404 as one that does not exist (see
// SetReachableWorkspaces).
func (s *Server) reachableWorkspace(id string) (*workspace, bool) {
	ws, ok := s.workspace(id)
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reachable != nil && !s.reachable[ws.slug] {
		return nil, false
	}
	return ws, true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func without(list []string, s string) []string {
	out := []string{}
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}
