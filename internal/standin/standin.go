// Package standin is a local stand-in for Bitbucket Cloud: its OAuth 2.0 token
// endpoint and the few REST API 2.0 endpoints the sample app calls.
//
// It exists so that a newcomer can see the whole client credentials flow with
// no Bitbucket account (the app's demo mode), and so that the tests can check
// the app's requests the way Bitbucket would and inject faults (latency,
// errors, hostile data). It is not code to copy into your project.
//
// What it imitates, and how, follows ../shared/bitbucket-facts.md:
//
//   - POST /site/oauth2/access_token: HTTP Basic client authentication (the key
//     and secret query-unescaped, as golang.org/x/oauth2 escapes them), a form
//     body with grant_type=client_credentials, the 2026 token shape
//     ({"access_token","scope","expires_in":7200,"token_type":"bearer"}) and
//     Bitbucket's flat {"error","error_description"} bodies for failures.
//   - GET /2.0/workspaces/{workspace}, GET /2.0/repositories/{workspace}
//     (paginated) and GET /2.0/user/workspaces, with Bearer-only
//     authentication, Bitbucket's nested {"type":"error"} bodies, 404s for
//     unknown workspaces and routes, and 410 for the endpoints removed in 2026.
//
// How it differs from Bitbucket is listed in the README.
package standin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The demo consumer. The app uses these in demo mode; they are not secrets.
const (
	DemoKey    = "demo-consumer-key-4f2a"
	DemoSecret = "demo-consumer-secret-9c7e1b3d5a"
)

// DefaultScopes are the scopes of the demo consumer: the permissions
// Account: Read, Workspace membership: Read and Repositories: Read.
const DefaultScopes = "account repository team"

// Fault is a switch that makes an endpoint misbehave the way Bitbucket (or
// the network in front of it) sometimes does.
type Fault string

// Faults of the token endpoint.
const (
	NoFault            Fault = ""
	TokenServerError   Fault = "token-server-error"    // 503 with an HTML body
	TokenErrorIn200    Fault = "token-error-in-200"    // 200 whose JSON has "error"
	TokenNoAccessToken Fault = "token-no-access-token" // 200 without "access_token"
	TokenMalformedJSON Fault = "token-malformed-json"  // 200, truncated JSON
	TokenHTML          Fault = "token-html"            // 200 with an HTML page
	TokenNoExpiresIn   Fault = "token-no-expires-in"   // a token without "expires_in"
	TokenNotPrivate    Fault = "token-not-private"     // the consumer is not marked private
	TokenLegacyShape   Fault = "token-legacy-shape"    // the pre-2026 shape: "scopes", a refresh_token, "state"
)

// Faults of the API endpoints.
const (
	APIExpiredToken Fault = "api-expired-token" // 401 "Access token expired." on every call
	APIMissingScope Fault = "api-missing-scope" // 403 as if the consumer lacked the scope
	APIRateLimited  Fault = "api-rate-limited"  // 429 text/plain, no Retry-After
	APIServerError  Fault = "api-server-error"  // 500
	APIMalformed    Fault = "api-malformed"     // 200 with truncated JSON
	APIHugeBody     Fault = "api-huge-body"     // 200 with a body of several MiB
	APIHostileData  Fault = "api-hostile-data"  // names and links carrying HTML, script and javascript: URLs
	APIRemoved      Fault = "api-removed"       // 410, as for the endpoints Bitbucket removed in 2026
)

// Hang makes an endpoint wait until the client gives up, to test timeouts.
const Hang Fault = "hang"

// Endpoint names an endpoint, for faults.
type Endpoint string

// The endpoints a fault can be set on.
const (
	TokenEndpoint   Endpoint = "token"
	WorkspaceAPI    Endpoint = "workspace"       // GET /2.0/workspaces/{workspace}
	RepositoriesAPI Endpoint = "repositories"    // GET /2.0/repositories/{workspace}
	UserWorkspaces  Endpoint = "user-workspaces" // GET /2.0/user/workspaces
)

