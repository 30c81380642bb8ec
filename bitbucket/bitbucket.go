// Package bitbucket gets OAuth 2.0 access tokens from Bitbucket Cloud with
// the client credentials grant and calls Bitbucket REST API 2.0 with them,
// with only the standard library and golang.org/x/oauth2. Make one Client
// per process, at start-up, and share it:
//
//	client := bitbucket.NewClient(bitbucket.Config{Key: key, Secret: secret})
//	err := client.Get(ctx, "/repositories/my-workspace", nil, &page)
//
// Examples: ExampleClient_Get, ExampleAll, ExampleClient_HTTPClient (for code
// that takes an *http.Client), ExampleClient_Tokens and Example_handler.
package bitbucket

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Bitbucket Cloud's endpoints, and the bound on each request when Config.HTTPClient sets no timeout.
const (
	DefaultTokenURL = "https://bitbucket.org/site/oauth2/access_token" // the token endpoint
	DefaultAPIURL   = "https://api.bitbucket.org/2.0"                  // REST API 2.0
	DefaultTimeout  = 10 * time.Second

	renewMargin    = time.Minute     // a token is renewed this long before it expires (or half way through a shorter life)
	failureBackoff = 5 * time.Second // a failed token request is every caller's answer for this long
	maxBody        = 1 << 20         // a page of repositories is a few kB: an answer must not fill the memory
	maxPages       = 100             // All reads no more, whatever next says
)

// ErrTooLarge is an answer longer than 1 MiB.
var ErrTooLarge = errors.New("the answer is longer than 1 MiB")

// Config is an OAuth consumer's settings. Only Key and Secret are required.
type Config struct {
	Key        string       // the consumer's key: OAuth's client_id
	Secret     string       // the consumer's secret: OAuth's client_secret
	TokenURL   string       // DefaultTokenURL when empty
	APIURL     string       // DefaultAPIURL when empty
	HTTPClient *http.Client // its Transport and Timeout (DefaultTimeout if none) are used, not its redirect rule
}

// Client calls the API with its TokenSource's tokens, safe for concurrent use.
type Client struct {
	api    *url.URL
	tokens *TokenSource
	http   *http.Client
}

// NewClient returns a client for cfg, with its own TokenSource.
func NewClient(cfg Config) *Client {
	hc := *cmp.Or(cfg.HTTPClient, &http.Client{})   // a copy: the caller's client stays as it was
	hc.Timeout = cmp.Or(hc.Timeout, DefaultTimeout) // with none, a stuck server would hang the caller for ever
	hc.CheckRedirect = sameOrigin
	tokenURL := cmp.Or(cfg.TokenURL, DefaultTokenURL)
	// x/oauth2 form-encodes the key and secret before Basic-encoding them (RFC 6749 §2.3.1).
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(cfg.Key) + ":" + url.QueryEscape(cfg.Secret)))
	tokens := &TokenSource{client: hc, request: "POST " + tokenURL, secrets: []string{basic, url.QueryEscape(cfg.Secret), cfg.Secret, "", ""},
		conf: clientcredentials.Config{ClientID: cfg.Key, ClientSecret: cfg.Secret, TokenURL: tokenURL,
			// Bitbucket takes the key and secret as HTTP Basic credentials: the
			// default, auto-detection, would retry in the form body and report
			// that misleading error. No Scopes: the consumer's ticks decide.
			AuthStyle: oauth2.AuthStyleInHeader}}
	api, err := url.Parse(strings.TrimSuffix(cmp.Or(cfg.APIURL, DefaultAPIURL), "/"))
	if err != nil {
		api = &url.URL{Path: cfg.APIURL} // every call then fails, saying why
	}
	hc.Transport = &transport{next: cmp.Or(hc.Transport, http.DefaultTransport), tokens: tokens, api: origin(api), refusing: map[string]time.Time{}}
	return &Client{api: api, tokens: tokens, http: &hc}
}

// Tokens is the client's token source.
func (c *Client) Tokens() *TokenSource { return c.tokens }

// HTTPClient returns an *http.Client like Get's, for code that takes one: it
// adds the token to requests for the API's origin (no other), retries once after
// a 401 (if the body can be sent again), times out, and stays on origin.
func (c *Client) HTTPClient() *http.Client { return c.http }

// Get decodes the JSON answer of GET {APIURL}{path}?{query} into v. Escape
// what you put in path (url.PathEscape). Errors are *Error.
func (c *Client) Get(ctx context.Context, path string, query url.Values, v any) error {
	u := c.api.JoinPath(path)
	u.RawQuery = query.Encode()
	return c.get(ctx, u, v)
}

