package bitbucket

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Token lifetimes. Bitbucket says how long a token lives in expires_in
// (7200 s today); x/oauth2 turns that into Token.Expiry.
const (
	// RenewMargin: a token is renewed this long before its Expiry (or half
	// way through a shorter life), so that it never expires between the
	// moment it is picked and the moment Bitbucket checks it.
	RenewMargin = time.Minute
	// FailureBackoff: after a failed token request, callers get that failure
	// for this long without a new request, so a broken consumer or a down
	// Bitbucket is not asked again on every call.
	FailureBackoff = 5 * time.Second

	// Bounds on what expires_in may mean: without it x/oauth2 sets no Expiry
	// (a token that never expires), and a huge or overflowing value must not
	// mean "never renew" either.
	unknownLifetime = 5 * time.Minute
	minLifetime     = 30 * time.Second
	maxLifetime     = 24 * time.Hour
)

// Origin says how a call got its token.
type Origin int

const (
	Reused   Origin = iota // the cached token (or a remembered failure): no token request
	Fetched                // this call made the token request
	Shared                 // this call waited for a token request another call made
	Renewing               // the token is due for renewal: this call got it, still valid, and started the renewal
)

// TokenSource hands out Bitbucket access tokens: one per process, safe for
// concurrent use.
//
// x/oauth2's ReuseTokenSourceWithExpiry caches a token too, but it fetches
// while holding a lock and shares only successes: with a hanging token
// endpoint the k-th waiting caller waits k timeouts, and a caller cannot stop
// waiting when its own context ends. This one runs one fetch at a time,
// gives its result, success or failure, to every caller waiting for it, and
// also keeps a still-valid token when a renewal fails, drops a token
// Bitbucket rejected, and tells the caller whether it fetched or reused.
type TokenSource struct {
	cfg    clientcredentials.Config
	client *http.Client
	now    func() time.Time
	step   string   // "POST /site/oauth2/access_token", for errors
	apiURL string   // for NewClient
	secret []string // encodings of the secret and of the Basic pair, raw and as x/oauth2 sends it
	raw    []string // the same, as they are

	mu        sync.Mutex
	tok       *oauth2.Token // the current token; its Expiry is by s.now's clock
	renewAt   time.Time
	fetch     *fetch // the fetch in flight, or nil
	failed    error  // the last fetch's failure, given out until failUntil
	failUntil time.Time
	dropped   bool       // the current token was dropped after a 401: the next one replaces it
	replaced  bool       // the current token replaced one Bitbucket rejected: it is kept until its renewal
	held      []string   // recent access tokens, removed from any upstream text
	heldForms [][]string // their encodings
	redactor  *strings.Replacer
	rawHeld   []string // raw and held: what Redact looks for behind escapes
}

type fetch struct {
	done chan struct{} // closed when tok or err is set
	tok  *oauth2.Token
	err  error
}

// NewTokenSource returns the token source for cfg. NewClient makes one;
// use this directly when you need only tokens.
func NewTokenSource(cfg Config) *TokenSource {
	cfg, hc := cfg.withDefaults()
	basicPair := url.QueryEscape(cfg.Key) + ":" + url.QueryEscape(cfg.Secret) // as x/oauth2 Basic-encodes it
	step := "POST " + cfg.TokenURL
	if u, err := url.Parse(cfg.TokenURL); err == nil {
		step = "POST " + u.EscapedPath()
	}
	s := &TokenSource{
		cfg: clientcredentials.Config{
			ClientID:     cfg.Key,
			ClientSecret: cfg.Secret,
			TokenURL:     cfg.TokenURL,
			// Bitbucket takes the key and secret as HTTP Basic credentials.
			// The default, auto-detection, would retry with them in the form
			// body and report that second, misleading error.
			AuthStyle: oauth2.AuthStyleInHeader,
			// No Scopes: Bitbucket grants what is ticked on the consumer and
			// takes no scope parameter.
		},
		client: hc,
		now:    cfg.Now,
		step:   step,
		apiURL: cfg.APIURL,
		raw:    slices.DeleteFunc([]string{cfg.Secret, cfg.Key + ":" + cfg.Secret, basicPair}, func(v string) bool { return len(v) < 4 }),
		secret: encodings(cfg.Secret, cfg.Key+":"+cfg.Secret, basicPair),
	}
	s.newRedactorLocked() // before anyone else can see s
	return s
}

// Token implements oauth2.TokenSource, for oauth2.NewClient and the like.
func (s *TokenSource) Token() (*oauth2.Token, error) {
	tok, _, err := s.Get(context.Background())
	return tok, err
}

