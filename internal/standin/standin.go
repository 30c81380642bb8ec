// Package standin is a local stand-in for Bitbucket Cloud: its OAuth 2.0 token
// endpoint and the few REST API 2.0 endpoints the sample app calls.
//
// It exists so that a newcomer can see the whole client credentials flow with
// no Bitbucket account (the app's demo mode), and so that the tests can check
// the app's requests the way Bitbucket would and inject faults (latency,
// errors, hostile data). It is not code to copy into your project.
//
// Where a stand-in is more regular than Bitbucket, it hides bugs; so this
// one is as irregular as ../shared/bitbucket-facts.md says Bitbucket is,
// by default where that costs the demo nothing and behind a Fault or a
// setter otherwise. What it imitates, and how:
//
//   - POST /site/oauth2/access_token: HTTP Basic client authentication (the key
//     and secret query-unescaped, as golang.org/x/oauth2 escapes them), a form
//     body with grant_type=client_credentials, the 2026 token shape
//     ({"access_token","scope","expires_in":7200,"token_type":"bearer"}) for
//     a consumer granted Account: Read and Repositories: Read, and
//     Bitbucket's flat {"error","error_description"} bodies for failures;
//     behind faults, the RFC 6749 §5.2 errors the May 2026 changes may bring
//     (invalid_client with 401, invalid_request, unauthorized_client,
//     unsupported_grant_type), the pre-2026 shape, and rate limits.
//   - GET /2.0/workspaces/{workspace}, GET /2.0/repositories/{workspace}
//     (paginated) and GET /2.0/user/workspaces (paginated, items in the
//     spec's workspace_access shape), with Bearer-only authentication,
//     Bitbucket's nested {"type":"error"} bodies, 404s for unknown
//     workspaces and routes, and 410 for the endpoints removed in 2026
//     (CHANGE-2770, with detail and data.announcement_url). A workspace may
//     be named by its {UUID}; answers carry the slug. Like Bitbucket, it
//     lists a public workspace's public repositories to a request with no
//     credential at all: a client that drops its token gets a short list,
//     not a 401.
//   - Objects of real size: repositories with every field and link
//     Bitbucket sends (owner, workspace, project, mainbranch unless empty,
//     parent on a fork, thirteen links including clone links with a user
//     name in them), workspaces with all eight links: a page of 10
//     repositories weighs some 30 kB, as Bitbucket's does. BodyBytes counts
//     what the API has written.
//   - On every answer of the API, 401s to 429s included, the headers
//     X-OAuth-Scopes (the token's scopes), X-Accepted-OAuth-Scopes (what the
//     operation needs), X-Credential-Type ("oauth2", an inferred value;
//     empty, with X-OAuth-Scopes, for a request without a valid token) and
//     X-Request-Count; on every 401, WWW-Authenticate: Basic
//     realm="Bitbucket.org HTTP". The scope an operation needs comes from
//     one function (scopeFor, which reads scopes.Required, the table
//     generated from the OpenAPI description) and granted scopes are
//     checked by one (missingScopes), which applies Bitbucket's
//     implications through scopes.Implied: repository:write, project and
//     pullrequest imply repository, pullrequest:write implies
//     repository:write, repository:admin implies neither.
//   - Pagination: pagelen (10 by default; 0 means the default; above the
//     endpoint's cap, 100 unless SetPagelenCap lowers it, a 400 "Invalid
//     pagelen", as Bitbucket answers above its caps), page, size, absolute
//     next and previous links that keep sort, q, fields and pagelen, and
//     ?sort= (repositories by name, slug, full_name, created_on or
//     updated_on, workspaces by slug, "-" first for descending; other fields
//     are a 400; q is kept, not applied); behind faults, cursor pages
//     with an opaque page, answers without size or pagelen, an empty first
//     page, an order that shifts between pages, and spec-typed strings.
//   - Partial responses: ?fields= cuts every 200 answer (objects and pages)
//     as the spec's narrative says: dotted paths from the root, "+" adds,
//     "-" removes, "*" matches one level, paths through arrays apply to
//     each element, paths that name nothing are ignored. A page asked for
//     without "next" in its fields has no next.
//   - What an app_user token (client credentials since May 2026) may meet:
//     /2.0/user/workspaces refusing it with 401 or 403, and a consumer
//     that reaches only its own workspace (SetReachableWorkspaces).
//   - What stands in between: proxies answering 407 or HTML 401/403/429,
//     redirects to the same or another origin, a body that drips in slower
//     than a client's timeout, and hangs.
//   - Hostile answers for security tests: errors that echo the credentials
//     back, bodies of a MiB or more, very long names and scopes, and names
//     and links carrying HTML, script or shell syntax.
//
// The command in cmd/standin (make standin) serves it on its own, on
// 127.0.0.1:3001 or STANDIN_PORT, and prints the export lines that point a
// client at it.
//
// Each Fault's comment says the exact answer it produces. How the stand-in
// differs from Bitbucket is listed in docs/standin.md.
package standin

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
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
// Account: Read and Repositories: Read, the least the app needs
// (/2.0/user/workspaces needs account, /2.0/repositories/{workspace} needs
// repository, /2.0/workspaces/{workspace} needs none). "team" (Workspace
// membership: Read) exists, but the app needs nothing it grants.
const DefaultScopes = "account repository"

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

	// TokenRateLimited: 429, text/plain "Rate limit for this resource has
	// been exceeded", no Retry-After (as the API's 429).
	TokenRateLimited Fault = "token-rate-limited"
	// TokenInvalidClient: 401 {"error":"invalid_client","error_description":
	// "Invalid client credentials"} with WWW-Authenticate: Basic, whatever
	// the credentials (RFC 6749 §5.2, as the May 2026 changes may answer).
	TokenInvalidClient Fault = "token-invalid-client"
	// TokenNoCallback: 400 {"error":"invalid_request","error_description":
	// "No callback uri defined for the OAuth client."}, after the
	// credentials and grant check out (the consumer has no callback URL).
	TokenNoCallback Fault = "token-no-callback"
	// TokenPublicConsumer: as TokenNotPrivate but in RFC 6749 terms: 400
	// {"error":"unauthorized_client"} with the same description (Cannot use
	// client_credentials with a consumer marked as "public". ...).
	TokenPublicConsumer Fault = "token-public-consumer"
	// TokenUnsupportedGrant: 400 {"error":"unsupported_grant_type",
	// "error_description":"Unsupported grant type: client_credentials"} (the
	// grant sent, or None) once the credentials check out.
	TokenUnsupportedGrant Fault = "token-unsupported-grant"
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

	// APIStringTypes types fields the way the spec's schemas do rather
	// than the way its examples do: "page" of a paginated answer is a
	// string ("1"), and "administrator" of /2.0/user/workspaces items is
	// "true" or "false".
	APIStringTypes Fault = "api-string-types"

	// APITokenNotSupported answers 401 "Token is invalid, expired, or not
	// supported for this endpoint." to every valid token, while the other
	// endpoints accept it: what /2.0/user/workspaces may answer an
	// app_user token.
	APITokenNotSupported Fault = "api-token-not-supported"
	// APIAuthMechanismRefused answers 403 "This API is not accessible by
	// this authentication mechanism" to every valid token: the other
	// answer /2.0/user/workspaces may give an app_user token.
	APIAuthMechanismRefused Fault = "api-auth-mechanism-refused"

	// Pagination as the spec allows it to vary (paginated endpoints only):
	//
	// APICursorPages paginates by cursor: "page" is an opaque URL-safe
	// token (not a number), "size" and "previous" are absent, next carries
	// the next cursor, and ?page= accepts only the stand-in's own cursors
	// (any other value, a number included: 400 "Invalid page").
	APICursorPages Fault = "api-cursor-pages"
	// APINoSizeOrPagelen leaves "size" and "pagelen" out of every page.
	APINoSizeOrPagelen Fault = "api-no-size-or-pagelen"
	// APIEmptyFirstPage makes page 1 empty ("values": []) but with a next;
	// the items come on the pages after it (page n holds what page n-1
	// would), and size still counts them all.
	APIEmptyFirstPage Fault = "api-empty-first-page"
	// APIUnstableOrder cuts each page from a differently rotated order
	// unless ?sort= is given, so that following next repeats some items and
	// skips others (seen on Bitbucket: backstage/backstage#26854).
	APIUnstableOrder Fault = "api-unstable-order"
)

