package bitbucket_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bitbucket-client-credentials-sample/bitbucket"
)

// The test consumer. The secret holds characters that x/oauth2 form-encodes
// before Basic-encoding them.
const (
	testKey    = "test-key-7d3b9e"
	testSecret = "S3cr3t+With/Special=Chars&more:colons"
)

// fakeBitbucket checks requests the way Bitbucket does: the token endpoint
// wants the key and secret as HTTP Basic credentials (form-encoded, as RFC
// 6749 §2.3.1 and x/oauth2 have it) and a form body with only
// grant_type=client_credentials; the API wants, as Bearer, a token it
// issued that has not expired.
//
// It serves two ways. As an http.RoundTripper it answers in memory, so that
// tests run inside a testing/synctest bubble, where time is fake and moves
// only when every goroutine waits: token lifetimes pass in no time. As an
// http.Handler behind httptest.Server (serve) it is a real server, for what
// needs a network: redirects to another origin, connections, slow bodies.
type fakeBitbucket struct {
	t   testing.TB
	URL string // the origin clients are configured with

	mu        sync.Mutex
	tokens    map[string]time.Time // issued tokens and when they expire
	issued    []string
	requests  int                                          // token requests
	expiresIn any                                          // the answer's expires_in; nil leaves it out
	reply     func(n int) (status int, ctype, body string) // the token endpoint's answer to request n (from 1), if status != 0
	release   chan struct{}                                // when set, the token endpoint waits for it to close
	api       http.HandlerFunc                             // the API's answer once the token checks out; nil: two repositories
	calls     []string                                     // API requests: method and path
	conns     atomic.Int64                                 // connections opened, when served
}

func newFake(t testing.TB) *fakeBitbucket {
	return &fakeBitbucket{t: t, URL: "https://bitbucket.test", tokens: map[string]time.Time{}, expiresIn: 7200}
}

// serve puts f behind a real server and points URL at it.
func (f *fakeBitbucket) serve() {
	srv := httptest.NewUnstartedServer(f)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	srv.Start()
	f.t.Cleanup(srv.Close)
	f.URL = srv.URL
}

// client is a client configured for f: in memory unless serve was called.
func (f *fakeBitbucket) client() *bitbucket.Client { return bitbucket.NewClient(f.config()) }

func (f *fakeBitbucket) config() bitbucket.Config {
	cfg := bitbucket.Config{Key: testKey, Secret: testSecret, TokenURL: f.URL + "/site/oauth2/access_token", APIURL: f.URL + "/2.0"}
	if f.URL == "https://bitbucket.test" {
		cfg.HTTPClient = &http.Client{Transport: f, Timeout: 2 * time.Second}
	}
	return cfg
}

// RoundTrip answers in memory. A handler that waits watches the request's
// context, and the caller then gets the context's error, as from a network.
func (f *fakeBitbucket) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, r)
	if r.Body != nil {
		r.Body.Close()
	}
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

func (f *fakeBitbucket) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/site/oauth2/access_token":
		f.token(w, r)
	case strings.HasPrefix(r.URL.Path, "/2.0/"):
		f.serveAPI(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeBitbucket) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	n, reply, release := f.requests, f.reply, f.release
	f.mu.Unlock()
	err := r.ParseForm()
	if release != nil {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
	}
	user, pass, ok := r.BasicAuth()
	key, _ := url.QueryUnescape(user)
	secret, _ := url.QueryUnescape(pass)
	if err != nil || !ok || key != testKey || secret != testSecret ||
		r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
		r.PostForm.Encode() != "grant_type=client_credentials" || r.URL.RawQuery != "" {
		f.t.Errorf("token request not as Bitbucket wants it: basic %v %q:%q, form %q, query %q", ok, key, secret, r.PostForm.Encode(), r.URL.RawQuery)
		writeJSON(w, http.StatusBadRequest, `{"error":"unauthorized_client","error_description":"Invalid OAuth client credentials"}`)
		return
	}
	if reply != nil {
		if status, ctype, body := reply(n); status != 0 {
			w.Header().Set("Content-Type", ctype)
			w.WriteHeader(status)
			fmt.Fprint(w, body)
			return
		}
	}
	f.mu.Lock()
	tok := fmt.Sprintf("token-%d-%s", len(f.issued)+1, strings.Repeat("x", 40))
	answer := map[string]any{"access_token": tok, "token_type": "bearer", "scope": "account repository"}
	life := 7200 * time.Second
	if f.expiresIn != nil {
		answer["expires_in"] = f.expiresIn
		if n, ok := f.expiresIn.(int); ok {
			life = time.Duration(n) * time.Second
		}
	}
	f.tokens[tok], f.issued = time.Now().Add(life), append(f.issued, tok)
	f.mu.Unlock()
	b, _ := json.Marshal(answer)
	writeJSON(w, http.StatusOK, string(b))
}

func (f *fakeBitbucket) serveAPI(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	expiry, known := f.tokens[tok]
	api := f.api
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	if !known || !time.Now().Before(expiry) || r.URL.Query().Has("access_token") {
		w.Header().Set("WWW-Authenticate", `Basic realm="Bitbucket.org HTTP"`)
		writeJSON(w, http.StatusUnauthorized, `{"type":"error","error":{"message":"Token is invalid, expired, or not supported for this endpoint."}}`)
		return
	}
	if api != nil {
		api(w, r)
		return
	}
	writeJSON(w, http.StatusOK, `{"pagelen":10,"size":2,"page":1,"values":[{"full_name":"my-team/api","name":"API"},{"full_name":"my-team/web","name":"Web"}]}`)
}

func (f *fakeBitbucket) tokenRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func (f *fakeBitbucket) issuedTokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.issued...)
}

// revoke forgets every token issued so far: the API answers 401 to them.
func (f *fakeBitbucket) revoke() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.tokens)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

// repo is a repository, decoded only as far as the tests need.
type repo struct {
	FullName string `json:"full_name"`
}

// apiError returns err as a *bitbucket.Error, or fails the test.
func apiError(t *testing.T, err error) *bitbucket.Error {
	t.Helper()
	var e *bitbucket.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want a *bitbucket.Error", err, err)
	}
	return e
}

// timedOut reports whether err says no whole answer came in time.
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
