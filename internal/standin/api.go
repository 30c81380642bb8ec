package standin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// apiError writes Bitbucket's nested error body. A 401 carries Bitbucket's
// challenge, WWW-Authenticate: Basic realm="Bitbucket.org HTTP" (Atlassian
// KB "Getting 401..."), whatever the reason: Basic, although the API wants a
// Bearer token, and no RFC 6750 error="insufficient_scope" anywhere.
func apiError(w http.ResponseWriter, status int, message string, detail any) {
	e := map[string]any{"message": message}
	if detail != nil {
		e["detail"] = detail
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Bitbucket.org HTTP"`)
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

	// The rest of a CHANGE-2770 answer, as ktrysmt/go-bitbucket#357 shows it.
	detailDeprecated = "Please read the changelog entry for more details."
	change2770URL    = "https://developer.atlassian.com/cloud/bitbucket/changelog#CHANGE-2770"
)

// gone writes the 410 of an endpoint Bitbucket removed in 2026, as
// ktrysmt/go-bitbucket#357 shows it: message, detail and
// data.announcement_url in the error, and data once more at the top.
func gone(w http.ResponseWriter) {
	data := map[string]string{"announcement_url": change2770URL}
	writeJSON(w, http.StatusGone, map[string]any{
		"type":  "error",
		"error": map[string]any{"message": msgDeprecated, "detail": detailDeprecated, "data": data},
		"data":  data,
	})
}

// removed lists the path templates of the endpoints Bitbucket took away in
// 2026 (HTTP 410).
var removed = map[string]bool{
	"/workspaces":                    true,
	"/user/permissions/workspaces":   true,
	"/user/permissions/repositories": true,
	"/repositories":                  true,
}

// credentialType is what X-Credential-Type says for the stand-in's tokens,
// those of an OAuth consumer's client credentials grant. No public source
// shows the value for such a token: the one value seen,
// "apikey" (jenkinsci/bitbucket-branch-source-plugin#414, a 429 in 2021),
// came with no X-OAuth-Scopes header, which an OAuth token's answers carry,
// so it was most likely an app password or a legacy API key, not a Bearer
// token. A public Go client that reads the header expects
// "repo_access_token", "project_access_token", "workspace_access_token" for
// access tokens and "api_token" for API tokens; "oauth2" follows that
// pattern for a token from an OAuth consumer. An inferred value: nothing
// should depend on it.
const credentialType = "oauth2"

// credential is what the API made of a request's Authorization header.
type credential struct {
	scopes  []string // the token's granted scopes
	problem string   // why it is refused (a 401's message); "" for a valid token
	none    bool     // no credential at all: no Authorization header, no ?access_token=
}

// identify checks the Bearer token the way Bitbucket does since May 2026:
// only in the Authorization header, never as ?access_token=. A request with
// no credential at all is marked none: Bitbucket still lists public
// repositories to it (see serveAPI).
func (s *Server) identify(r *http.Request, e Endpoint) credential {
	auth, inQuery := r.Header.Get("Authorization"), r.URL.Query().Has("access_token")
	if auth == "" && !inQuery {
		return credential{problem: msgInvalidToken, none: true}
	}
	if e != "" && s.fault(e) == APIExpiredToken {
		return credential{problem: msgExpiredToken}
	}
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" || inQuery {
		return credential{problem: msgInvalidToken}
	}
	s.mu.Lock()
	tok, known := s.tokens[token]
	now := s.opts.Now()
	s.mu.Unlock()
	switch {
	case !known:
		return credential{problem: msgInvalidToken}
	case !now.Before(tok.expiry):
		return credential{problem: msgExpiredToken}
	}
	return credential{scopes: tok.scopes}
}

