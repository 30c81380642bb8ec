package bitbucket_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"bitbucket-client-credentials-sample/bitbucket"
)

func TestGetSendsTheTokenAsBearer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		var got *http.Request
		f.api = func(w http.ResponseWriter, r *http.Request) {
			got = r
			writeJSON(w, http.StatusOK, `{"values":[{"full_name":"my-team/api","unknown":{"x":[1,2]}}],"next":"`+f.URL+`/2.0/x?page=abc"}`)
		}
		var page bitbucket.Page[repo]
		if err := f.client().Get(t.Context(), "/repositories/my-team", url.Values{"sort": {"-updated_on"}}, &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Values) != 1 || page.Values[0].FullName != "my-team/api" || page.Next != f.URL+"/2.0/x?page=abc" {
			t.Errorf("decoded %+v", page)
		}
		if got.URL.Path != "/2.0/repositories/my-team" || got.URL.RawQuery != "sort=-updated_on" ||
			got.Header.Get("Authorization") != "Bearer "+f.issuedTokens()[0] || got.Header.Get("Accept") != "application/json" {
			t.Errorf("request %s %v", got.URL, got.Header)
		}
	})
}

func TestA401DropsTheTokenAndRetriesOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		c := f.client()
		var page bitbucket.Page[repo]
		if err := c.Get(t.Context(), "/repositories/my-team", nil, &page); err != nil {
			t.Fatal(err)
		}
		f.revoke() // as if the token had been revoked
		if err := c.Get(t.Context(), "/repositories/my-team", nil, &page); err != nil {
			t.Fatalf("after a revocation: %v", err)
		}
		if n := f.tokenRequests(); n != 2 {
			t.Errorf("%d token requests, want 2", n)
		}
	})
}

// An endpoint that refuses every token (as /2.0/user/workspaces may for a
// client credentials token) costs one extra token request per token
// lifetime, not one per call; and it does not stop the other endpoints from
// replacing a token revoked early.
func TestTheRuleFor401sIsPerEndpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		f.api = func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/2.0/user/workspaces" {
				writeJSON(w, http.StatusUnauthorized, `{"type":"error","error":{"message":"Token is invalid, expired, or not supported for this endpoint."}}`)
				return
			}
			writeJSON(w, http.StatusOK, `{"values":[]}`)
		}
		c := f.client()
		get := func(path string) error { return c.Get(t.Context(), path, nil, new(bitbucket.Page[repo])) }
		for i := range 5 {
			if e := apiError(t, get("/user/workspaces")); e.Status != 401 {
				t.Fatalf("call %d: %v, want a 401", i, e)
			}
		}
		if n := f.tokenRequests(); n != 2 {
			t.Errorf("%d token requests for 5 calls to a refusing endpoint, want 2", n)
		}
		// A revocation: the next call elsewhere replaces the token.
		f.revoke()
		if err := get("/repositories/my-team"); err != nil {
			t.Fatalf("after a revocation, once /user/workspaces had refused a token: %v", err)
		}
		if n := f.tokenRequests(); n != 3 {
			t.Errorf("%d token requests, want 3", n)
		}
		// The next lifetime: one more try at the refusing endpoint.
		time.Sleep(2 * time.Hour)
		for range 5 {
			get("/user/workspaces")
			synctest.Wait()
		}
		if n := f.tokenRequests(); n != 5 {
			t.Errorf("%d token requests in the next lifetime, want 5 (a renewal and one extra)", n)
		}
	})
}

