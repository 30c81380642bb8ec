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

	"bitbucket-client-credentials-sample/internal/explain"
)

// The results page lists every HTTP exchange its page load made with
// Bitbucket. Package bitbucket knows nothing of pages: the app wraps the
// http.Client's transport in tracingTransport, which finds the page load's
// recorder in the request's context, the way net/http/httptrace works.

// exchange is one HTTP request to Bitbucket and its answer.
type exchange struct {
	Method   string
	URL      string // without its query's secrets: the app puts none there, and upstream text is redacted
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

// tracingTransport names the app on every request to Bitbucket (User-Agent),
// logs one short line per call, and records it for the page whose context
// carries a recorder. It never logs or records a credential: Basic
// credentials are redacted whole, a Bearer token is masked, and each token
// it sees is handed to the redactor, so that no echo of it reaches a page.
type tracingTransport struct {
	next   http.RoundTripper
	log    *slog.Logger
	redact *redactor
}

func (t *tracingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context()) // a RoundTripper must not change the caller's request
	req.Header.Set("User-Agent", userAgent)
	auth := req.Header.Get("Authorization")
	if token, ok := strings.CutPrefix(auth, "Bearer "); ok {
		t.redact.remember(token)
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	e := &exchange{Method: req.Method, URL: t.redact.clip(req.URL.Redacted(), 2000), Auth: describeAuth(auth),
		Start: start, Duration: time.Since(start)}
	attrs := []any{"method", e.Method, "url", e.URL, "duration", e.Duration.Round(time.Microsecond)}
	if err != nil {
		e.Err = explain.Failure(context.Background(), err, t.redact.clip).Message
		t.log.Warn("upstream call failed", append(attrs, "error", e.Err)...)
	} else {
		e.Status = resp.StatusCode
		t.log.Info("upstream call", append(attrs, "status", e.Status)...)
	}
	rec, _ := req.Context().Value(recorderKey{}).(*recorder)
	if rec != nil {
		if resp != nil { // a body that stops arriving is a failed exchange too
			resp.Body = &watchedBody{ReadCloser: resp.Body, e: e, rec: rec}
		}
		rec.mu.Lock()
		rec.exchanges = append(rec.exchanges, e)
		rec.mu.Unlock()
	}
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
	if err != nil && err != io.EOF {
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

// mask shows at most the first 4 and last 4 characters of a credential,
// and none of a short one, so it can be recognised but not used.
func mask(s string) string {
	if len(s) < 16 {
		return "****"
	}
	return s[:4] + "…" + s[len(s)-4:]
}
