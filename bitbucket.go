package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"

	"golang.org/x/oauth2"
)

// maxBody caps how much of an API response the app reads. A page of ten
// repositories is a few kB; nothing Bitbucket sends here comes near 1 MiB,
// and an upstream that sends more must not fill the app's memory.
const maxBody = 1 << 20

// bitbucket calls Bitbucket REST API 2.0 with tokens from the cache.
type bitbucket struct {
	apiURL string // such as https://api.bitbucket.org/2.0, without a trailing slash
	client *http.Client
	tokens *tokenCache

	// The workspaces the token can reach, from GET /2.0/user/workspaces,
	// remembered for as long as the token they were listed with.
	listing    sync.Mutex // held while listing, so that one page load lists for all
	mu         sync.Mutex // guards the two fields below
	listedWith uint64     // cachedToken.Gen of the listing
	workspaces []string
}

// Bitbucket's JSON, trimmed to the fields the app shows.
type (
	link struct {
		Href string `json:"href"`
	}
	workspaceJSON struct {
		UUID      string `json:"uuid"`
		Slug      string `json:"slug"`
		Name      string `json:"name"`
		IsPrivate bool   `json:"is_private"`
		CreatedOn string `json:"created_on"`
		Links     struct {
			HTML link `json:"html"`
		} `json:"links"`
	}
	repositoryJSON struct {
		Name        string `json:"name"`
		FullName    string `json:"full_name"`
		Slug        string `json:"slug"`
		Description string `json:"description"`
		IsPrivate   bool   `json:"is_private"`
		Language    string `json:"language"`
		UpdatedOn   string `json:"updated_on"`
		Links       struct {
			HTML link `json:"html"`
		} `json:"links"`
	}
	workspaceAccessJSON struct {
		Administrator bool `json:"administrator"`
		Workspace     struct {
			Slug string `json:"slug"`
			UUID string `json:"uuid"`
		} `json:"workspace"`
	}
	// pageJSON is Bitbucket's paginated response. next is absent on the
	// last page.
	pageJSON[T any] struct {
		Size     int    `json:"size"`
		Page     int    `json:"page"`
		Pagelen  int    `json:"pagelen"`
		Next     string `json:"next"`
		Previous string `json:"previous"`
		Values   []T    `json:"values"`
	}
)

// pageLoad is one /oauth-callback page load's view of Bitbucket: the token
// it used and the exchanges it made.
type pageLoad struct {
	bb *bitbucket
	tr *trace

	mu  sync.Mutex
	tok tokenResult // the latest token this page load used
}

func (bb *bitbucket) newPageLoad() *pageLoad {
	return &pageLoad{bb: bb, tr: &trace{}}
}

