package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// BenchmarkResultsPage is the app's own work for one results page, without
// a network: Bitbucket's answers are the stand-in's, recorded once and
// replayed, so that the time is the app's (the middleware, the calls
// through the HTTP client's transports, decoding, the view and the
// template) and not the stand-in's. bench/ measures whole pages over
// loopback against the Express replica; this one shows what a change to
// the app's code costs:
//
//	go test -run '^$' -bench ResultsPage -benchmem -cpu 1 -count 5 .
func BenchmarkResultsPage(b *testing.B) {
	f := newMemFixture(b, withWorkspace("bitbucket-demo"))
	type answer struct {
		status int
		header http.Header
		body   []byte
	}
	var mu sync.Mutex
	answers := map[string]answer{} // by method and URL
	live := f.transport
	replay := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		key := r.Method + " " + r.URL.String()
		mu.Lock()
		a, ok := answers[key]
		mu.Unlock()
		if !ok {
			resp, err := live.RoundTrip(r)
			if err != nil {
				return nil, err
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return nil, err
			}
			a = answer{resp.StatusCode, resp.Header, body}
			mu.Lock()
			answers[key] = a
			mu.Unlock()
		}
		return &http.Response{StatusCode: a.status, Header: a.header.Clone(), Body: io.NopCloser(bytes.NewReader(a.body)),
			ContentLength: int64(len(a.body)), Request: r, ProtoMajor: 1, ProtoMinor: 1}, nil
	})
	h, err := newServer(f.cfg, newTestLogger(io.Discard), replay)
	if err != nil {
		b.Fatal(err)
	}
	load := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://localhost:3000/oauth-callback", nil))
		return rec
	}
	if rec := load(); rec.Code != http.StatusOK { // it fetches the token, and records the answers
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	b.ReportAllocs()
	for b.Loop() {
		if rec := load(); rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
