package bitbucket_test

import (
	"encoding/json"
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
// grant_type=client_credentials; the API wants a token it issued, as Bearer.
type fakeBitbucket struct {
	*httptest.Server
	t testing.TB

	mu        sync.Mutex
	tokens    map[string]bool
	issued    []string
	requests  int                                          // token requests
	reply     func(n int) (status int, ctype, body string) // the token endpoint's answer to request n (from 1); nil: a token
	release   chan struct{}                                // when set, the token endpoint waits for it
	api       http.HandlerFunc                             // the API's answer once the token checks out; nil: two repositories
	userAgent []string
	conns     atomic.Int64 // connections opened
}

func newFake(t testing.TB) *fakeBitbucket {
	f := &fakeBitbucket{t: t, tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /site/oauth2/access_token", f.token)
	mux.HandleFunc("GET /2.0/", f.serveAPI)
	f.Server = httptest.NewUnstartedServer(mux)
	f.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.Start()
	t.Cleanup(f.Close)
	return f
}

// config is the client's configuration for this fake, with clock now.
func (f *fakeBitbucket) config(now func() time.Time) bitbucket.Config {
	return bitbucket.Config{
		Key: testKey, Secret: testSecret,
		TokenURL: f.URL + "/site/oauth2/access_token", APIURL: f.URL + "/2.0",
		HTTPClient: bitbucket.NewHTTPClient(2 * time.Second),
		UserAgent:  "bitbucket-test/1.0", Now: now,
	}
}

func (f *fakeBitbucket) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	n, reply, release := f.requests, f.reply, f.release
	f.userAgent = append(f.userAgent, r.Header.Get("User-Agent"))
	f.mu.Unlock()
	err := r.ParseForm() // reading the body first lets the server notice a client that goes away
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
	writeJSON(w, http.StatusOK, f.issue(7200))
}

// issue makes a token and the JSON answer that carries it.
func (f *fakeBitbucket) issue(expiresIn any) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := fmt.Sprintf("token-%d-%s", len(f.issued)+1, strings.Repeat("x", 40))
	f.tokens[tok] = true
	f.issued = append(f.issued, tok)
	b, _ := json.Marshal(map[string]any{"access_token": tok, "token_type": "bearer", "scope": "account repository", "expires_in": expiresIn})
	return string(b)
}

func (f *fakeBitbucket) serveAPI(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	known, api := f.tokens[tok], f.api
	f.userAgent = append(f.userAgent, r.Header.Get("User-Agent"))
	f.mu.Unlock()
	if !known || r.URL.Query().Has("access_token") {
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

// fakeClock is the injected clock: tests move time instead of sleeping.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// eventually waits for cond, which a background renewal makes true: it
// polls for an event, and asserts nothing about how long it took.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never came", what)
		}
	}
}