func (c *Client) get(ctx context.Context, u *url.URL, v any) error {
	e := &Error{Request: "GET " + u.EscapedPath()}
	ctx, cancel := context.WithTimeout(ctx, c.http.Timeout) // a deadline: for a Transport it does not know (ours), http.Client spends a goroutine and a timer per request on Timeout
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return c.tokens.fail(e, err)
	}
	req.Header.Set("Accept", "application/json")
	untimed := http.Client{Transport: c.http.Transport, CheckRedirect: c.http.CheckRedirect, Jar: c.http.Jar}
	resp, err := untimed.Do(req)
	if errors.As(err, &e) { // the token request failed
		return e
	} else if err != nil {
		return c.tokens.fail(e, err)
	}
	defer resp.Body.Close()
	body := bytes.NewBuffer(make([]byte, 0, min(max(resp.ContentLength, 0), maxBody)+bytes.MinRead)) // one allocation when the length is known (not for gzip, which net/http inflates)
	if _, err = body.ReadFrom(io.LimitReader(resp.Body, maxBody+1)); err == nil && body.Len() <= maxBody && resp.StatusCode == http.StatusOK {
		if err = json.Unmarshal(body.Bytes(), v); err == nil {
			return nil // a success keeps no header: scrubbing them is for failures
		}
		e.Message, e.Body = "the answer was not the JSON expected", c.tokens.scrub(body.String())
	}
	e.Status, e.Header = resp.StatusCode, c.tokens.scrubHeader(resp.Header)
	if err == nil && body.Len() > maxBody {
		err = ErrTooLarge
	} else if err == nil && resp.StatusCode != http.StatusOK {
		e.parse(c.tokens.scrub(body.String()))
	}
	return c.tokens.fail(e, err)
}

// Page is one page of a collection: Bitbucket promises only values and
// next (absent on the last page; follow it as it is). Add the fields you use.
type Page[T any] struct {
	Values []T    `json:"values"`
	Next   string `json:"next"`
}

// All yields every value of the collection at path, following next only on
// the API's origin, where the token may go. Stopped before the end (a failed
// page, a next elsewhere, 100 pages), it yields an error: never a silent part.
func All[T any](ctx context.Context, c *Client, path string, query url.Values) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		u := c.api.JoinPath(path)
		u.RawQuery = query.Encode()
		for pages := 1; ; pages++ {
			var page Page[T]
			err := c.get(ctx, u, &page)
			for _, v := range page.Values {
				if err == nil && !yield(v, nil) {
					return
				}
			}
			next, perr := u.Parse(page.Next) // a relative next resolves against this page
			switch {
			case err != nil:
			case page.Next == "":
				return
			case perr != nil || origin(next) != origin(c.api):
				err = &Error{Request: "GET " + u.EscapedPath(), Status: 200, Message: c.tokens.scrub("stopped: next leaves the API: " + page.Next)}
			case pages == maxPages:
				err = &Error{Request: "GET " + u.EscapedPath(), Status: 200, Message: "stopped after 100 pages: the list goes on"}
			default:
				u = next
				continue
			}
			yield(*new(T), err) // the zero T
			return
		}
	}
}

// Error is a failed token request or API call. Its text comes from the answer,
// bounded, without the secret or a token as sent: escape it where you show it.
type Error struct {
	Request  string      // "POST" and the token URL, or "GET" and the API path, such as "GET /2.0/repositories/my-team"
	Status   int         // the HTTP status; 0 when no answer came back
	Header   http.Header // the answer's headers (Retry-After, X-Accepted-OAuth-Scopes, …), if any
	Code     string      // the token endpoint's OAuth error, such as "unauthorized_client"
	Message  string      // the token endpoint's error_description, or the API's error.message
	Detail   string      // the API's error.detail, when it is text
	Required []string    // the scopes a 403 asks for: detail.required, else X-Accepted-OAuth-Scopes
	Granted  []string    // the scopes a 403 says the token has: detail.granted
	Body     string      // the start of an answer that was not the JSON expected
	Err      error       // the cause, for errors.Is and errors.As; its text may repeat the answer
	cause    string      // Err's text, cleaned
}

