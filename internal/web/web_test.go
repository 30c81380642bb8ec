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

// TestEscapingErrorsStopTheStartUp: a page html/template cannot escape is an
// error of NewRenderer, at start-up, not a 500 on the first request for it.
func TestEscapingErrorsStopTheStartUp(t *testing.T) {
	layout := `{{define "layout"}}<title>{{.Title}}</title>{{template "content" .}}{{end}}`
	for _, tt := range []struct {
		name, page, wantErr string
	}{
		{"escapes", `{{define "content"}}<a href="{{.Page}}">{{.Status}}</a>{{end}}`, ""},
		{"fails without data but escapes", `{{define "content"}}{{.Page.Missing}}{{end}}`, ""},
		{"branches end in different contexts", `{{define "content"}}{{if .Page}}<a href="{{end}}x">{{end}}`, "escaping page.html"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := fstest.MapFS{"layout.html": {Data: []byte(layout)}, "page.html": {Data: []byte(tt.page)}}
			_, err := NewRenderer(files, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("NewRenderer: %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("NewRenderer: %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}