func TestHTTPClient(t *testing.T) {
	// Another server: the token must never go there.
	var elsewhere atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Store(r.Header.Get("Authorization"))
	}))
	defer other.Close()
	f := newFake(t)
	f.api = func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/2.0/away":
			http.Redirect(w, r, other.URL+"/stolen", http.StatusFound)
		case "/2.0/here":
			http.Redirect(w, r, "/2.0/repositories/my-team", http.StatusFound)
		case "/2.0/echo":
			b, _ := io.ReadAll(r.Body)
			fmt.Fprint(w, string(b))
		default:
			writeJSON(w, http.StatusOK, `{"values":[]}`)
		}
	}
	f.serve()
	hc := f.client().HTTPClient()

	resp, err := hc.Get(f.URL + "/2.0/repositories/my-team")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("a plain GET: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, err := hc.Get(other.URL + "/somewhere"); err != nil || elsewhere.Load() != "" {
		t.Errorf("a request to another origin carried %q (%v)", elsewhere.Load(), err)
	} else {
		resp.Body.Close()
	}
	if _, err := hc.Get(f.URL + "/2.0/away"); !errors.Is(err, bitbucket.ErrRedirect) || elsewhere.Load() != "" {
		t.Errorf("a redirect to another origin: %v, and it carried %q", err, elsewhere.Load())
	}
	if resp, err := hc.Get(f.URL + "/2.0/here"); err != nil || resp.StatusCode != 200 {
		t.Errorf("a redirect on the same origin: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// After a revocation: a body that can be sent again is, once; another is not.
	for _, tt := range []struct {
		name   string
		body   io.Reader
		status int
	}{
		{"a body that can be sent again", bytes.NewReader([]byte("hello")), 200},
		{"a body that cannot", io.MultiReader(strings.NewReader("hello")), 401},
	} {
		f.revoke()
		req, _ := http.NewRequest(http.MethodPost, f.URL+"/2.0/echo", tt.body)
		resp, err := hc.Do(req)
		if err != nil || resp.StatusCode != tt.status {
			t.Fatalf("%s: %v %v, want %d", tt.name, resp, err, tt.status)
		}
		if b, _ := io.ReadAll(resp.Body); tt.status == 200 && string(b) != "hello" {
			t.Errorf("%s: the retry sent %q", tt.name, b)
		}
		resp.Body.Close()
	}
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter)
		check  func(*bitbucket.Error) bool
	}{
		{"missing scope", func(w http.ResponseWriter) {
			writeJSON(w, 403, `{"type":"error","error":{"message":"Your credentials lack one or more required privilege scopes.","detail":{"required":["pullrequest"],"granted":["account","repository"]}}}`)
		}, func(e *bitbucket.Error) bool {
			return e.Status == 403 && e.Message == "Your credentials lack one or more required privilege scopes." &&
				fmt.Sprint(e.Required, e.Granted) == "[pullrequest] [account repository]" && e.Detail == ""
		}},
		{"missing scope, in a header only", func(w http.ResponseWriter) {
			w.Header().Set("X-Accepted-OAuth-Scopes", "repository:write, pullrequest")
			writeJSON(w, 403, `{"type":"error","error":{"message":"Your credentials lack one or more required privilege scopes."}}`)
		}, func(e *bitbucket.Error) bool { return fmt.Sprint(e.Required) == "[repository:write pullrequest]" }},
		{"text detail", func(w http.ResponseWriter) {
			writeJSON(w, 410, `{"type":"error","error":{"message":"CHANGE-2770 - Functionality has been deprecated","detail":"Please read the changelog entry."}}`)
		}, func(e *bitbucket.Error) bool {
			return e.Status == 410 && e.Detail == "Please read the changelog entry."
		}},
		{"rate limited, in plain text", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "60")
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(429)
			fmt.Fprint(w, "Rate limit for this resource has been exceeded")
		}, func(e *bitbucket.Error) bool {
			return e.Status == 429 && e.Body == "Rate limit for this resource has been exceeded" && e.Header.Get("Retry-After") == "60"
		}},
		{"200, not JSON", func(w http.ResponseWriter) { fmt.Fprint(w, "<html>") }, func(e *bitbucket.Error) bool {
			return e.Status == 200 && e.Message == "the answer was not the JSON expected" && e.Body == "<html>" && e.Err != nil
		}},
		{"longer than 1 MiB", func(w http.ResponseWriter) { fmt.Fprint(w, `{"values":[`+strings.Repeat(" ", 1<<20)+`]}`) },
			func(e *bitbucket.Error) bool { return errors.Is(e, bitbucket.ErrTooLarge) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFake(t)
				f.api = func(w http.ResponseWriter, r *http.Request) { tt.answer(w) }
				err := f.client().Get(t.Context(), "/repositories/my-team", nil, new(bitbucket.Page[repo]))
				if e := apiError(t, err); !tt.check(e) || e.Request != "GET /2.0/repositories/my-team" {
					t.Errorf("%+v", e)
				}
			})
		})
	}
}

