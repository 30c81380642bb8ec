package bitbucket_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"

	"bitbucket-client-credentials-sample/bitbucket"
)

// The tests that need time run in a testing/synctest bubble: time.Now is
// fake there, and time.Sleep returns at once once everything else waits.

func TestTokenIsCachedAndRenewedBeforeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		tokens := f.client().Tokens()
		first, err := tokens.TokenContext(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if first.Type() != "Bearer" || time.Until(first.Expiry) != 7200*time.Second {
			t.Errorf("token type %q, expires in %v; want Bearer, 2h", first.Type(), time.Until(first.Expiry))
		}
		time.Sleep(7200*time.Second - time.Minute - time.Second) // just before the renewal margin
		if tok, _ := tokens.TokenContext(t.Context()); tok != first || f.tokenRequests() != 1 {
			t.Fatalf("before the renewal margin: a new token or %d token requests, want the cached one", f.tokenRequests())
		}
		time.Sleep(2 * time.Second) // within a minute of expiry: due, still valid
		if tok, _ := tokens.TokenContext(t.Context()); tok != first {
			t.Fatal("a token due for renewal but valid was not handed out at once")
		}
		synctest.Wait() // the renewal, in the background
		second, _ := tokens.TokenContext(t.Context())
		if second == first || f.tokenRequests() != 2 {
			t.Errorf("after the renewal: same token %v, %d token requests; want a new one, 2", second == first, f.tokenRequests())
		}
	})
}

// A token lives as long as expires_in says, within bounds, and is renewed a
// minute before it expires (or half-way through a shorter life).
func TestTokenLifetime(t *testing.T) {
	tests := []struct {
		expiresIn       any
		life, renewedAt time.Duration
	}{
		{7200, 2 * time.Hour, 2*time.Hour - time.Minute},
		{90, 90 * time.Second, 45 * time.Second},
		{5, 30 * time.Second, 15 * time.Second},                // too short: 30 s at least
		{int(1e9), 24 * time.Hour, 24*time.Hour - time.Minute}, // absurd: a day at most
		{nil, 5 * time.Minute, 4 * time.Minute},                // no expires_in: x/oauth2 would say "never expires"
		{"3600", time.Hour, time.Hour - time.Minute},           // a string, as some servers send it
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.expiresIn), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFake(t)
				f.expiresIn = tt.expiresIn
				tokens := f.client().Tokens()
				tok, err := tokens.TokenContext(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if got := time.Until(tok.Expiry); got != tt.life {
					t.Errorf("lives %v, want %v", got, tt.life)
				}
				time.Sleep(tt.renewedAt - time.Second)
				tokens.TokenContext(t.Context())
				synctest.Wait()
				if n := f.tokenRequests(); n != 1 {
					t.Errorf("renewed %v early", time.Second)
				}
				time.Sleep(time.Second)
				tokens.TokenContext(t.Context())
				synctest.Wait()
				if n := f.tokenRequests(); n != 2 {
					t.Errorf("not renewed at %v", tt.renewedAt)
				}
			})
		})
	}
}

// getConcurrently asks n callers at once, with the token endpoint held until
// they all wait, and returns what each got.
func getConcurrently(t *testing.T, f *fakeBitbucket, tokens *bitbucket.TokenSource, n int) ([]*oauth2.Token, []error) {
	f.release = make(chan struct{})
	toks, errs := make([]*oauth2.Token, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { toks[i], errs[i] = tokens.TokenContext(t.Context()) })
	}
	synctest.Wait() // every caller waits on the one request
	close(f.release)
	wg.Wait()
	return toks, errs
}

func TestConcurrentCallersShareOneRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		toks, errs := getConcurrently(t, f, f.client().Tokens(), 50)
		for i := range toks {
			if errs[i] != nil || toks[i] != toks[0] {
				t.Fatalf("caller %d: %v, %v; want the one token", i, toks[i], errs[i])
			}
		}
		if n := f.tokenRequests(); n != 1 {
			t.Errorf("%d token requests for 50 callers, want 1", n)
		}
	})
}

// A failure goes to every caller that waited for the request, and to every
// caller for the next five seconds; then the next caller asks again.
func TestFailureIsSharedAndRememberedBriefly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		f.reply = func(n int) (int, string, string) {
			if n == 1 {
				return http.StatusBadRequest, "application/json", `{"error":"unauthorized_client","error_description":"Invalid OAuth client credentials"}`
			}
			return 0, "", ""
		}
		tokens := f.client().Tokens()
		_, errs := getConcurrently(t, f, tokens, 10)
		for i, err := range errs {
			if e := apiError(t, err); e.Status != 400 || e.Code != "unauthorized_client" || e.Message != "Invalid OAuth client credentials" {
				t.Fatalf("caller %d: %v", i, err)
			}
		}
		time.Sleep(4 * time.Second)
		if _, err := tokens.TokenContext(t.Context()); err == nil || f.tokenRequests() != 1 {
			t.Fatalf("4 s after a failure: %v and %d token requests; want the failure again, 1", err, f.tokenRequests())
		}
		time.Sleep(time.Second)
		if _, err := tokens.TokenContext(t.Context()); err != nil || f.tokenRequests() != 2 {
			t.Errorf("5 s after a failure: %v and %d token requests; want a token, 2", err, f.tokenRequests())
		}
	})
}

