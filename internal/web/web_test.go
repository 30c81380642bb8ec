package web

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// pages is a renderer over a layout and an error page, as the app's.
func pages(t *testing.T, logs io.Writer) *Renderer {
	t.Helper()
	files := fstest.MapFS{
		"layout.html": {Data: []byte(`{{define "layout"}}<title>{{.Title}}</title>{{template "content" .}}{{end}}`)},
		"error.html":  {Data: []byte(`{{define "content"}}<p>{{.Status}}: {{.Page}}</p>{{end}}`)},
	}
	rd, err := NewRenderer(files, nil, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return rd
}

// TestRecovery: a panic in a handler becomes the app's short 500 page and
// one log line with the stack, and the server goes on serving.
func TestRecovery(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	h := RequestLog(logger, func(string) bool { return false }, Recovery(pages(t, &logs), logger, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/boom" {
			panic("something broke")
		}
		w.Write([]byte("fine")) //nolint:errcheck // a recorder
	})))
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{{"/boom", 500, "Something went wrong in the app"}, {"/ok", 200, "fine"}, {"/boom", 500, "The log has the details"}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
		if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.body) || strings.Contains(rec.Body.String(), "something broke") {
			t.Errorf("%s: %d %q, want %d with %q and not the panic", tt.path, rec.Code, rec.Body, tt.status, tt.body)
		}
	}
	if !strings.Contains(logs.String(), `msg="panic in handler"`) || !strings.Contains(logs.String(), "something broke") ||
		!strings.Contains(logs.String(), "goroutine") {
		t.Errorf("the panic and its stack are not in the log:\n%s", logs.String())
	}
}

// TestRenderErrorIsA500: a template that fails to execute gives a clean
// 500, not half a page.
func TestRenderErrorIsA500(t *testing.T) {
	var logs bytes.Buffer
	rd := pages(t, &logs)
	rec := httptest.NewRecorder()
	rd.Render(rec, http.StatusOK, "missing.html", "Missing", nil)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(logs.String(), "rendering failed") {
		t.Errorf("status %d, log %q; want 500 and a log line", rec.Code, logs.String())
	}
}