// Hostile faults, for security tests: answers that carry the request's
// credentials back, or data built to break what handles it.
const (
	// TokenEchoRequest: 400 JSON {"error":"invalid_request",
	// "error_description":"Could not process the request. Authorization:
	// Basic <base64 of key:secret>; body: <raw body>"}, whatever the
	// credentials.
	TokenEchoRequest Fault = "token-echo-request"
	// TokenEchoHuge: 400 text/html of about 1 MiB (not JSON) that starts
	// and ends with the request echoed: "Authorization: Basic <base64>"
	// and the raw body.
	TokenEchoHuge Fault = "token-echo-huge"
	// APIEchoAuth401: 401 whose error message, and detail, carry the
	// request's whole Authorization header: "Token is invalid, expired, or
	// not supported for this endpoint. Authorization: Bearer <token>".
	APIEchoAuth401 Fault = "api-echo-auth-401"
	// APIEchoAuth403: 403 whose error message, and detail, carry the
	// request's whole Authorization header: "Your credentials lack one or
	// more required privilege scopes. Authorization: Bearer <token>".
	APIEchoAuth403 Fault = "api-echo-auth-403"

	// APIFlood answers 200 with far more than a page: on
	// /2.0/repositories/{workspace}, about 1 MiB of empty repository objects
	// ({"pagelen":10,"size":349525,"page":1,"values":[{},{},...]}); on
	// /2.0/user/workspaces, 5,000 workspace_access items in one page (size
	// 5000, pagelen 10, no next); on /2.0/workspaces/{workspace}, the
	// workspace with a ~1 MiB "members" array of {}.
	APIFlood Fault = "api-flood"
	// APILongStrings makes names very long: the workspace's name and each
	// repository's name (64 KiB, no spaces) and description (64 KiB of
	// words); on /2.0/user/workspaces each slug gets 8 KiB more.
	APILongStrings Fault = "api-long-strings"
	// TokenLongScope grants, and names in "scope", 4,000 made-up scopes
	// after the real ones (about 80 KiB); the API's X-OAuth-Scopes header
	// then lists them all.
	TokenLongScope Fault = "token-long-scope"

	// APIShellData puts shell syntax where a careless app would paste it
	// into a command line: /2.0/repositories/{workspace} lists repositories
	// whose name, slug, full_name and links (html, clone https
	// "http://demo-user@HOST/WORKSPACE/SLUG.git", clone ssh) carry, raw,
	// "x;touch /tmp/pwned", "$(id)", "`id`", quotes, an option
	// ("--upload-pack=..."), a pipe, a newline and "../"; the workspace's
	// name is "x;touch /tmp/pwned", and /2.0/user/workspaces lists one
	// more workspace with that slug.
	APIShellData Fault = "api-shell-data"
)

