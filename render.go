package main

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
)

// The templates and static files are compiled into the binary, so the app
// runs from any directory and a deployment is one file.
//
//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// staticFS is the static folder, for /static/.
func staticFS() fs.FS {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the folder is embedded at build time
	}
	return sub
}

// siteInfo is what every page shows in its banner: which mode is on, the
// Bitbucket in use, and how to switch.
type siteInfo struct {
	Demo       bool
	DemoReason string
	Host       string // "Bitbucket Cloud", or the API's host when it is another
}

// landingView is the landing page's own data: the configuration, with the
// consumer key masked and the secret never.
type landingView struct {
	TokenURL, APIURL, Workspace, KeyMasked, Timeout string
}

// pageData is what the layout template receives.
type pageData struct {
	Title  string
	Site   siteInfo
	Status int
	Page   any // the page's own data
}

// renderer holds the parsed templates: each page is the layout plus the
// page's own file, parsed once at start-up.
type renderer struct {
	pages map[string]*template.Template
	site  siteInfo
	log   *slog.Logger
	bufs  sync.Pool
}

func newRenderer(site siteInfo, logger *slog.Logger) (*renderer, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	rd := &renderer{pages: map[string]*template.Template{}, site: site, log: logger}
	rd.bufs.New = func() any { return new(bytes.Buffer) }
	for _, name := range names {
		page := name[len("templates/"):]
		if page == "layout.html" {
			continue
		}
		t, err := template.ParseFS(templateFiles, "templates/layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", name, err)
		}
		rd.pages[page] = t
	}
	return rd, nil
}

// render is the one way a page is written. It executes the template into a
// buffer first, so that a template error becomes a clean 500 instead of half
// a page.
func (rd *renderer) render(w http.ResponseWriter, status int, page, title string, data any) {
	buf := rd.bufs.Get().(*bytes.Buffer)
	defer rd.bufs.Put(buf)
	if err := rd.execute(buf, status, page, title, data); err != nil {
		rd.log.Error("rendering failed", "page", page, "error", err)
		http.Error(w, "Internal Server Error: the page could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck // nothing to do if the client went away
}

// renderBytes renders a page that is the same for every request, once.
func (rd *renderer) renderBytes(status int, page, title string, data any) ([]byte, error) {
	var buf bytes.Buffer
	err := rd.execute(&buf, status, page, title, data)
	return buf.Bytes(), err
}

func (rd *renderer) execute(buf *bytes.Buffer, status int, page, title string, data any) error {
	buf.Reset()
	t, ok := rd.pages[page]
	if !ok {
		return fmt.Errorf("no template %q", page)
	}
	return t.ExecuteTemplate(buf, "layout", pageData{Title: title, Site: rd.site, Status: status, Page: data})
}

// errorPage shows a short, specific message with the right status. The
// message is written for people; details go to the log.
func (rd *renderer) errorPage(w http.ResponseWriter, status int, message string) {
	rd.render(w, status, "error.html", http.StatusText(status), message)
}