// Whatever an answer echoes, an error holds no secret, Basic value or token.
func TestErrorsHoldNoCredentials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(testKey) + ":" + url.QueryEscape(testSecret)))
		f := newFake(t)
		f.api = func(w http.ResponseWriter, r *http.Request) {
			echo := "you sent " + r.Header.Get("Authorization")
			w.Header().Set("X-Echo", echo)
			writeJSON(w, 403, fmt.Sprintf(`{"type":"error","error":{"message":%q,"detail":{"required":[%q],"granted":[]}}}`, echo, echo))
		}
		c := f.client()
		apiErr := c.Get(t.Context(), "/repositories/my-team", nil, new(any))

		g := newFake(t)
		g.reply = func(int) (int, string, string) {
			return 400, "application/json", fmt.Sprintf(`{"error":"invalid_request %s","error_description":"Basic %s; secret %s, %s"}`,
				basic, basic, testSecret, url.QueryEscape(testSecret))
		}
		_, tokErr := g.client().Tokens().TokenContext(t.Context())
		for _, err := range []error{apiErr, tokErr} {
			text := fmt.Sprintf("%v %+v", err, apiError(t, err))
			for _, secret := range append(f.issuedTokens(), testSecret, url.QueryEscape(testSecret), basic) {
				if strings.Contains(text, secret) {
					t.Errorf("the error holds %q: %s", secret, text)
				}
			}
		}
	})
}

func TestBodyDrippingPastTheTimeoutIsATimeout(t *testing.T) {
	drip := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		for range 100 {
			if _, err := fmt.Fprint(w, " "); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
	})
	slow := httptest.NewServer(drip)
	defer slow.Close()
	for _, cfg := range []bitbucket.Config{
		{APIURL: slow.URL + "/2.0", TokenURL: "http://127.0.0.1:1/never-asked"},
		{TokenURL: slow.URL + "/site/oauth2/access_token"},
	} {
		cfg.Key, cfg.Secret, cfg.HTTPClient = testKey, testSecret, &http.Client{Timeout: 300 * time.Millisecond}
		c := bitbucket.NewClient(cfg)
		if cfg.APIURL != "" { // a token first, so that the API call is what drips
			f := newFake(t)
			f.serve()
			cfg.TokenURL = f.URL + "/site/oauth2/access_token"
			c = bitbucket.NewClient(cfg)
		}
		err := c.Get(t.Context(), "/repositories/my-team", nil, new(any))
		if e := apiError(t, err); !timedOut(e) {
			t.Errorf("%s: %v, want a timeout", e.Request, err)
		}
	}
}

func TestAll(t *testing.T) {
	pages := func(f *fakeBitbucket, next func(page int) string) {
		f.api = func(w http.ResponseWriter, r *http.Request) {
			n := 1
			fmt.Sscan(r.URL.Query().Get("page"), &n)
			values := fmt.Sprintf(`{"full_name":"w/r%d"}`, n)
			if n == 2 {
				values = "" // an empty page may still have a next
			}
			writeJSON(w, 200, fmt.Sprintf(`{"values":[%s],"next":%q}`, values, next(n)))
		}
	}
	tests := []struct {
		name  string
		next  func(f *fakeBitbucket, page int) string
		want  string
		error string
	}{
		{"absolute next", func(f *fakeBitbucket, n int) string {
			if n < 4 {
				return fmt.Sprintf("%s/2.0/repositories/w?page=%d", f.URL, n+1)
			}
			return ""
		}, "w/r1 w/r3 w/r4", ""},
		{"relative next", func(f *fakeBitbucket, n int) string {
			if n < 3 {
				return fmt.Sprintf("?page=%d", n+1)
			}
			return ""
		}, "w/r1 w/r3", ""},
		{"next elsewhere", func(f *fakeBitbucket, n int) string { return "https://evil.test/2.0/repositories/w?page=2" },
			"w/r1", "stopped: next leaves the API: https://evil.test/2.0/repositories/w?page=2"},
		{"next for ever", func(f *fakeBitbucket, n int) string { return fmt.Sprintf("?page=%d", n+1) },
			"", "stopped after 100 pages: the list goes on"},
		{"a failed page", func(f *fakeBitbucket, n int) string { return "/2.0/missing?page=2" }, "w/r1", "GET /2.0/missing: HTTP 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFake(t)
				pages(f, func(n int) string { return tt.next(f, n) })
				if tt.name == "a failed page" {
					api := f.api
					f.api = func(w http.ResponseWriter, r *http.Request) {
						if r.URL.Path == "/2.0/missing" {
							writeJSON(w, 404, `{"type":"error","error":{"message":"Resource not found"}}`)
							return
						}
						api(w, r)
					}
				}
				var got []string
				var errs []error
				for r, err := range bitbucket.All[repo](t.Context(), f.client(), "/repositories/w", nil) {
					if err != nil {
						errs = append(errs, err)
						continue
					}
					got = append(got, r.FullName)
				}
				if tt.want != "" && strings.Join(got, " ") != tt.want {
					t.Errorf("values %v, want %s", got, tt.want)
				}
				if tt.error == "" && len(errs) > 0 || tt.error != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.error)) {
					t.Errorf("errors %v, want %q", errs, tt.error)
				}
				if tt.name == "next for ever" && len(got) != 99 { // 100 pages, one of them empty
					t.Errorf("%d values before it stopped, want 99", len(got))
				}
			})
		})
	}
}