// Get returns the cached token, or fetches a new one when there is none.
// A token due for renewal but still valid is returned at once, and renewed
// in the background. ctx bounds only how long this caller waits: the fetch
// goes on for the others. Its values (not its cancellation) reach the token
// request, so an http.RoundTripper can tell which caller started it.
// Errors are *Error.
func (s *TokenSource) Get(ctx context.Context) (*oauth2.Token, Origin, error) {
	s.mu.Lock()
	now := s.now()
	switch {
	case s.tok != nil && now.Before(s.renewAt):
		defer s.mu.Unlock()
		return s.tok, Reused, nil
	case s.failed != nil && now.Before(s.failUntil):
		defer s.mu.Unlock()
		if tok := s.validLocked(); tok != nil {
			return tok, Reused, nil
		}
		return nil, Reused, s.failed
	}
	f, origin := s.fetch, Shared
	if f == nil {
		f, origin = &fetch{done: make(chan struct{})}, Fetched
		s.fetch = f
		go s.run(ctx, f)
	}
	if tok := s.validLocked(); tok != nil { // no caller waits while the token still works
		defer s.mu.Unlock()
		if origin == Fetched {
			return tok, Renewing, nil
		}
		return tok, Reused, nil
	}
	s.mu.Unlock()

	select {
	case <-f.done:
		return f.tok, origin, f.err
	case <-ctx.Done():
		return nil, origin, &Error{Step: s.step, Err: ctx.Err(), cause: "stopped waiting: " + ctx.Err().Error()} // nothing to clean
	}
}

// validLocked returns the current token if it has not expired yet.
func (s *TokenSource) validLocked() *oauth2.Token {
	if s.tok != nil && s.now().Before(s.tok.Expiry) {
		return s.tok
	}
	return nil
}

// run makes the token request for every caller waiting on f.
func (s *TokenSource) run(caller context.Context, f *fetch) {
	// The fetch outlives the caller that started it: others wait for it, so
	// the first caller's cancellation must not fail them all. x/oauth2 finds
	// the http.Client in the context. Its timeout becomes the context's
	// deadline instead: x/oauth2 reports a body that stopped arriving as
	// plain text, and ctx.Err() still says whether it was a timeout.
	hc := *s.client
	hc.Timeout = 0
	ctx := context.WithValue(context.WithoutCancel(caller), oauth2.HTTPClient, &hc)
	ctx, cancel := context.WithTimeout(ctx, s.client.Timeout)
	defer cancel()
	tok, err := s.cfg.Token(ctx) // always a token request: this is the one place that makes it
	lifetime := tokenLifetime(tok, time.Now())
	if err != nil {
		f.err = s.tokenError(err, ctx.Err() == context.DeadlineExceeded)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetch = nil
	if err != nil {
		s.failed, s.failUntil = f.err, s.now().Add(FailureBackoff)
	} else {
		t := *tok
		now := s.now().Round(0) // wall clock: Go's monotonic clock stops while a laptop sleeps
		t.Expiry = now.Add(lifetime)
		s.tok, s.renewAt = &t, now.Add(lifetime-min(RenewMargin, lifetime/2))
		s.replaced, s.dropped, s.failed = s.dropped, false, nil
		s.held = append(s.held[max(0, len(s.held)-7):], t.AccessToken)
		s.heldForms = append(s.heldForms[max(0, len(s.heldForms)-7):], encodings(t.AccessToken))
		s.newRedactorLocked()
		f.tok = s.tok
	}
	close(f.done)
}

// tokenLifetime is how long tok lives from now, by x/oauth2's Expiry,
// within bounds.
func tokenLifetime(tok *oauth2.Token, now time.Time) time.Duration {
	if tok == nil || tok.Expiry.IsZero() {
		return unknownLifetime
	}
	// expires_in is whole seconds: round away the moments since x/oauth2 read it.
	return min(max(tok.Expiry.Sub(now).Round(time.Second), minLifetime), maxLifetime)
}

// Invalidate drops tok after Bitbucket answered 401 to it, and reports
// whether a retry with a new token makes sense. It does not when tok itself
// replaced a rejected token: Bitbucket issued it after rejecting the one
// before, so the consumer is fine, and a 401 means the endpoint does not
// take this kind of token. A replacement is kept until its own renewal, so
// such an endpoint costs one extra token request per token, not one per
// call. (x/oauth2's Transport ignores 401s altogether.)
func (s *TokenSource) Invalidate(tok *oauth2.Token) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != tok {
		return true // already replaced by a newer token
	}
	if s.replaced {
		return false
	}
	s.tok, s.dropped = nil, true
	return true
}

// tokenError describes a failed token request, with nothing secret in it.
func (s *TokenSource) tokenError(err error, timedOut bool) *Error {
	e := &Error{Step: s.step, Err: err}
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re):
		e.Code, e.Message = re.ErrorCode, re.ErrorDescription
		if re.Response != nil {
			e.Status, e.ContentType = re.Response.StatusCode, mediaType(re.Response.Header)
		}
		if e.Code == "" {
			e.Body = string(re.Body)
		}
	case strings.Contains(err.Error(), "missing access_token"): // x/oauth2's words for a 200 without a token
		e.Status, e.Message = http.StatusOK, "the answer had no access_token"
	case strings.Contains(err.Error(), "cannot parse"):
		e.Status, e.Message = http.StatusOK, "the answer was not JSON"
	case timedOut:
		e.Err = errors.Join(context.DeadlineExceeded, err)
	}
	return s.clean(e)
}

// Scopes returns the scopes a token was granted, space-separated: "scope"
// since May 2026, "scopes" in older answers.
func Scopes(tok *oauth2.Token) string {
	for _, key := range []string{"scope", "scopes"} {
		if v, ok := tok.Extra(key).(string); ok && v != "" {
			return v
		}
	}
	return ""
}
