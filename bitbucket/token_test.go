package bitbucket_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"bitbucket-client-credentials-sample/bitbucket"
)

func TestTokenIsCachedAndRenewedBeforeExpiry(t *testing.T) {
	f, clock := newFake(t), newClock()
	ts := bitbucket.NewTokenSource(f.config(clock.Now))
	ctx := context.Background()

	first, origin, err := ts.Get(ctx)
	if err != nil || origin != bitbucket.Fetched {
		t.Fatalf("first Get: origin %v, err %v; want Fetched", origin, err)
	}
	if want := clock.Now().Add(7200 * time.Second); first.Expiry.Sub(want).Abs() > time.Second {
		t.Errorf("Expiry %v, want about %v (expires_in 7200 by the injected clock)", first.Expiry, want)
	}
	if got := bitbucket.Scopes(first); got != "account repository" {
		t.Errorf("Scopes = %q", got)
	}
	for _, step := range []struct {
		advance time.Duration
		want    bitbucket.Origin
	}{
		{time.Hour, bitbucket.Reused},
		{7200*time.Second - bitbucket.RenewMargin - time.Hour - 2*time.Second, bitbucket.Reused}, // just before the margin
		{2 * time.Second, bitbucket.Renewing},                                                    // inside it: still valid, renewed in the background
	} {
		clock.Advance(step.advance)
		if tok, origin, err := ts.Get(ctx); err != nil || origin != step.want || tok != first {
			t.Errorf("after %v more: origin %v, err %v; want %v and the first token", step.advance, origin, err, step.want)
		}
	}
	eventually(t, "the renewed token", func() bool {
		tok, origin, err := ts.Get(ctx)
		return err == nil && tok != first && origin == bitbucket.Reused
	})
	if n := f.tokenRequests(); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if ua := f.userAgent[0]; ua != "bitbucket-test/1.0" {
		t.Errorf("token request User-Agent %q", ua)
	}
}

// x/oauth2 computes Expiry from expires_in for JSON and form answers alike;
// the token source bounds what it makes of absurd values.
func TestTokenLifetimeFromExpiry(t *testing.T) {
	for _, c := range []struct {
		name, ctype, body string
		renewAfter        time.Duration // the token is reused up to here, renewed after
	}{
		{"JSON 7200", "application/json", `{"access_token":"a","expires_in":7200}`, 7200*time.Second - time.Minute},
		{"form-encoded 7200", "application/x-www-form-urlencoded", "access_token=a&expires_in=7200", 7200*time.Second - time.Minute},
		{"no expires_in", "application/json", `{"access_token":"a"}`, 5*time.Minute - time.Minute},
		{"huge", "application/json", `{"access_token":"a","expires_in":99999999999999}`, 24*time.Hour - time.Minute},
		// x/oauth2's seconds-to-Duration product wraps to an Expiry in the past.
		{"overflowing form value", "application/x-www-form-urlencoded", "access_token=a&expires_in=9223372036854", 15 * time.Second},
		{"negative", "application/json", `{"access_token":"a","expires_in":-5}`, 15 * time.Second},
		{"short", "application/json", `{"access_token":"a","expires_in":40}`, 20 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, clock := newFake(t), newClock()
			f.reply = func(int) (int, string, string) { return http.StatusOK, c.ctype, c.body }
			ts := bitbucket.NewTokenSource(f.config(clock.Now))
			ts.Get(context.Background()) //nolint:errcheck // counted below
			clock.Advance(c.renewAfter - 2*time.Second)
			ts.Get(context.Background()) //nolint:errcheck
			if n := f.tokenRequests(); n != 1 {
				t.Fatalf("renewed too early: %d token requests", n)
			}
			clock.Advance(4 * time.Second)
			ts.Get(context.Background()) //nolint:errcheck // starts the renewal
			eventually(t, "the renewal", func() bool { return f.tokenRequests() == 2 })
		})
	}
}

// getConcurrently calls Get from n goroutines once the token endpoint holds
// the first request, then lets it answer.
func getConcurrently(t *testing.T, f *fakeBitbucket, ts *bitbucket.TokenSource, n int) ([]*oauth2.Token, []bitbucket.Origin, []error) {
	t.Helper()
	f.release = make(chan struct{})
	toks, origins, errs := make([]*oauth2.Token, n), make([]bitbucket.Origin, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { toks[i], origins[i], errs[i] = ts.Get(context.Background()) })
	}
	for f.tokenRequests() == 0 {
		time.Sleep(time.Millisecond) // wait for the fetch to reach the endpoint
	}
	time.Sleep(20 * time.Millisecond) // let the other callers reach Get
	close(f.release)
	wg.Wait()
	return toks, origins, errs
}

func TestConcurrentCallersShareOneFetch(t *testing.T) {
	f := newFake(t)
	ts := bitbucket.NewTokenSource(f.config(nil))
	toks, origins, errs := getConcurrently(t, f, ts, 50)
	if n := f.tokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	fetched := 0
	for i := range toks {
		if errs[i] != nil || toks[i] != toks[0] {
			t.Fatalf("caller %d: %v, token %p, want %p", i, errs[i], toks[i], toks[0])
		}
		if origins[i] == bitbucket.Fetched {
			fetched++
		}
	}
	if fetched != 1 {
		t.Errorf("%d callers say they fetched, want 1 (the rest Shared or Reused)", fetched)
	}
}

