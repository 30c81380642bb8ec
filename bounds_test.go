package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"bitbucket-client-credentials-sample/internal/config"
)

// The tests in this file hold the app's bounds: what Bitbucket, or a page
// on another site, can make it spend.

// TestAtMostEightPagesTalkToBitbucket: a ninth results page waits for a
// place within its budget, then gets a 503 that says why, having called
// nobody.
func TestAtMostEightPagesTalkToBitbucket(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newMemFixture(t, withWorkspace("bitbucket-demo"))
		release := make(chan struct{})
		var inFlight, most, calls atomic.Int64
		standin := f.transport
		f.transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.Contains(r.URL.Path, "/repositories/") {
				calls.Add(1)
				n := inFlight.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				<-release // a Bitbucket that does not answer, whatever the page's deadline
				inFlight.Add(-1)
			}
			return standin.RoundTrip(r)
		})
		f = f.rebuild(f.cfg)
		results := make(chan response, 9)
		for range 9 {
			go func() { results <- f.get("/oauth-callback") }()
		}
		r := <-results // once the other eight wait on Bitbucket, time runs to the ninth's deadline
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "8 results pages were already talking to Bitbucket") {
			t.Errorf("the ninth page: status %d, want 503 saying why\n%s", r.status, r.body)
		}
		if n := calls.Load(); n != 8 || most.Load() != 8 {
			t.Errorf("%d calls to list repositories, %d at once; want 8", n, most.Load())
		}
		close(release)
		for range 8 {
			<-results
		}
	})
}

// TestAnswerHeadersAreBounded: Go's client accepts 10 MiB of headers an
// answer; the app takes 64 KiB, ample for Bitbucket's few kB.
func TestAnswerHeadersAreBounded(t *testing.T) {
	t.Parallel()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Padding", strings.Repeat("x", 200<<10))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"a-token-that-is-long-enough-0123456789","token_type":"bearer","expires_in":7200}`)
	}))
	t.Cleanup(upstream.Close)
	f := newFixture(t, withWorkspace("bitbucket-demo"), func(c *config.Config) { c.TokenURL = upstream.URL + "/site/oauth2/access_token" })
	r := f.get("/oauth-callback")
	if r.status != http.StatusBadGateway || !strings.Contains(r.body, "Token request") {
		t.Errorf("an answer with 200 KiB of headers: status %d, want 502 at the token request", r.status)
	}
}

// TestRefusalsAreLoggedAtABoundedRate: a page on another site can make a
// browser send thousands of refused requests; the log gets at most 20
// lines in ten seconds, then one line that counts the rest.
func TestRefusalsAreLoggedAtABoundedRate(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newMemFixture(t)
		for i := range 300 {
			req := httptest.NewRequest(http.MethodGet, "/oauth-callback", nil)
			if i%2 == 0 {
				req.Host = "rebind.example"
			} else {
				req.Header.Set("Sec-Fetch-Site", "cross-site")
				req.Header.Set("Sec-Fetch-Dest", "image")
			}
			f.send(req)
		}
		logs := f.logs.String()
		if n := strings.Count(logs, "msg=\"refused a request"); n != 20 {
			t.Errorf("%d refusal lines for 300 refusals, want 20", n)
		}
		if strings.Contains(logs, "msg=request") {
			t.Error("the request log has a line for each refusal too")
		}
		time.Sleep(10 * time.Second)
		synctest.Wait() // the count goes out when the window ends
		if logs := f.logs.String(); !strings.Contains(logs, "more requests were refused") || !strings.Contains(logs, "refused=280") {
			t.Errorf("no line counts the 280 refusals not logged:\n%s", logs[max(0, len(logs)-500):])
		}
		assertNoUpstreamCall(t, f)
	})
}

// TestInvisibleCharactersAreRemoved: bidi overrides and zero-width
// characters from upstream would reorder or hide what a page or a terminal
// shows around them.
func TestInvisibleCharactersAreRemoved(t *testing.T) {
	t.Parallel()
	const hidden = "\u202e\u2066\u200b\u200d\ufeff"
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/site/oauth2/access_token":
			fmt.Fprint(w, `{"access_token":"a-token-that-is-long-enough-0123456789","token_type":"bearer","expires_in":7200}`)
		case "/2.0/workspaces/ws":
			fmt.Fprintf(w, `{"slug":"ws","name":"gnp.exe%s"}`, hidden)
		case "/2.0/repositories/ws":
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"type":"error","error":{"message":"no%saccess","detail":"d%s"}}`, hidden, hidden)
		}
	}))
	t.Cleanup(upstream.Close)
	f := newFixture(t, withWorkspace("ws"), func(c *config.Config) {
		c.TokenURL, c.APIURL = upstream.URL+"/site/oauth2/access_token", upstream.URL+"/2.0"
	})
	r := f.get("/oauth-callback")
	for where, text := range map[string]string{"the page": r.body, "the log": f.logs.String()} {
		if strings.ContainsAny(text, hidden) {
			t.Errorf("%s holds an invisible character", where)
		}
	}
	if !strings.Contains(r.body, "gnp.exe") || !strings.Contains(r.body, "noaccess") {
		t.Error("the texts did not reach the page at all")
	}
}