// A caller that gives up stops waiting, and the request goes on for the
// others: the first caller's cancellation must not fail them all.
func TestCallerGivingUpDoesNotCancelTheRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		f.release = make(chan struct{})
		tokens := f.client().Tokens()
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if _, err := tokens.TokenContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the impatient caller got %v, want its deadline", err)
		}
		var tok *oauth2.Token
		var err error
		done := make(chan struct{})
		go func() { tok, err = tokens.TokenContext(t.Context()); close(done) }()
		synctest.Wait()
		close(f.release)
		<-done
		if err != nil || tok == nil || f.tokenRequests() != 1 {
			t.Errorf("the patient caller got %v, %v with %d token requests; want the first request's token", tok, err, f.tokenRequests())
		}
	})
}

func TestHangingTokenEndpointTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		f.release = make(chan struct{}) // never closed
		start := time.Now()
		_, err := f.client().Tokens().TokenContext(t.Context())
		if e := apiError(t, err); !timedOut(e) || time.Since(start) != 2*time.Second {
			t.Errorf("after %v: %v; want a timeout after the client's 2 s", time.Since(start), err)
		}
	})
}

// A renewal that fails keeps the token, which still works, until it expires.
func TestFailedRenewalKeepsTheValidToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		tokens := f.client().Tokens()
		first, _ := tokens.TokenContext(t.Context())
		f.reply = func(int) (int, string, string) { return http.StatusServiceUnavailable, "text/html", "<h1>Down</h1>" }
		time.Sleep(7200*time.Second - 30*time.Second)
		for range 3 {
			if tok, err := tokens.TokenContext(t.Context()); tok != first || err != nil {
				t.Fatalf("during a failing renewal: %v, %v; want the valid token", tok, err)
			}
			synctest.Wait()
		}
		if n := f.tokenRequests(); n != 2 {
			t.Errorf("%d token requests, want 2: one renewal, then the back-off", n)
		}
		time.Sleep(30 * time.Second) // expired
		_, err := tokens.TokenContext(t.Context())
		if e := apiError(t, err); e.Status != http.StatusServiceUnavailable || e.Body != "<h1>Down</h1>" {
			t.Errorf("after expiry: %v, want the renewal's failure", err)
		}
	})
}

func TestTokenFailures(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		ctype, body string
		check       func(*bitbucket.Error) bool
	}{
		{"OAuth error", 400, "application/json", `{"error":"invalid_grant","error_description":"Cannot use client_credentials with a consumer marked as \"public\"."}`,
			func(e *bitbucket.Error) bool { return e.Code == "invalid_grant" && e.Status == 400 && e.Body == "" }},
		{"proxy page", 407, "text/html", "<h1>Proxy Authentication Required</h1>",
			func(e *bitbucket.Error) bool {
				return e.Code == "" && e.Body == "<h1>Proxy Authentication Required</h1>" && e.Header.Get("Content-Type") == "text/html"
			}},
		{"200 without a token", 200, "application/json", `{"token_type":"bearer"}`,
			func(e *bitbucket.Error) bool {
				return e.Status == 200 && e.Message == "the answer held no access token"
			}},
		{"200 with a web page", 200, "text/html", "<html>Log in</html>",
			func(e *bitbucket.Error) bool {
				return e.Status == 200 && e.Message == "the answer held no access token"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFake(t)
				f.reply = func(int) (int, string, string) { return tt.status, tt.ctype, tt.body }
				_, err := f.client().Tokens().TokenContext(t.Context())
				if e := apiError(t, err); !tt.check(e) || e.Request != "POST "+f.URL+"/site/oauth2/access_token" {
					t.Errorf("%+v", e)
				}
			})
		})
	}
}

// A token request that gets no answer says so: no status, and the cause.
func TestTokenRequestWithoutAnAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		c := bitbucket.NewClient(bitbucket.Config{Key: testKey, Secret: testSecret, HTTPClient: &http.Client{
			Transport: roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, refused })}})
		_, err := c.Tokens().TokenContext(t.Context())
		if e := apiError(t, err); e.Status != 0 || e.Message != "" || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%+v, want no status, no message, and the cause", e)
		}
	})
}

// The token source is an oauth2.TokenSource, so code built on x/oauth2
// takes it: oauth2.NewClient gets a token once and sends it as Bearer.
func TestTokenSourceIsAnOAuth2TokenSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		var ts oauth2.TokenSource = f.client().Tokens()
		hc := oauth2.NewClient(context.WithValue(t.Context(), oauth2.HTTPClient, &http.Client{Transport: f}), ts)
		for range 3 {
			resp, err := hc.Get(f.URL + "/2.0/repositories/my-team")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%v %v", resp, err)
			}
			resp.Body.Close()
		}
		if n := f.tokenRequests(); n != 1 {
			t.Errorf("%d token requests, want 1", n)
		}
	})
}