// Error says what failed, with the answer's text.
func (e *Error) Error() string {
	status := ""
	if e.Status != 0 {
		status = fmt.Sprintf("HTTP %d", e.Status)
	}
	parts := []string{e.Request + ":", status, e.Code, e.Message, e.Detail, e.Body, e.cause}
	return strings.Join(slices.DeleteFunc(parts, func(p string) bool { return p == "" }), " ")
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// parse reads {"type": "error", "error": {"message", "detail"}}, where detail is
// text or a 403's {"required", "granted"}, or else a 429's text, a proxy's page.
func (e *Error) parse(body string) {
	var j struct {
		Error struct{ Message, Detail json.RawMessage }
	}
	var scopes struct{ Required, Granted []string }
	if json.Unmarshal([]byte(body), &j) != nil || json.Unmarshal(j.Error.Message, &e.Message) != nil {
		e.Body = body
	} else if json.Unmarshal(j.Error.Detail, &e.Detail) != nil && json.Unmarshal(j.Error.Detail, &scopes) == nil {
		e.Required, e.Granted = scopes.Required, scopes.Granted
	}
	if len(e.Required) == 0 && e.Status == http.StatusForbidden {
		e.Required = strings.FieldsFunc(e.Header.Get("X-Accepted-OAuth-Scopes"), func(r rune) bool { return r == ',' || r == ' ' })
	}
}

// TokenSource hands out access tokens, cached until shortly before they expire:
// an oauth2.TokenSource, safe for concurrent use. Unlike x/oauth2's
// ReuseTokenSource (which fetches under a lock and shares only successes) one
// fetch runs at a time and its result, success or failure, goes to every caller
// waiting; a token due for renewal is handed out while it is renewed.
type TokenSource struct {
	conf    clientcredentials.Config
	client  http.Client
	request string // "POST https://bitbucket.org/site/oauth2/access_token", for errors

	mu       sync.Mutex
	tok      *oauth2.Token
	renewAt  time.Time
	fetching chan struct{} // closed when the fetch in flight ends
	err      error         // the last fetch's failure, given out
	errUntil time.Time     // until then
	secrets  []string      // the secret, the Basic value and the last two tokens, as sent
}

// Token returns a token, for oauth2.NewClient and the like.
func (s *TokenSource) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }

// TokenContext returns the cached token, or fetches one. ctx bounds only how
// long this caller waits; its values, not its cancellation, reach the token
// request (an http.RoundTripper can tell who started it). Errors are *Error.
func (s *TokenSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		now := time.Now()
		valid := s.tok != nil && now.Before(s.tok.Expiry)
		if (valid && now.Before(s.renewAt)) || now.Before(s.errUntil) {
			if valid { // after a failed renewal too: the token still works
				return s.tok, nil
			}
			return nil, s.err
		}
		if s.fetching == nil {
			s.fetching = make(chan struct{})
			go s.fetch(ctx, s.fetching)
		}
		if valid { // due for renewal: no one waits for that
			return s.tok, nil
		}
		done := s.fetching
		s.mu.Unlock()
		select {
		case <-done: // look again: the fetch left a token or a failure
			s.mu.Lock()
		case <-ctx.Done():
			err := s.fail(&Error{Request: s.request}, ctx.Err())
			s.mu.Lock()
			return nil, err
		}
	}
}