// Options configure a Server. The zero value is the demo consumer.
type Options struct {
	Key, Secret string           // the consumer; DemoKey and DemoSecret when empty
	Scopes      string           // granted scopes; DefaultScopes when empty
	ExpiresIn   int              // token lifetime in seconds; 7200 when zero
	Now         func() time.Time // the clock that expires tokens; time.Now when nil
	NoRecord    bool             // keep Requests empty: demo mode serves for hours inside the app
}

// Request is what the stand-in saw of one request, for tests to assert on.
type Request struct {
	Method, Path, RawQuery string
	Authorization          string
	ContentType            string
	Form                   url.Values // the parsed body of a token request
}

// Server is the stand-in. It is an http.Handler; use Start to serve it on a
// loopback port, or httptest.NewServer in tests (with ConnState wired in to
// count connections).
type Server struct {
	opts Options

	mu         sync.Mutex
	latency    time.Duration
	faults     map[Endpoint]Fault
	tokens     map[string]issued
	everIssued []string
	requests   []Request
	data       map[string]*workspace
	order      []string // workspace slugs in the order /2.0/user/workspaces lists them

	tokenRequests atomic.Int64
	apiRequests   atomic.Int64
	newConns      atomic.Int64
}

type issued struct {
	expiry time.Time
	scopes []string
}

// New returns a stand-in holding two demo workspaces: "bitbucket-demo", with
// enough repositories for three pages, and "demo-labs".
func New(opts Options) *Server {
	if opts.Key == "" {
		opts.Key = DemoKey
	}
	if opts.Secret == "" {
		opts.Secret = DemoSecret
	}
	if opts.Scopes == "" {
		opts.Scopes = DefaultScopes
	}
	if opts.ExpiresIn == 0 {
		opts.ExpiresIn = 7200
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:   opts,
		faults: map[Endpoint]Fault{},
		tokens: map[string]issued{},
	}
	s.data, s.order = demoData()
	return s
}

// Start serves the stand-in on a free loopback port until the returned stop
// function is called. It returns the base URL, such as http://127.0.0.1:40123.
func (s *Server) Start() (baseURL string, stop func() error, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("stand-in: %w", err)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ConnState:         s.ConnState,
	}
	go srv.Serve(ln) //nolint:errcheck // Serve returns ErrServerClosed after Close.
	return "http://" + ln.Addr().String(), srv.Close, nil
}

// ConnState counts new connections; set it as http.Server.ConnState.
func (s *Server) ConnState(_ net.Conn, state http.ConnState) {
	if state == http.StateNew {
		s.newConns.Add(1)
	}
}

// SetLatency delays every response by d, as a distant server would.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetFault makes endpoint e misbehave as f until it is set to NoFault.
func (s *Server) SetFault(e Endpoint, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[e] = f
}

// RevokeTokens forgets every token issued so far, as if they had been
// revoked: the API answers 401 to them.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// SetScopes changes the scopes granted to tokens issued from now on.
func (s *Server) SetScopes(scopes string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Scopes = scopes
}

// SetExpiresIn changes the lifetime, in seconds, of tokens issued from now on.
func (s *Server) SetExpiresIn(seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.ExpiresIn = seconds
}

// TokenRequests counts requests to the token endpoint.
func (s *Server) TokenRequests() int { return int(s.tokenRequests.Load()) }

// APIRequests counts requests to /2.0/.
func (s *Server) APIRequests() int { return int(s.apiRequests.Load()) }

// NewConns counts TCP connections opened to the stand-in (needs ConnState).
func (s *Server) NewConns() int { return int(s.newConns.Load()) }

// IssuedTokens returns every access token issued so far, revoked or not,
// for tests that assert none of them leaks.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.everIssued...)
}

// Requests returns a copy of every request seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ServeHTTP routes a request the way bitbucket.org and api.bitbucket.org
// would, both on one host.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{
		Method:        r.Method,
		Path:          r.URL.Path,
		RawQuery:      r.URL.RawQuery,
		Authorization: r.Header.Get("Authorization"),
		ContentType:   r.Header.Get("Content-Type"),
	}
	// Count on arrival, so a test can wait for a request to be in flight.
	path := r.URL.Path
	isToken, isAPI := path == "/site/oauth2/access_token", strings.HasPrefix(path, "/2.0/")
	switch {
	case isToken:
		s.tokenRequests.Add(1)
	case isAPI:
		s.apiRequests.Add(1)
	}

	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}

	switch {
	case isToken:
		s.serveToken(w, r, &rec)
	case isAPI:
		s.record(rec)
		s.serveAPI(w, r)
	default:
		s.record(rec)
		s.serveRepoPage(w, r)
	}
}