// token gets the access token from the cache. Only the first page load
// after start-up (or after the token nears expiry) makes a token request.
func (p *pageLoad) token() (*cachedToken, *stepError) {
	res, err := p.bb.tokens.get(p.tr)
	if err != nil {
		return nil, tokenFailure(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !res.Fetched && p.tok.Token == nil {
		p.tr.note(fmt.Sprintf("Reused the cached access token (no token request); it expires at %s.",
			res.Token.ExpiresAt.UTC().Format("15:04:05 UTC")))
	}
	if res.Token != p.tok.Token { // a later call reusing the same token changes nothing
		p.tok = res
	}
	return res.Token, nil
}

// get calls GET {apiURL}{path}?{query} with the token and decodes the JSON
// answer into v. When Bitbucket answers 401 (the token expired early or was
// revoked; oauth2.Transport would ignore that), it drops the cached token,
// fetches a new one and retries once.
func (p *pageLoad) get(ctx context.Context, path string, query url.Values, v any) *stepError {
	tok, serr := p.token()
	if serr != nil {
		return serr
	}
	serr = p.bb.getJSON(withTrace(ctx, p.tr), tok, path, query, v)
	if serr == nil || serr.Status != http.StatusUnauthorized {
		return serr
	}
	p.bb.tokens.invalidate(tok)
	p.tr.note("Bitbucket answered 401 to the cached token: the app dropped it, fetched a new one and retried once.")
	if tok, serr = p.token(); serr != nil {
		return serr
	}
	serr = p.bb.getJSON(withTrace(ctx, p.tr), tok, path, query, v)
	if serr != nil && serr.Status == http.StatusUnauthorized {
		serr.Hint = "Bitbucket rejected a freshly issued token too. Check that the consumer still exists and is " +
			"private, and that BITBUCKET_API_URL belongs to the same Bitbucket as BITBUCKET_TOKEN_URL."
	}
	return serr
}

// getJSON makes one authenticated GET and decodes the answer.
func (bb *bitbucket) getJSON(ctx context.Context, tok *cachedToken, path string, query url.Values, v any) *stepError {
	u := bb.apiURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	step := "GET " + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return &stepError{Step: step, Message: "could not build the request", Hint: "Check BITBUCKET_API_URL."}
	}
	req.Header.Set("Accept", "application/json")
	// Bitbucket takes the token only in the Authorization header.
	tok.SetAuthHeader(req)

	resp, err := bb.client.Do(req)
	if err != nil {
		return networkFailure(step, err)
	}
	defer drainAndClose(resp.Body)

	body, err := readCapped(resp.Body, maxBody)
	if err != nil {
		serr := networkFailure(step, err)
		serr.Status = resp.StatusCode
		return serr
	}
	if resp.StatusCode != http.StatusOK {
		return apiFailure(step, resp, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &stepError{Step: step, Status: resp.StatusCode, cause: err,
			Message: "Bitbucket's answer was not the JSON the app expected.",
			Hint:    "Check that BITBUCKET_API_URL points at REST API 2.0 (https://api.bitbucket.org/2.0)."}
	}
	return nil
}

// knownWorkspaces returns the workspaces listed with the token of
// generation gen, or nil.
func (bb *bitbucket) knownWorkspaces(gen uint64) []string {
	bb.mu.Lock()
	defer bb.mu.Unlock()
	if bb.listedWith != gen {
		return nil
	}
	return bb.workspaces
}

// listWorkspaces calls GET /2.0/user/workspaces and remembers the slugs for
// the token's lifetime. Concurrent page loads wait for one listing.
func (bb *bitbucket) listWorkspaces(ctx context.Context, p *pageLoad, gen uint64) ([]string, *stepError) {
	bb.listing.Lock()
	defer bb.listing.Unlock()
	if known := bb.knownWorkspaces(gen); known != nil {
		return known, nil
	}
	var page pageJSON[workspaceAccessJSON]
	query := url.Values{"pagelen": {"100"}}
	if serr := p.get(ctx, "/user/workspaces", query, &page); serr != nil {
		return nil, serr
	}
	slugs := []string{}
	for _, a := range page.Values {
		if workspaceSlug.MatchString(a.Workspace.Slug) { // data from upstream is checked before it names a path
			slugs = append(slugs, a.Workspace.Slug)
		}
	}
	bb.mu.Lock()
	defer bb.mu.Unlock()
	bb.listedWith, bb.workspaces = p.tok.Token.Gen, slugs
	return slugs, nil
}

var errTooLarge = errors.New("response body too large")

// readCapped reads at most limit bytes; a longer body is an error, and the
// rest of it is never read into memory.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, errTooLarge
	}
	return body, nil
}

// drainAndClose reads a little of what is left of a body before closing
// it, so that the connection can be reused (keep-alive). A body with more
// left than that is closed as it is: reconnecting is cheaper than reading it.
func drainAndClose(body io.ReadCloser) {
	io.Copy(io.Discard, io.LimitReader(body, 64<<10)) //nolint:errcheck // best effort
	body.Close()
}

// stepError says which step of the flow failed, what Bitbucket said, and
// what to do about it. Its fields are shown on the page (escaped).
type stepError struct {
	Step        string // "Token request" or "GET /repositories/x"
	Status      int    // Bitbucket's HTTP status; 0 when there was no answer
	Code        string // the OAuth "error" code, for the token request
	Message     string // error_description, or Bitbucket's error message
	Detail      string
	Hint        string // what to do about it
	Timeout     bool
	RetryLater  bool // the problem is likely to pass by itself
	Permissions []string
	cause       error // the Go error, for the log only
}

func (e *stepError) Error() string {
	s := e.Step + ": "
	if e.Status != 0 {
		s += fmt.Sprintf("HTTP %d: ", e.Status)
	}
	if e.Code != "" {
		s += e.Code + ": "
	}
	return s + e.Message
}

// logAttrs is what the log records of a failed step: everything, including
// the Go error behind it. (No credential is ever part of these errors.)
func (e *stepError) logAttrs() []any {
	attrs := []any{"step", e.Step, "status", e.Status, "error", e.Error()}
	if e.cause != nil {
		attrs = append(attrs, "cause", e.cause.Error())
	}
	return attrs
}