// Breaking out of the loop stops the requests.
func TestAllStopsWhenTheLoopDoes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		f.api = func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, `{"values":[{"full_name":"w/a"},{"full_name":"w/b"}],"next":"?page=2"}`)
		}
		for r := range bitbucket.All[repo](t.Context(), f.client(), "/repositories/w", nil) {
			if r.FullName == "w/a" {
				break
			}
		}
		if len(f.calls) != 1 {
			t.Errorf("%d API requests, want 1", len(f.calls))
		}
	})
}

// After a 401 and its retry, the connection is kept: reading what is left
// of a small answer is cheaper than a new connection.
func TestConnectionsAreReused(t *testing.T) {
	f := newFake(t)
	f.serve()
	c := bitbucket.NewClient(bitbucket.Config{Key: testKey, Secret: testSecret, TokenURL: f.URL + "/site/oauth2/access_token", APIURL: f.URL + "/2.0",
		HTTPClient: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}})
	for i := range 10 {
		if i%3 == 0 {
			f.revoke()
		}
		if err := c.Get(t.Context(), "/repositories/my-team", nil, new(any)); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.conns.Load(); n > 2 {
		t.Errorf("%d connections for 10 calls, 4 of them retried", n)
	}
}

// The caller's context values reach the token request, so that a
// RoundTripper can tell which caller started it (the sample app's trace
// does), while its cancellation does not (TestCallerGivingUpDoesNotCancelTheRequest).
func TestTokenRequestCarriesTheCallersValues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type key struct{}
		f := newFake(t)
		var seen any
		cfg := f.config()
		cfg.HTTPClient.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodPost {
				seen = r.Context().Value(key{})
			}
			return f.RoundTrip(r)
		})
		ctx := context.WithValue(t.Context(), key{}, "page load 1")
		if err := bitbucket.NewClient(cfg).Get(ctx, "/repositories/my-team", nil, new(any)); err != nil {
			t.Fatal(err)
		}
		if seen != "page load 1" {
			t.Errorf("the token request's context holds %v, want the caller's value", seen)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRenewalTimeoutAfterA401: the API refuses the token, and the token
// request for a new one does not answer. Get gives up at the client's
// timeout, and its error is the token request's: the renewal is the step
// that failed.
func TestRenewalTimeoutAfterA401(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		f.api = func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusUnauthorized, `{"type": "error", "error": {"message": "Access token expired."}}`)
		}
		c := f.client()
		if _, err := c.Tokens().Token(); err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		f.release = make(chan struct{}) // never closed: the renewal hangs
		f.mu.Unlock()
		start := time.Now()
		e := apiError(t, c.Get(t.Context(), "/repositories/my-team", nil, new(any)))
		if !strings.HasPrefix(e.Request, "POST ") || !timedOut(e) {
			t.Errorf("got %q: %v; want the token request's timeout", e.Request, e)
		}
		if waited := time.Since(start); waited != 2*time.Second {
			t.Errorf("Get gave up after %v, want the client's timeout, 2s", waited)
		}
	})
}