func (s *Server) record(rec Request) {
	if s.opts.NoRecord {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
}

func (s *Server) fault(e Endpoint) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults[e]
}

// hang waits until the client goes away (or a minute passes).
func hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(time.Minute):
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client may have gone
}

// tokenError writes Bitbucket's flat OAuth error body.
func tokenError(w http.ResponseWriter, code, description string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": description})
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, rec *Request) {
	defer func() { s.record(*rec) }()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request", "error_description": "Method not allowed"})
		return
	}
	// Bitbucket reads a form body; anything else leaves grant_type unset.
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err == nil {
			rec.Form = r.PostForm
		}
	}

	switch f := s.fault(TokenEndpoint); f {
	case Hang:
		hang(r)
		return
	case TokenServerError:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "<html><body><h1>Service Unavailable</h1></body></html>")
		return
	case TokenHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!DOCTYPE html><html><head><title>Log in</title></head><body>Log in to Bitbucket</body></html>")
		return
	case TokenMalformedJSON:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token": "abc`)
		return
	case TokenErrorIn200:
		writeJSON(w, http.StatusOK, map[string]string{"error": "server_error", "error_description": "The token service is temporarily unavailable"})
		return
	case TokenNoAccessToken:
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "bearer", "expires_in": 7200, "scope": s.opts.Scopes})
		return
	}

	// Client authentication: HTTP Basic only.
	user, pass, ok := r.BasicAuth()
	if !ok {
		tokenError(w, "unauthorized_client", "Requests must be authenticated using OAuth client credentials")
		return
	}
	// RFC 6749 §2.3.1: the client form-encodes key and secret before Basic
	// encoding them, and golang.org/x/oauth2 does so.
	key, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil ||
		subtle.ConstantTimeCompare([]byte(key), []byte(s.opts.Key)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.Secret)) != 1 {
		tokenError(w, "unauthorized_client", "Invalid OAuth client credentials")
		return
	}
	switch grant := rec.Form.Get("grant_type"); grant {
	case "client_credentials":
	case "":
		tokenError(w, "invalid_grant", "Unsupported grant type: None")
		return
	default:
		tokenError(w, "invalid_grant", "Unsupported grant type: "+grant)
		return
	}
	if s.fault(TokenEndpoint) == TokenNotPrivate {
		tokenError(w, "invalid_grant", `Cannot use client_credentials with a consumer marked as "public". Calls for auto generated consumers should use urn:bitbucket:oauth2:jwt instead.`)
		return
	}

	s.mu.Lock()
	scopes, expiresIn := s.opts.Scopes, s.opts.ExpiresIn
	token := newToken()
	s.everIssued = append(s.everIssued, token)
	s.tokens[token] = issued{
		expiry: s.opts.Now().Add(time.Duration(expiresIn) * time.Second),
		scopes: strings.Fields(scopes),
	}
	s.mu.Unlock()

	body := map[string]any{
		"access_token": token,
		"scope":        scopes,
		"expires_in":   expiresIn,
		"token_type":   "bearer",
	}
	switch s.fault(TokenEndpoint) {
	case TokenNoExpiresIn:
		delete(body, "expires_in")
	case TokenLegacyShape:
		delete(body, "scope")
		body["scopes"] = scopes
		body["refresh_token"] = "legacy-refresh-" + newToken()
		body["state"] = "client_credentials"
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body)
}

// newToken makes an opaque token about as long as Bitbucket's.
func newToken() string {
	b := make([]byte, 96)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// apiError writes Bitbucket's nested error body.
func apiError(w http.ResponseWriter, status int, message string, detail any) {
	e := map[string]any{"message": message}
	if detail != nil {
		e["detail"] = detail
	}
	writeJSON(w, status, map[string]any{"type": "error", "error": e})
}

const (
	msgInvalidToken = "Token is invalid, expired, or not supported for this endpoint."
	msgExpiredToken = "Access token expired."
	msgMissingScope = "Your credentials lack one or more required privilege scopes."
	msgDeprecated   = "CHANGE-2770 - Functionality has been deprecated"
	msgNoAPI        = "There is no API hosted at this URL.\n\nFor help using Bitbucket's APIs go to https://developer.atlassian.com/bitbucket"
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
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, "Rate limit for this resource has been exceeded")
		return
	case APIServerError:
		apiError(w, http.StatusInternalServerError, "Something went wrong", nil)
		return
	case APIRemoved:
		apiError(w, http.StatusGone, msgDeprecated, nil)
		return
	}

	authorized, granted := s.authorize(w, r, scope)
	if !authorized {
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
	}

	base := "http://" + r.Host
	switch endpoint {
	case WorkspaceAPI:
		ws, ok := s.workspace(segs[1])
		if !ok {
			apiError(w, http.StatusNotFound, fmt.Sprintf("No workspace with identifier '%s'.", segs[1]), nil)
			return
		}
		v := ws.json(base)
		if fault == APIHostileData {
			v["name"] = `<script>alert("workspace")</script>`
			v["links"] = map[string]any{"html": map[string]string{"href": "javascript:alert(1)"}}
		}
		writeJSON(w, http.StatusOK, v)
	case RepositoriesAPI:
		ws, ok := s.workspace(segs[1])
		if !ok {
			apiError(w, http.StatusNotFound, fmt.Sprintf("No workspace with identifier '%s'.", segs[1]), nil)
			return
		}
		values := make([]any, len(ws.repos))
		for i, repo := range ws.repos {
			v := repo.json(base, ws)
			if fault == APIHostileData {
				v["name"] = `<img src=x onerror=alert(1)>`
				v["description"] = `<script>alert("description")</script>`
				v["links"] = map[string]any{"html": map[string]string{"href": "javascript:alert(1)"}}
			}
			values[i] = v
		}
		s.writePage(w, r, values)
	case UserWorkspaces:
		s.mu.Lock()
		values := make([]any, 0, len(s.order))
		for _, slug := range s.order {
			ws := s.data[slug]
			values = append(values, map[string]any{
				"type":          "workspace_access",
				"administrator": ws.admin,
				"workspace": map[string]any{
					"type": "workspace_base",
					"uuid": ws.uuid,
					"slug": ws.slug,
					"links": map[string]any{
						"self": map[string]string{"href": base + "/2.0/workspaces/" + ws.slug},
						"html": map[string]string{"href": base + "/" + ws.slug + "/"},
					},
				},
			})
		}
		s.mu.Unlock()
		s.writePage(w, r, values)
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

// writePage writes one page of values the way Bitbucket paginates:
// pagelen (default 10, at most 100), page, size, and absolute next and
// previous URLs, next absent on the last page.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, values []any) {
	q := r.URL.Query()
	page, pagelen := 1, 10
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			apiError(w, http.StatusBadRequest, "Invalid page", nil)
			return
		}
		page = n
	}
	if v := q.Get("pagelen"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			apiError(w, http.StatusBadRequest, "Invalid pagelen", nil)
			return
		}
		pagelen = n
	}
	start := min((page-1)*pagelen, len(values))
	end := min(start+pagelen, len(values))
	body := map[string]any{
		"pagelen": pagelen,
		"size":    len(values),
		"page":    page,
		"values":  values[start:end],
	}
	link := func(p int) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		v := url.Values{}
		v.Set("page", strconv.Itoa(p))
		v.Set("pagelen", strconv.Itoa(pagelen))
		u.RawQuery = v.Encode()
		return u.String()
	}
	if end < len(values) {
		body["next"] = link(page + 1)
	}
	if page > 1 {
		body["previous"] = link(page - 1)
	}
	writeJSON(w, http.StatusOK, body)
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

func (s *Server) workspace(slug string) (*workspace, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws, ok := s.data[slug]
	return ws, ok
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