// setCredentialHeaders puts on an answer the headers Bitbucket sends on
// every answer of the API, 401s, 403s, 404s, 410s and 429s included
// (jenkinsci/bitbucket-branch-source-plugin#414 shows them on a 429): the
// token's scopes, the scopes the operation needs, the kind of credential,
// and a request count (which "means nothing", Atlassian staff say).
//
// For a request without a valid token (none, unknown, expired) the
// stand-in sends X-OAuth-Scopes and X-Credential-Type with empty values:
// what Bitbucket sends then is not documented, and an empty value keeps
// "on every answer" true while saying that no credential was recognised.
func (s *Server) setCredentialHeaders(w http.ResponseWriter, c credential, required []string) {
	h := w.Header()
	h.Set("X-Accepted-OAuth-Scopes", strings.Join(required, ", "))
	if c.problem != "" {
		h.Set("X-OAuth-Scopes", "")
		h.Set("X-Credential-Type", "")
	} else {
		h.Set("X-OAuth-Scopes", strings.Join(c.scopes, ", "))
		h.Set("X-Credential-Type", credentialType)
	}
	h.Set("X-Request-Count", strconv.FormatInt(s.apiRequests.Load(), 10))
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.TrimPrefix(strings.TrimSuffix(r.URL.Path, "/"), "/2.0/"), "/")
	endpoint, template := routeOf(r.URL.Path)
	required, _ := scopeFor(r.Method, template)
	cred := s.identify(r, endpoint)
	s.setCredentialHeaders(w, cred, required)

	if removed[template] {
		if s.authorize(w, cred, nil) {
			gone(w)
		}
		return
	}
	if endpoint == "" {
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
		gone(w)
		return
	case APIEchoAuth401, APIEchoAuth403:
		echoAuthorization(w, r, fault == APIEchoAuth403, required)
		return
	}

	// Bitbucket lists a workspace's public repositories to anyone: a client
	// that drops its token there gets a short list, not a 401. The faults
	// below that are about a token do not apply to a request without one.
	public := endpoint == RepositoriesAPI && cred.none
	if !public && !s.authorize(w, cred, required) {
		return
	}
	if public && (fault == APITokenNotSupported || fault == APIAuthMechanismRefused || fault == APIMissingScope) {
		fault = ""
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
		if len(required) == 0 {
			required = []string{"account"}
			w.Header().Set("X-Accepted-OAuth-Scopes", "account")
		}
		granted := slices.DeleteFunc(slices.Clone(cred.scopes), func(s string) bool { return slices.Contains(required, s) })
		w.Header().Set("X-OAuth-Scopes", strings.Join(granted, ", "))
		apiError(w, http.StatusForbidden, msgMissingScope, map[string]any{"required": required, "granted": granted})
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
		var ws *workspace
		var ok bool
		if public {
			// Without a credential: any public workspace (which workspaces
			// a consumer reaches does not matter). A private one is hidden,
			// as Bitbucket hides private workspaces from non-members (an
			// inferred answer: the API's is not documented).
			ws, ok = s.workspace(segs[1])
			ok = ok && !ws.private
		} else {
			ws, ok = s.reachableWorkspace(segs[1])
		}
		if !ok {
			apiError(w, http.StatusNotFound, fmt.Sprintf("No workspace with identifier '%s'.", segs[1]), nil)
			return
		}
		repos := ws.repos
		if fault == APIShellData {
			repos = shellRepos
		}
		if public {
			repos = slices.DeleteFunc(slices.Clone(repos), func(r repo) bool { return r.private })
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

// authorize answers 401 to a request without a valid token and 403 to one
// whose token lacks a required scope, and reports whether the request may
// go on. The 403's detail names the missing scopes and the granted ones.
func (s *Server) authorize(w http.ResponseWriter, c credential, required []string) bool {
	if c.problem != "" {
		apiError(w, http.StatusUnauthorized, c.problem, nil)
		return false
	}
	if missing := missingScopes(c.scopes, required); len(missing) > 0 {
		apiError(w, http.StatusForbidden, msgMissingScope, map[string]any{"required": missing, "granted": c.scopes})
		return false
	}
	return true
}

// routeOf names the API endpoint a path is for (for faults; "" for one the
// stand-in does not serve) and its path template as the OpenAPI description
// writes it, without /2.0 ("/repositories/{workspace}"; "" for a path the
// stand-in does not know at all).
func routeOf(path string) (Endpoint, string) {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(path, "/"), "/2.0")
	if !ok {
		return "", ""
	}
	segs := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	switch {
	case removed[rest]:
		return "", rest
	case len(segs) == 2 && segs[0] == "workspaces":
		return WorkspaceAPI, "/workspaces/{workspace}"
	case len(segs) == 2 && segs[0] == "repositories":
		return RepositoriesAPI, "/repositories/{workspace}"
	case rest == "/user/workspaces":
		return UserWorkspaces, "/user/workspaces"
	}
	return "", ""
}

// endpointOf names the API endpoint a request is for, or "".
func endpointOf(r *http.Request) Endpoint {
	e, _ := routeOf(r.URL.Path)
	return e
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