// Faults of what stands between the app and Bitbucket, on any endpoint
// (token or API). Their bodies are HTML, not Bitbucket's JSON.
const (
	// ProxyAuthRequired: 407 Proxy Authentication Required, with a
	// Proxy-Authenticate header and an HTML body.
	ProxyAuthRequired Fault = "proxy-auth-required"
	// ProxyUnauthorized: 401 with a WWW-Authenticate: Basic header and an
	// HTML body, as from a gateway that wants its own login.
	ProxyUnauthorized Fault = "proxy-unauthorized"
	// ProxyForbidden: 403 with an HTML "Access Denied" body, as from a web
	// application firewall.
	ProxyForbidden Fault = "proxy-forbidden"
	// ProxyRateLimited: 429 with an HTML body and no Retry-After.
	ProxyRateLimited Fault = "proxy-rate-limited"
)

// Redirect faults, on any endpoint (token or API): Go's http.Client
// follows them, and keeps the Authorization header when the target has the
// same host name, whatever its port.
const (
	// Redirect307OtherOrigin: 307 Temporary Redirect to the same path and
	// query on another origin (see SetRedirectTarget). A client that
	// follows it re-sends the method and body (a token request with its
	// Basic credentials) there.
	Redirect307OtherOrigin Fault = "redirect-307-other-origin"
	// Redirect302OtherOrigin: 302 Found to the same path and query on
	// another origin (see SetRedirectTarget); a client follows it with a
	// GET.
	Redirect302OtherOrigin Fault = "redirect-302-other-origin"
	// RedirectSameOrigin: 307 to the same URL on the same server, with
	// "standin-redirected=1" added to the query; that second request is
	// served normally (the marker is recorded in Requests, not seen by the
	// endpoint).
	RedirectSameOrigin Fault = "redirect-same-origin"
)

