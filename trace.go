package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// The results page lists every HTTP exchange its page load made with
// Bitbucket. Package bitbucket knows nothing of pages: the app wraps the
// http.Client's transport in tracingTransport, which finds the page load's
// recorder in the request's context, the way net/http/httptrace works.

// exchange is one HTTP request to Bitbucket and its answer.
type exchange struct {
	Method   string
	URL      string
	Auth     string // "Basic <redacted>", or "Bearer " and the masked token
	Status   int    // 0 when no answer came back
	Err      string // why no answer, or no whole body, came back
	Start    time.Time
	Duration time.Duration
}

// recorder collects one page load's exchanges. Calls run concurrently.
type recorder struct {
	mu        sync.Mutex
	exchanges []*exchange
}

type recorderKey struct{}

func withRecorder(ctx context.Context, rec *recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, rec)
}

func (r *recorder) add(e *exchange) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exchanges = append(r.exchanges, e)
}

// list returns copies of the exchanges in the order they started.
func (r *recorder) list() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]exchange, len(r.exchanges))
	for i, e := range r.exchanges {
		out[i] = *e
	}
	slices.SortStableFunc(out, func(a, b exchange) int { return a.Start.Compare(b.Start) })
	return out
}

// tracingTransport logs one short line per upstream call and records it
// for the page, if the request's context carries a recorder. It never logs
// or records a credential: Basic credentials are redacted whole, a Bearer
// token is masked.
type tracingTransport struct {
	next   http.RoundTripper
	log    *slog.Logger
	redact func(string) string // set once the token source exists: a URL from upstream (a redirect's) may hold a credential
}

func (t *tracingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec, _ := req.Context().Value(recorderKey{}).(*recorder)
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	e := &exchange{
		Method:   req.Method,
		URL:      clip(t.redact(req.URL.Redacted()), 300),
		Auth:     describeAuth(req.Header.Get("Authorization")),
		Start:    start,
		Duration: time.Since(start),
	}
	attrs := []any{"method", e.Method, "url", e.URL, "duration", e.Duration.Round(time.Microsecond)}
	if err != nil {
		e.Err = describeNetError(err)
		t.log.Warn("upstream call failed", append(attrs, "error", e.Err)...)
	} else {
		e.Status = resp.StatusCode
		t.log.Info("upstream call", append(attrs, "status", e.Status)...)
		// A body that stops arriving is a failed exchange too.
		resp.Body = &watchedBody{ReadCloser: resp.Body, e: e, rec: rec}
	}
	rec.add(e)
	return resp, err
}

// watchedBody notes on the exchange when its body fails part way.
type watchedBody struct {
	io.ReadCloser
	e   *exchange
	rec *recorder
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.rec != nil {
		b.rec.mu.Lock()
		if b.e.Err == "" {
			// Which error comes here depends on who gave up first (the
			// client's timeout, the page's deadline): the page's failure
			// box says why; this says what.
			b.e.Err = "the body stopped arriving"
		}
		b.rec.mu.Unlock()
	}
	return n, err
}

// describeAuth shows what kind of credentials a request carried, without
// the credentials.
func describeAuth(h string) string {
	scheme, value, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "":
		return "none"
	case "bearer":
		return "Bearer " + mask(value)
	}
	return clip(scheme, 20) + " <redacted>"
}

// describeNetError says in a few words why a call got no answer, as the
// page explains it: the Go error's text can be long, and is for the log.
func describeNetError(err error) string {
	return explain(context.Background(), err).Message
}

// mask shows at most the first 4 and last 4 characters of a credential,
// and none of a short one, so it can be recognised but not used.
func mask(s string) string {
	if len(s) < 16 {
		return "****"
	}
	return s[:4] + "…" + s[len(s)-4:]
}
