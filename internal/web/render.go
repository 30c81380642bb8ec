package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
)

// pageData is what the layout template receives.
type pageData struct {
	Title  string
	Site   any // what every page's banner shows
	Status int
	Page   any // the page's own data
}

// Renderer holds the parsed templates: each page is the layout plus the
// page's own file, parsed once at start-up.
type Renderer struct {
	pages map[string]*template.Template
	site  any
	log   *slog.Logger
	bufs  sync.Pool
}

// NewRenderer parses every *.html of files with layout.html, which defines
// "layout" around each page's "content". site is what every page's banner
// shows.
func NewRenderer(files fs.FS, site any, logger *slog.Logger) (*Renderer, error) {
	names, err := fs.Glob(files, "*.html")
	if err != nil {
		return nil, err
	}
	rd := &Renderer{pages: map[string]*template.Template{}, site: site, log: logger}
	rd.bufs.New = func() any { return bytes.NewBuffer(make([]byte, 0, 32<<10)) } // pages are 3 to 20 kB: no growing
	for _, page := range names {
		if page == "layout.html" {
			continue
		}
		t, err := template.ParseFS(files, "layout.html", page)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", page, err)
		}
		// html/template escapes a template (works out, for each value, the
		// context it lands in) on its first execution: do it now, so that
		// an escaping error stops the start-up and the first request pays
		// nothing. Without data the execution itself may fail; only an
		// escaping error (*template.Error) matters here.
		if err := t.ExecuteTemplate(io.Discard, "layout", pageData{}); errors.As(err, new(*template.Error)) {
			return nil, fmt.Errorf("escaping %s: %w", page, err)
		}
		rd.pages[page] = t
	}
	return rd, nil
}

// Render is the one way a page is written. It executes the template into a
// buffer first, so that a template error becomes a clean 500 instead of half
// a page.
func (rd *Renderer) Render(w http.ResponseWriter, status int, page, title string, data any) {
	buf := rd.bufs.Get().(*bytes.Buffer)
	defer rd.bufs.Put(buf)
	if err := rd.execute(buf, status, page, title, data); err != nil {
		rd.log.Error("rendering failed", "page", page, "error", err)
		http.Error(w, "Internal Server Error: the page could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len())) // the length known: no chunked encoding
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck // nothing to do if the client went away
}

// RenderBytes renders a page that is the same for every request, once.
func (rd *Renderer) RenderBytes(status int, page, title string, data any) ([]byte, error) {
	var buf bytes.Buffer
	err := rd.execute(&buf, status, page, title, data)
	return buf.Bytes(), err
}

func (rd *Renderer) execute(buf *bytes.Buffer, status int, page, title string, data any) error {
	buf.Reset()
	t, ok := rd.pages[page]
	if !ok {
		return fmt.Errorf("no template %q", page)
	}
	return t.ExecuteTemplate(buf, "layout", pageData{Title: title, Site: rd.site, Status: status, Page: data})
}

// ErrorPage shows a short, specific message with the right status. The
// message is written for people; details go to the log.
func (rd *Renderer) ErrorPage(w http.ResponseWriter, status int, message string) {
	rd.Render(w, status, "error.html", http.StatusText(status), message)
}