// Drip answers 200 (or whatever the endpoint would answer) with the
// headers at once, then the body a few bytes at a time (8 bytes every 100
// ms unless SetDripRate says otherwise), so that the whole body takes
// longer than a client's timeout: a token answer takes about 3 s, a page of
// repositories minutes. It stops when the client goes away; Dripping counts
// the answers still dripping. Any endpoint.
const Drip Fault = "drip"

// redirectMarker marks the second leg of a RedirectSameOrigin.
const redirectMarker = "standin-redirected"

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

	// ExtraWorkspaces adds that many workspaces after the two demo ones
	// (see AddWorkspaces).
	ExtraWorkspaces int
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

	mu          sync.Mutex
	latency     time.Duration
	faults      map[Endpoint]Fault
	tokens      map[string]issued
	everIssued  []string
	requests    []Request
	data        map[string]*workspace
	order       []string         // workspace slugs in the order /2.0/user/workspaces lists them
	reachable   map[string]bool  // the workspace slugs tokens reach; nil: all
	uuids       int              // UUIDs made so far
	cursorKey   []byte           // signs the cursors of APICursorPages
	redirectTo  string           // the other origin of Redirect307OtherOrigin and Redirect302OtherOrigin
	dripBytes   int              // what Drip sends at a time
	dripEvery   time.Duration    // and how often
	pagelenCaps map[Endpoint]int // the largest pagelen each paginated endpoint takes

	tokenRequests atomic.Int64
	apiRequests   atomic.Int64
	newConns      atomic.Int64
	dripping      atomic.Int64
	bodyBytes     atomic.Int64
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
		opts:        opts,
		faults:      map[Endpoint]Fault{},
		tokens:      map[string]issued{},
		pagelenCaps: maps.Clone(defaultPagelenCaps),
	}
	s.dripBytes, s.dripEvery = 8, 100*time.Millisecond
	s.cursorKey = make([]byte, 32)
	rand.Read(s.cursorKey) //nolint:errcheck // crypto/rand.Read never fails
	s.data, s.order = demoData(s.newUUID)
	s.AddWorkspaces(opts.ExtraWorkspaces)
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

// SetPagelenCap sets the largest pagelen endpoint e takes (100 for both
// paginated endpoints unless set): a request for more gets Bitbucket's 400
// "Invalid pagelen", as some of its endpoints answer above their cap (50
// for pull requests). n < 1 puts the default cap back. Without pagelen, a
// page holds 10 items, or n if that is less.
func (s *Server) SetPagelenCap(e Endpoint, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 1 {
		n = defaultPagelenCaps[e]
	}
	s.pagelenCaps[e] = n
}

// SetDripRate sets how fast Drip sends a body: n bytes every d (8 bytes
// every 100 ms by default).
func (s *Server) SetDripRate(n int, every time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dripBytes, s.dripEvery = max(n, 1), max(every, time.Millisecond)
}

// Dripping counts the Drip answers still being sent: it drops back once
// their clients have gone away (or read them to the end).
func (s *Server) Dripping() int { return int(s.dripping.Load()) }

// SetRedirectTarget sets the origin that Redirect307OtherOrigin and
// Redirect302OtherOrigin send clients to, such as the URL of another
// httptest.Server on the same host ("http://127.0.0.1:40124"); the
// request's path and query are appended. Unset, it is the request's host
// name on port 9 (discard), where nothing normally listens.
func (s *Server) SetRedirectTarget(origin string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redirectTo = strings.TrimSuffix(origin, "/")
}

