package main

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// newUpstreamClient returns the one http.Client the app uses for Bitbucket:
// the token request and the API calls alike. Its Timeout bounds each call
// (http.DefaultClient has none, and would let a stuck upstream hang a page
// for ever). Its transport keeps connections alive for reuse and logs and
// traces every exchange.
func newUpstreamClient(timeout time.Duration, logger *slog.Logger) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// Concurrent page loads call the same host. Cap the connections to it,
	// and keep that many idle, so that a burst of page loads queues for a
	// connection instead of opening (and then discarding) hundreds: each
	// costs memory, a TLS handshake with Bitbucket, and goroutines.
	transport.MaxConnsPerHost = 128
	transport.MaxIdleConnsPerHost = 128
	return &http.Client{
		Timeout:   timeout,
		Transport: &tracingTransport{next: transport, log: logger},
	}
}

// exchange is one HTTP request to Bitbucket and its answer, as the results
// page shows it.
type exchange struct {
	Method   string
	URL      string
	Auth     string // "Basic <redacted>", or "Bearer " and the masked token
	Status   int    // 0 when no response came back
	Err      string // why no response came back
	Start    time.Time
	Duration time.Duration
}

// trace collects the exchanges of one page load. API calls run
// concurrently, so it is safe for concurrent use.
type trace struct {
	mu        sync.Mutex
	exchanges []exchange
	notes     []string // e.g. that the cached token was reused
}

type traceKey struct{}

// withTrace attaches tr to ctx, for tracingTransport to find.
func withTrace(ctx context.Context, tr *trace) context.Context {
	if tr == nil {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, tr)
}

func (t *trace) add(e exchange) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.exchanges = append(t.exchanges, e)
}

// note adds a line to the page, once: concurrent calls may say the same.
func (t *trace) note(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !slices.Contains(t.notes, s) {
		t.notes = append(t.notes, s)
	}
}

// list returns the exchanges in the order they started.
func (t *trace) list() []exchange {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]exchange(nil), t.exchanges...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// tracingTransport logs one line per upstream call and records it in the
// page's trace, if the request's context carries one. It never logs or
// records a credential: Basic credentials are redacted whole, a Bearer
// token is masked.
type tracingTransport struct {
	next http.RoundTripper
	log  *slog.Logger
}

func (t *tracingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	e := exchange{
		Method:   req.Method,
		URL:      req.URL.Redacted(),
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
	}
	if tr, ok := req.Context().Value(traceKey{}).(*trace); ok {
		tr.add(e)
	}
	return resp, err
}

// describeAuth shows what kind of credentials a request carried, without
// the credentials.
func describeAuth(h string) string {
	scheme, value, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "":
		return "none"
	case "basic":
		return "Basic <redacted>"
	case "bearer":
		return "Bearer " + mask(value)
	}
	return scheme + " <redacted>"
}

// mask shows at most the first 4 and last 4 characters of a credential, and
// none of a short one, so it can be recognised but not used.
func mask(s string) string {
	if len(s) < 16 {
		return "****"
	}
	return s[:4] + "…" + s[len(s)-4:]
}