// fetch makes the token request; done closes once a token or failure is kept.
func (s *TokenSource) fetch(caller context.Context, done chan struct{}) {
	// x/oauth2 takes the http.Client from the context. Its timeout moves to
	// the context, so that a body that stops arriving is a timeout too.
	hc := s.client
	hc.Timeout = 0
	ctx, cancel := context.WithTimeout(context.WithValue(context.WithoutCancel(caller), oauth2.HTTPClient, &hc), s.client.Timeout)
	defer cancel()
	tok, err := s.conf.Token(ctx) // Config.Token never caches: this is the one place that asks
	if e, re := (&Error{Request: s.request}), (*oauth2.RetrieveError)(nil); errors.As(err, &re) {
		e.Status, e.Header, e.Code, e.Message = re.Response.StatusCode, s.scrubHeader(re.Response.Header), s.scrub(re.ErrorCode), s.scrub(re.ErrorDescription)
		if e.Code == "" {
			e.Body = s.scrub(string(re.Body))
		}
		err = s.fail(e, err)
	} else if err != nil {
		if strings.Contains(err.Error(), "missing access_token") || strings.Contains(err.Error(), "oauth2: cannot parse") {
			e.Status, e.Message = http.StatusOK, "the answer held no access token" // a 200, in x/oauth2's words
		}
		err = s.fail(e, errors.Join(ctx.Err(), err)) // a timeout says so even when x/oauth2's text does not
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer close(done)
	if s.fetching = nil; err != nil {
		s.err, s.errUntil = err, time.Now().Add(failureBackoff)
		return
	}
	// The lifetime is expires_in (7200 s today) as x/oauth2's Expiry, bounded:
	// without it x/oauth2 sets none, and a huge one must not mean "never renew".
	// The wall clock, as the monotonic one stops while a laptop sleeps.
	life := 5 * time.Minute
	if !tok.Expiry.IsZero() {
		life = min(max(time.Until(tok.Expiry).Round(time.Second), 30*time.Second), 24*time.Hour)
	}
	now, t := time.Now().Round(0), *tok
	t.Expiry = now.Add(life)
	s.tok, s.renewAt, s.errUntil = &t, now.Add(life-min(renewMargin, life/2)), time.Time{}
	s.secrets = []string{s.secrets[0], s.secrets[1], s.secrets[2], s.secrets[4], t.AccessToken}
}

// drop forgets tok, refused with a 401, if no newer token replaced it.
func (s *TokenSource) drop(tok *oauth2.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == tok {
		s.tok = nil
	}
}

// scrub bounds a text from an answer and removes the credentials as sent: an
// answer that echoes the request must not put them in an error, or a log.
func (s *TokenSource) scrub(text string) string {
	s.mu.Lock()
	secrets := s.secrets // replaced, never changed
	s.mu.Unlock()
	text = strings.ToValidUTF8(text[:min(len(text), 4<<10)], "")
	for _, v := range secrets {
		if len(v) >= 4 { // shorter is no credential, and would blank out ordinary text
			text = strings.ReplaceAll(text, v, "[redacted]")
		}
	}
	return text
}

// fail completes e with its cause, scrubbed.
func (s *TokenSource) fail(e *Error, cause error) *Error {
	e.Err = cause
	if cause != nil && !errors.As(cause, new(*oauth2.RetrieveError)) { // its text holds the whole answer
		e.cause = s.scrub(cause.Error())
	}
	return e
}

func (s *TokenSource) scrubHeader(h http.Header) http.Header {
	out := http.Header{}
	for k, vs := range h {
		out[k] = []string{s.scrub(strings.Join(vs, ", "))}
	}
	return out
}

// transport adds the token to requests for the API's origin. After a 401
// (x/oauth2's Transport ignores them) it retries once with a new token, unless
// this endpoint refused a new one in that token's lifetime: the endpoint is the
// problem then, not the token, while other endpoints still replace a revoked one.
type transport struct {
	next   http.RoundTripper
	tokens *TokenSource
	api    string // the API's origin

	mu       sync.Mutex
	refusing map[string]time.Time // method and path → until when it refuses new tokens
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if origin(req.URL) != t.api {
		return t.next.RoundTrip(req)
	}
	endpoint := req.Method + " " + req.URL.EscapedPath()
	t.mu.Lock()
	retry := !time.Now().Before(t.refusing[endpoint]) && (req.Body == nil || req.GetBody != nil)
	t.mu.Unlock()
	for try := 1; ; try++ {
		tok, err := t.tokens.TokenContext(req.Context())
		if err != nil {
			if req.Body != nil {
				req.Body.Close() // a RoundTripper closes the body, whatever happens
			}
			return nil, err
		}
		r := req.Clone(req.Context())                            // a RoundTripper must not change the caller's request
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken) // whatever token_type says: Bitbucket takes Bearer
		resp, err := t.next.RoundTrip(r)
		if err != nil || resp.StatusCode != http.StatusUnauthorized || !retry {
			return resp, err
		}
		if try == 2 { // a token issued just now, refused too
			t.mu.Lock()
			if len(t.refusing) >= 100 { // bounded: start over
				clear(t.refusing)
			}
			t.refusing[endpoint] = tok.Expiry
			t.mu.Unlock()
			return resp, err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // keeps the connection, if small
		resp.Body.Close()
		t.tokens.drop(tok)
		if req.GetBody != nil {
			req = req.Clone(req.Context())
			if req.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
	}
}

// ErrRedirect is a redirect refused: Go keeps the Authorization header on one
// to another port or from https to http, and credentials must go nowhere else.
var ErrRedirect = errors.New("refused a redirect to another origin")

func sameOrigin(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 || origin(req.URL) != origin(via[0].URL) {
		return fmt.Errorf("%w: %s", ErrRedirect, req.URL.Redacted())
	}
	return nil
}

func origin(u *url.URL) string {
	port := cmp.Or(u.Port(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	return strings.ToLower(u.Scheme + "://" + u.Hostname() + ":" + port)
}