func TestFailureGoesToEveryWaiter(t *testing.T) {
	f := newFake(t)
	f.reply = func(int) (int, string, string) {
		return http.StatusBadRequest, "application/json", `{"error":"unauthorized_client","error_description":"Invalid OAuth client credentials"}`
	}
	ts := bitbucket.NewTokenSource(f.config(nil))
	_, _, errs := getConcurrently(t, f, ts, 20)
	for i, err := range errs {
		var e *bitbucket.Error
		if !errors.As(err, &e) || e.Code != "unauthorized_client" || e.Status != 400 {
			t.Fatalf("caller %d: %v, want the token endpoint's unauthorized_client", i, err)
		}
	}
	if n := f.tokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

func TestHangingTokenEndpoint(t *testing.T) {
	f := newFake(t)
	f.release = make(chan struct{}) // never closed: the endpoint hangs
	cfg := f.config(nil)
	cfg.HTTPClient = bitbucket.NewHTTPClient(300 * time.Millisecond)
	ts := bitbucket.NewTokenSource(cfg)

	// A caller whose own context ends stops waiting, without a new request.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for f.tokenRequests() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if _, _, err := ts.Get(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v, want context.Canceled", err)
	}
	// The fetch it started goes on; callers waiting for it share its timeout.
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			var e *bitbucket.Error
			if _, _, err := ts.Get(context.Background()); !errors.As(err, &e) || !e.Timeout() {
				t.Errorf("waiting caller: %v, want a timeout", err)
			}
		})
	}
	wg.Wait()
	if n := f.tokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1: callers share the hanging fetch", n)
	}
}

func TestCancelledStarterDoesNotCancelTheFetch(t *testing.T) {
	f := newFake(t)
	f.release = make(chan struct{})
	ts := bitbucket.NewTokenSource(f.config(nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, _, err := ts.Get(ctx); done <- err }()
	for f.tokenRequests() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	// A caller waiting for that fetch may give up too, for itself only.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, origin, err := ts.Get(ctx); !errors.Is(err, context.Canceled) || origin != bitbucket.Shared {
		t.Errorf("a waiter that gave up: %v, %v; want context.Canceled while sharing the fetch", origin, err)
	}
	result := make(chan error)
	go func() { _, _, err := ts.Get(context.Background()); result <- err }()
	time.Sleep(20 * time.Millisecond)
	close(f.release)
	if err := <-result; err != nil {
		t.Fatalf("the fetch failed with its starter: %v", err)
	}
	if n := f.tokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

func TestFailureIsRememberedForTheBackoff(t *testing.T) {
	f, clock := newFake(t), newClock()
	f.reply = func(int) (int, string, string) { return http.StatusServiceUnavailable, "text/html", "<h1>down</h1>" }
	ts := bitbucket.NewTokenSource(f.config(clock.Now))
	_, _, first := ts.Get(context.Background())
	clock.Advance(bitbucket.FailureBackoff - time.Second)
	_, origin, again := ts.Get(context.Background())
	if first == nil || again != first || origin != bitbucket.Reused || f.tokenRequests() != 1 {
		t.Fatalf("within the back-off: %v (origin %v), first %v, %d requests; want the same failure, no request", again, origin, first, f.tokenRequests())
	}
	clock.Advance(2 * time.Second)
	ts.Get(context.Background()) //nolint:errcheck
	if n := f.tokenRequests(); n != 2 {
		t.Errorf("after the back-off: %d token requests, want 2", n)
	}
}

func TestFailedRenewalKeepsTheValidToken(t *testing.T) {
	f, clock := newFake(t), newClock()
	ts := bitbucket.NewTokenSource(f.config(clock.Now))
	ctx := context.Background()
	tok, _, _ := ts.Get(ctx)
	f.mu.Lock()
	f.reply = func(int) (int, string, string) { return http.StatusInternalServerError, "text/plain", "oops" }
	f.mu.Unlock()

	clock.Advance(7200*time.Second - 30*time.Second) // due for renewal, still valid
	if got, origin, err := ts.Get(ctx); err != nil || got != tok || origin != bitbucket.Renewing {
		t.Fatalf("due for renewal: %v, %v, %v; want the current token, Renewing", got, origin, err)
	}
	eventually(t, "the renewal", func() bool { return f.tokenRequests() == 2 })
	for range 3 { // the renewal failed: the token still works
		if got, _, err := ts.Get(ctx); err != nil || got != tok {
			t.Fatalf("after a failed renewal: %v, %v; want the current token", got, err)
		}
	}
	clock.Advance(time.Minute) // expired now
	if _, _, err := ts.Get(ctx); err == nil {
		t.Fatal("an expired token was handed out")
	}
}

// While a still-valid token is renewed, no caller waits for the renewal,
// even when the token endpoint hangs.
func TestRenewalDoesNotMakeCallersWait(t *testing.T) {
	f, clock := newFake(t), newClock()
	ts := bitbucket.NewTokenSource(f.config(clock.Now))
	tok, _, _ := ts.Get(context.Background())
	release := make(chan struct{})
	defer close(release)
	f.mu.Lock()
	f.release = release // the renewal hangs
	f.mu.Unlock()
	clock.Advance(7200*time.Second - 30*time.Second)
	for i := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		got, _, err := ts.Get(ctx)
		cancel()
		if err != nil || got != tok {
			t.Fatalf("call %d during the renewal: %v, %v; want the current token at once", i, got, err)
		}
	}
}

func TestTokenSourceIsAnOAuth2TokenSource(t *testing.T) {
	f := newFake(t)
	var ts oauth2.TokenSource = bitbucket.NewTokenSource(f.config(nil))
	client := oauth2.NewClient(context.Background(), ts)
	resp, err := client.Get(f.URL + "/2.0/repositories/my-team")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("oauth2.NewClient with the token source: %v %v", resp, err)
	}
	resp.Body.Close()
}
