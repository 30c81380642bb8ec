package main

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"bitbucket-client-credentials-sample/internal/config"
)

// contentSecurityPolicy allows no inline script or style, nothing from other
// origins but https images, and no framing: the pages show token details.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' https:; frame-ancestors 'none'; " +
	"base-uri 'none'; form-action 'self'"

// withSecurityHeaders sets the headers every response carries.
func withSecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}

func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// withHostCheck serves only the host names config.HostAllowed lists (IP
// literals, localhost, *.localhost and ALLOWED_HOSTS) and refuses every
// other request before any handler runs: the defence against DNS rebinding
// (internal/config's hosts.go says how it works).
//
// It looks at r.Host. For a request line in absolute form
// ("GET http://evil.example/ HTTP/1.1") Go sets r.Host from that URL and
// ignores the Host header, as RFC 9112 says a server must, so both forms
// are checked the same way.
//
// The status is 421 Misdirected Request (RFC 9110, section 15.5.20): the
// request reached a server that will not answer for that host name. 403
// would say the client lacks a permission, and no permission would help.
func withHostCheck(allowed []string, pages *renderer, logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if config.HostAllowed(r.Host, allowed) {
			next.ServeHTTP(w, r)
			return
		}
		host := config.HostName(r.Host)
		logger.Warn("refused a request for a host name the app does not serve (set ALLOWED_HOSTS to serve it)",
			"host", config.ClipShown(r.Host), "path", config.ClipShown(r.URL.Path))
		message := "This request has no Host header. The app answers only requests for localhost, " +
			"a name under .localhost, an IP address, or a name listed in ALLOWED_HOSTS."
		switch {
		case host != "" && config.HostAllowed(host, allowed): // the name is fine, the port is not
			message = "The Host header " + config.QuoteClipped(r.Host) + " has a port that is not a number."
		case host != "":
			message = "This app does not answer to the host name " + config.QuoteClipped(host) + ". It serves localhost, " +
				"names under .localhost and IP addresses, so that no other website can point its own name at " +
				"this machine and read these pages (DNS rebinding). If you chose this name yourself, add it to " +
				"ALLOWED_HOSTS (comma-separated, in .env or the environment) and restart the app."
		}
		setSecurityHeaders(w.Header())
		pages.errorPage(w, http.StatusMisdirectedRequest, message)
	})
}

// withCrossSiteCheck refuses what another website's page makes the browser
// ask for: an <img src="http://localhost:3000/oauth-callback?workspace=…">
// on any site would otherwise make the app get a token and call Bitbucket,
// spending the consumer's rate limit. Browsers say where a request comes
// from in the Sec-Fetch-* headers (Fetch Metadata):
//
//   - Sec-Fetch-Site: cross-site means another site's page started it, and
//     same-site a page on this machine under another port (another dev
//     server on localhost is the same site);
//   - Sec-Fetch-Mode: navigate with Sec-Fetch-Dest: document is a top-level
//     navigation (a link the person followed, a bookmark), which stays
//     allowed: the person sees where they land. A navigation into an
//     <iframe> or <object> is not: it would run the page unseen, and nor is
//     a prefetch (Sec-Purpose: prefetch), which nobody sees either.
//
// Requests without these headers (curl, scripts, older browsers) are not
// from another site's page, and keep working.
func withCrossSiteCheck(pages *renderer, logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if site := r.Header.Get("Sec-Fetch-Site"); (site != "cross-site" && site != "same-site") || isTopLevelNavigation(r) {
			next.ServeHTTP(w, r)
			return
		}
		logger.Warn("refused a request another website's page made", "sec_fetch_site", config.ClipShown(r.Header.Get("Sec-Fetch-Site")),
			"path", config.ClipShown(r.URL.Path))
		setSecurityHeaders(w.Header())
		pages.errorPage(w, http.StatusForbidden, "Another website's page asked your browser for this address, "+
			"so the app refused without calling Bitbucket. To see this page, open the address yourself.")
	})
}

func isTopLevelNavigation(r *http.Request) bool {
	dest := r.Header.Get("Sec-Fetch-Dest")
	return r.Header.Get("Sec-Fetch-Mode") == "navigate" && (dest == "" || dest == "document") &&
		!strings.Contains(r.Header.Get("Sec-Purpose"), "prefetch")
}

// withRecovery turns a panic in a handler into the app's 500 page and one
// structured log line with the stack. net/http already recovers a handler's
// panic, so one bad request never takes the server down; but it only logs
// the panic and drops the connection, so the browser shows a network error.
// (A panic in another goroutine is not recovered by either: see call.)
func withRecovery(pages *renderer, logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { // the handler's way to abort a response
				panic(v)
			}
			logger.Error("panic in handler", "method", r.Method, "path", config.ClipShown(r.URL.Path),
				"panic", v, "stack", string(debug.Stack()))
			if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
				return // the response has started: too late for an error page
			}
			pages.errorPage(w, http.StatusInternalServerError, "Something went wrong in the app. The log has the details.")
		}()
		next.ServeHTTP(w, r)
	})
}

// withRequestLog writes one structured line per request. It logs the path,
// not the query, and no header: nothing a request carries is a secret here,
// but a log is no place to start collecting them.
func withRequestLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		logger.Info("request", "method", r.Method, "path", config.ClipShown(r.URL.Path), "status", sw.status,
			"duration", time.Since(start).Round(time.Microsecond))
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