// pageStatus is the status of a page whose step failed: 504 when Bitbucket
// did not answer in time, 502 for every other upstream failure.
func (e *stepError) pageStatus() int {
	if e.Timeout {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// tokenFailure explains a failed token request.
func tokenFailure(err error) *stepError {
	const step = "Token request"
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		e := &stepError{Step: step, Code: re.ErrorCode, Message: clip(re.ErrorDescription), cause: err}
		if re.Response != nil {
			e.Status = re.Response.StatusCode
		}
		switch {
		case re.ErrorCode == "unauthorized_client" && strings.Contains(re.ErrorDescription, "must be authenticated"):
			e.Hint = "The request carried no client credentials. Send the key and secret as HTTP Basic " +
				"credentials (AuthStyle: oauth2.AuthStyleInHeader)."
		case re.ErrorCode == "unauthorized_client":
			e.Hint = "Bitbucket does not know this key and secret. Copy them again from Workspace settings → " +
				"OAuth consumers into BITBUCKET_CONSUMER_KEY and BITBUCKET_CONSUMER_SECRET, then restart."
		case re.ErrorCode == "invalid_grant" && strings.Contains(re.ErrorDescription, "public"):
			e.Hint = "Edit the consumer in Workspace settings → OAuth consumers and tick \"This is a private " +
				"consumer\": only private consumers may use the client credentials grant."
		case re.ErrorCode == "invalid_grant":
			e.Hint = "Send grant_type=client_credentials in a form-encoded body (clientcredentials.Config does)."
		case e.Status >= 500:
			e.Message = fmt.Sprintf("Bitbucket's token endpoint failed with HTTP %d.", e.Status)
			e.Hint = "This is on Bitbucket's side: try again in a minute, and see bitbucket.status.atlassian.com."
			e.RetryLater = true
		case re.ErrorCode == "server_error" || re.ErrorCode == "temporarily_unavailable":
			e.Hint = "This is on Bitbucket's side: try again in a minute, and see bitbucket.status.atlassian.com."
			e.RetryLater = true
		case re.ErrorCode != "":
			e.Hint = "Bitbucket refused the token request. Check the consumer's settings and BITBUCKET_TOKEN_URL."
		default:
			e.Message = fmt.Sprintf("The token endpoint answered HTTP %d without an OAuth error.", e.Status)
			e.Hint = "Check that BITBUCKET_TOKEN_URL is " + defaultTokenURL + "."
		}
		return e
	}
	// golang.org/x/oauth2 reports a 200 it cannot use as plain errors.
	msg := err.Error()
	switch {
	case strings.Contains(msg, "server response missing access_token"):
		return &stepError{Step: step, Status: http.StatusOK, cause: err,
			Message: "The token endpoint answered 200 but sent no access_token.",
			Hint:    "Check that BITBUCKET_TOKEN_URL is " + defaultTokenURL + "."}
	case strings.Contains(msg, "oauth2: cannot parse"):
		return &stepError{Step: step, Status: http.StatusOK, cause: err,
			Message: "The token endpoint's answer was not JSON (perhaps a web page).",
			Hint:    "Check that BITBUCKET_TOKEN_URL is " + defaultTokenURL + ", not a page of the website."}
	}
	return networkFailure(step, err)
}

// networkFailure explains a call that got no usable answer.
func networkFailure(step string, err error) *stepError {
	e := &stepError{Step: step, Message: describeNetError(err), cause: err}
	var dns *net.DNSError
	switch {
	case errors.Is(err, errTooLarge):
		e.Message = fmt.Sprintf("The answer was larger than %d bytes; the app stopped reading it.", maxBody)
		e.Hint = "Check that BITBUCKET_API_URL points at Bitbucket's REST API 2.0."
	case isTimeout(err):
		e.Timeout = true
		e.RetryLater = true
		e.Hint = "Bitbucket did not answer in time. Try again; if it keeps happening, check your network " +
			"or raise BITBUCKET_TIMEOUT."
	case errors.As(err, &dns):
		e.Hint = "Check the host name in BITBUCKET_TOKEN_URL and BITBUCKET_API_URL, and your network or proxy."
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Hint = "Nothing listens at that address. Check BITBUCKET_TOKEN_URL and BITBUCKET_API_URL."
	default:
		e.Hint = "Check your network connection and the URLs in the configuration."
		e.RetryLater = true
	}
	return e
}

// describeNetError says in a few words why a call got no answer, without
// the Go error chain (which can be long and is for the log).
func describeNetError(err error) string {
	var dns *net.DNSError
	var tlsErr *tls.CertificateVerificationError
	var opErr *net.OpError
	switch {
	case errors.Is(err, errTooLarge):
		return "response body too large"
	case isTimeout(err):
		return "no answer in time (timed out)"
	case errors.Is(err, context.Canceled):
		return "the request was cancelled"
	case errors.As(err, &dns):
		return fmt.Sprintf("cannot resolve host %q", dns.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		if errors.As(err, &opErr) && opErr.Addr != nil {
			return fmt.Sprintf("connection refused by %s", opErr.Addr)
		}
		return "connection refused"
	case errors.As(err, &tlsErr):
		return "the server's TLS certificate could not be verified"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the connection closed before a complete answer"
	}
	return "the request failed before an answer came back"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// apiFailure explains an API answer other than 200.
func apiFailure(step string, resp *http.Response, body []byte) *stepError {
	e := &stepError{Step: step, Status: resp.StatusCode}
	e.Message, e.Detail, e.Permissions = parseAPIError(resp, body)
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized:
		e.Hint = "Bitbucket did not accept the access token."
	case s == http.StatusForbidden:
		if len(e.Permissions) > 0 {
			e.Hint = "Edit the consumer in Workspace settings → OAuth consumers, tick " +
				strings.Join(e.Permissions, " and ") + ", save, and restart the app: a token keeps the " +
				"permissions it was issued with."
		} else {
			e.Hint = "The consumer's owner may not see this workspace: a consumer reaches only the workspace that owns it."
		}
	case s == http.StatusNotFound && strings.HasPrefix(e.Message, "No workspace"):
		e.Hint = "Check the workspace ID (the part after bitbucket.org/ in your workspace's URL). A consumer " +
			"owned by a personal workspace reaches only that workspace."
	case s == http.StatusNotFound:
		e.Hint = "Check that BITBUCKET_API_URL is " + defaultAPIURL + "."
	case s == http.StatusGone:
		e.Hint = "Bitbucket removed this endpoint (CHANGE-2770). Use GET /2.0/repositories/{workspace} and " +
			"GET /2.0/user/workspaces instead."
	case s == http.StatusTooManyRequests:
		e.RetryLater = true
		e.Hint = "Bitbucket's rate limit for this consumer is used up (1,000 requests an hour for " +
			"/2.0/repositories, counted over a rolling hour). It sends no Retry-After: wait a few minutes " +
			"before reloading, and cache what you fetch."
	case s >= 500:
		e.RetryLater = true
		e.Hint = "This is on Bitbucket's side: try again in a minute, and see bitbucket.status.atlassian.com."
	default:
		e.Hint = "Bitbucket refused the call."
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return e
}

// parseAPIError reads Bitbucket's error body: JSON
// {"type":"error","error":{"message","detail"}}, where detail may be a string
// or an object (for a 403, {"required":[...],"granted":[...]}), or plain text
// (the 429). It also names the consumer permissions a 403 asks for.
func parseAPIError(resp *http.Response, body []byte) (message, detail string, permissions []string) {
	var e struct {
		Error struct {
			Message string          `json:"message"`
			Detail  json.RawMessage `json:"detail"`
		} `json:"error"`
	}
	var required []string
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		message = e.Error.Message
		var s string
		var obj struct {
			Required []string `json:"required"`
		}
		if json.Unmarshal(e.Error.Detail, &s) == nil {
			detail = s
		} else if json.Unmarshal(e.Error.Detail, &obj) == nil {
			required = obj.Required
		}
	} else if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/plain") {
		message = strings.TrimSpace(string(body))
	}
	if len(required) == 0 {
		for _, s := range strings.Split(resp.Header.Get("X-Accepted-OAuth-Scopes"), ",") {
			if s = strings.TrimSpace(s); s != "" {
				required = append(required, s)
			}
		}
	}
	for _, s := range required {
		permissions = append(permissions, permissionName(s))
	}
	return clip(message), clip(detail), permissions
}

// permissionName maps an OAuth scope to the checkbox on the consumer form.
func permissionName(scope string) string {
	names := map[string]string{
		"account":           "Account: Read",
		"account:write":     "Account: Write",
		"email":             "Account: Email",
		"team":              "Workspace membership: Read",
		"team:write":        "Workspace membership: Write",
		"repository":        "Repositories: Read",
		"repository:write":  "Repositories: Write",
		"repository:admin":  "Repositories: Admin",
		"repository:delete": "Repositories: Delete",
		"project":           "Projects: Read",
		"project:admin":     "Projects: Admin",
		"pullrequest":       "Pull requests: Read",
		"pullrequest:write": "Pull requests: Write",
		"pipeline":          "Pipelines: Read",
		"webhook":           "Webhooks: Read and write",
		"snippet":           "Snippets: Read",
		"issue":             "Issues: Read",
		"wiki":              "Wikis: Read and write",
	}
	if n, ok := names[scope]; ok {
		return n
	}
	return fmt.Sprintf("the permission for scope %q", scope)
}

// clip keeps an upstream message to a readable length and valid UTF-8.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "�")
	if utf8.RuneCountInString(s) <= 300 {
		return s
	}
	return string([]rune(s)[:300]) + "…"
}