// SetReachableWorkspaces limits what tokens reach to the workspaces with
// the given slugs, as for a consumer owned by a personal workspace since May
// 2026 (it reaches only that workspace): call it with "bitbucket-demo" for
// that mode. /2.0/user/workspaces then lists only those workspaces, and
// /2.0/workspaces/{workspace} and /2.0/repositories/{workspace} answer any
// other workspace (by slug or UUID) with 404 "No workspace with identifier
// 'X'.", the answer for a workspace that does not exist. 404 rather than
// 403 is a choice: the facts list 404 for an unknown workspace and no 403
// for this case, and Bitbucket does not tell a caller what exists beyond its
// reach. With no slugs, tokens reach every workspace again.
func (s *Server) SetReachableWorkspaces(slugs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(slugs) == 0 {
		s.reachable = nil
		return
	}
	s.reachable = map[string]bool{}
	for _, slug := range slugs {
		s.reachable[slug] = true
	}
}

// AddWorkspaces adds n workspaces, listed by /2.0/user/workspaces after
// the ones already there: "extra-workspace-001", "extra-workspace-002" and
// so on, each with two repositories ("service-a", "service-b"),
// administrator on every other one. Tokens reach them unless
// SetReachableWorkspaces says otherwise.
func (s *Server) AddWorkspaces(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	epoch := time.Date(2025, 1, 6, 10, 0, 0, 0, time.UTC)
	for range n {
		i := len(s.order) - 1 // 1 for the first extra workspace
		ws := extraWorkspace(i, epoch.Add(time.Duration(i)*24*time.Hour), s.newUUID)
		s.data[ws.slug] = ws
		s.order = append(s.order, ws.slug)
	}
}

// newUUID makes the next UUID, in braces as Bitbucket writes them. Call it
// with s.mu held, or before s is shared.
func (s *Server) newUUID() string {
	s.uuids++
	return fmt.Sprintf("{6d1f0c2a-%04x-4b7e-9a3c-5e8d2f1b%04x}", s.uuids, s.uuids)
}

// TokenRequests counts requests to the token endpoint.
func (s *Server) TokenRequests() int { return int(s.tokenRequests.Load()) }

// APIRequests counts requests to /2.0/.
func (s *Server) APIRequests() int { return int(s.apiRequests.Load()) }

// BodyBytes counts the bytes of the bodies of every answer to /2.0/ the
// stand-in has written, errors and faults included (not the headers, not
// the token endpoint's): what a client read from the API, for benchmarks.
func (s *Server) BodyBytes() int64 { return s.bodyBytes.Load() }

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
	var endpoint Endpoint
	switch {
	case path == tokenPath:
		s.tokenRequests.Add(1)
		endpoint = TokenEndpoint
	case strings.HasPrefix(path, "/2.0/"):
		s.apiRequests.Add(1)
		endpoint = endpointOf(r)
		if r.Method != http.MethodHead { // a HEAD answer's body is not sent
			w = &countingWriter{ResponseWriter: w, n: &s.bodyBytes}
		}
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

	// The second leg of a RedirectSameOrigin: recorded with the marker,
	// served without it.
	redirected := false
	if q := r.URL.Query(); q.Has(redirectMarker) {
		q.Del(redirectMarker)
		r.URL.RawQuery, redirected = q.Encode(), true
	}
	if endpoint != "" && s.serveInFront(w, r, endpoint, rec, redirected) {
		return
	}
	s.serve(w, r, rec)
}

// tokenPath is the path of the token endpoint.
const tokenPath = "/site/oauth2/access_token"

// serve answers as Bitbucket itself would (with the endpoints' own faults).
func (s *Server) serve(w http.ResponseWriter, r *http.Request, rec Request) {
	switch {
	case r.URL.Path == tokenPath:
		s.serveToken(w, r, &rec)
	case strings.HasPrefix(r.URL.Path, "/2.0/"):
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

// scheme is the scheme the request came in on.
func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// baseURL is the origin the request came to, such as http://127.0.0.1:40123:
// bitbucket.org and api.bitbucket.org in one.
func baseURL(r *http.Request) string { return scheme(r) + "://" + r.Host }

// writeRaw writes a body that is not Bitbucket's JSON: a proxy's page, a
// plain-text 429.
func writeRaw(w http.ResponseWriter, status int, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	fmt.Fprint(w, body) //nolint:errcheck // the client may have gone
}

// countingWriter counts the body bytes written through it.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (Drip flushes).
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client may have gone
}
