// Package web is the plumbing every page of the app shares: the templates
// and the one render helper, the headers every answer carries, the checks
// that refuse what other websites make a browser ask for, and the logs.
// Command main lists the routes and puts these around them.
package web

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"bitbucket-client-credentials-sample/internal/config"
)

// contentSecurityPolicy allows no inline script or style, nothing from other
// origins but https images, and no framing: the pages show token details.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' https:; frame-ancestors 'none'; " +
	"base-uri 'none'; form-action 'self'"

// SecurityHeaders sets the headers every response carries.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}

// securityHeaders are built once; each answer gets the same values (a
// one-element slice: Header.Add on one of them allocates a new slice
// rather than writing into this one).
var securityHeaders = http.Header{
	"Content-Security-Policy": {contentSecurityPolicy},
	"X-Content-Type-Options":  {"nosniff"},
	"Referrer-Policy":         {"no-referrer"},
	"X-Frame-Options":         {"DENY"},
}

func setSecurityHeaders(h http.Header) {
	for name, values := range securityHeaders {
		h[name] = values
	}
}

// HostCheck serves only the host names config.HostAllowed lists (IP
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
func HostCheck(allowed []string, pages *Renderer, refusals *RefusalLog, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if config.HostAllowed(r.Host, allowed) {
			next.ServeHTTP(w, r)
			return
		}
		host := config.HostName(r.Host)
		refusals.Warn(w, "refused a request for a host name the app does not serve (set ALLOWED_HOSTS to serve it)",
			"status", http.StatusMisdirectedRequest, "host", config.ClipShown(r.Host), "path", config.ClipShown(r.URL.Path))
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
		pages.ErrorPage(w, http.StatusMisdirectedRequest, message)
	})
}

// CrossSiteCheck refuses what a browser asks for on another page's
// behalf, before any handler runs: an <img src="http://localhost:3000/oauth-callback">
// on any site would otherwise make the app get a token and call Bitbucket,
// spending the consumer's rate limit. Browsers say where a request comes
// from in the Sec-Fetch-* headers (Fetch Metadata):
//
//   - Sec-Fetch-Site: cross-site means another site's page started it, and
//     same-site a page on this machine under another port (another dev
//     server on localhost is the same site);
//   - Sec-Fetch-Mode: navigate with Sec-Fetch-Dest: document is a top-level
//     navigation (a link followed, a bookmark): the results page decides
//     about those (AskedByAPerson). A navigation into an <iframe> or
//     <object> would run the page unseen, so it is refused here.
//
// A prefetch or a prerender (Sec-Purpose or Purpose says so) is refused
// whatever Sec-Fetch-Site says: any website can ask Chromium to prefetch a
// URL through speculation rules, with no click, and the request then says
// Sec-Fetch-Site: none, like an address typed by hand.
//
// Requests without these headers (curl, scripts) are not from another
// site's page: AskedByAPerson decides about the results page for them.
func CrossSiteCheck(pages *Renderer, refusals *RefusalLog, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var message string
		switch site := r.Header.Get("Sec-Fetch-Site"); {
		case isSpeculative(r.Header):
			message = "Your browser asked for this address ahead of time (a prefetch or prerender), " +
				"which any website can trigger, so the app refused without calling Bitbucket. Open the address yourself to see the page."
		case (site == "cross-site" || site == "same-site") && !isTopLevelNavigation(r):
			message = "Another website's page asked your browser for this address, " +
				"so the app refused without calling Bitbucket. To see this page, open the address yourself."
		default:
			next.ServeHTTP(w, r)
			return
		}
		refusals.Warn(w, "refused a request another page made", "status", http.StatusForbidden, "sec_fetch_site", config.ClipShown(r.Header.Get("Sec-Fetch-Site")),
			"sec_purpose", config.ClipShown(r.Header.Get("Sec-Purpose")+r.Header.Get("Purpose")), "path", config.ClipShown(r.URL.Path))
		setSecurityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-store") // a refused prefetch must not stand in for the real page
		pages.ErrorPage(w, http.StatusForbidden, message)
	})
}

func isTopLevelNavigation(r *http.Request) bool {
	dest := r.Header.Get("Sec-Fetch-Dest")
	return r.Header.Get("Sec-Fetch-Mode") == "navigate" && (dest == "" || dest == "document")
}

// isSpeculative reports whether a request is a prefetch or a prerender:
// Sec-Purpose (Chromium's speculation rules, <link rel=prefetch>), the
// older Purpose and X-Purpose, and Firefox's X-Moz.
func isSpeculative(h http.Header) bool {
	for _, name := range []string{"Sec-Purpose", "Purpose", "X-Purpose", "X-Moz"} {
		v := strings.ToLower(h.Get(name))
		if strings.Contains(v, "prefetch") || strings.Contains(v, "prerender") || strings.Contains(v, "preview") {
			return true
		}
	}
	return false
}

// OriginCookie is the proof of origin the results page asks of a browser
// that sends no Fetch Metadata: browsers send none to a plain-http name
// that is not loopback, such as one listed in ALLOWED_HOSTS. The landing
// page and the confirmation page set it; SameSite=Strict keeps the browser
// from sending it with a request another site's page starts, and its value,
// random for each run of the app, cannot be guessed by a page that tries to
// set one of its own. HttpOnly keeps scripts from reading it.
const OriginCookie = "bitbucket-sample-origin"

// OriginCookieLine is the Set-Cookie header that sets the origin cookie
// with this run's value. Handlers build it once, at start-up, and add it
// to each answer that sets the cookie.
func OriginCookieLine(value string) string {
	return (&http.Cookie{Name: OriginCookie, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode}).String()
}

// AskedByAPerson reports whether a results page request comes from a person
// rather than from a page that made the browser load it. Only then does the
// app spend the consumer's rate limit on it:
//
//   - A navigation from another site, or from another port of this machine
//     (same-site), needs a person's activation, a click or a key press
//     (Sec-Fetch-User: ?1): a page that opened a window and navigates it by
//     script sends none, and could otherwise load the page hundreds of
//     times, and time each load.
//   - A request without Fetch Metadata to a name that is not loopback comes
//     from a browser that sends none there (plain http), so it needs the
//     origin cookie. On loopback, browsers always send Fetch Metadata: a
//     request without it comes from curl or a script, which is fine.
//   - Anything else is the app's own page, or an address typed by hand.
func AskedByAPerson(r *http.Request, cookieValue string) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return r.Header.Get("Sec-Fetch-User") == "?1"
	case "":
		if config.LoopbackHost(r.Host) {
			return true
		}
		c, err := r.Cookie(OriginCookie)
		return err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(cookieValue)) == 1
	}
	return true
}

// Recovery turns a panic in a handler into the app's 500 page and one
// structured log line with the stack. net/http already recovers a handler's
// panic, so one bad request never takes the server down; but it only logs
// the panic and drops the connection, so the browser shows a network error.
// (A panic in another goroutine is not recovered by either: see command
// main's call.)
func Recovery(pages *Renderer, logger *slog.Logger, next http.Handler) http.Handler {
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
			pages.ErrorPage(w, http.StatusInternalServerError, "Something went wrong in the app. The log has the details.")
		}()
		next.ServeHTTP(w, r)
	})
}

// RequestLog writes one structured line per request, but none for a
// request that succeeded (2xx or 304, not a redirect) on a quiet path
// (quiet reports which): a monitor polls a health check every few seconds,
// and each page loads its style sheet and script, lines that would bury
// those about the flow (and each costs a write to the terminal). It logs
// the path, not the query, and no header: nothing a request carries is a
// secret here, but a log is no place to start collecting them.
func RequestLog(logger *slog.Logger, quiet func(path string) bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.refused {
			return // RefusalLog wrote its own line, or counted it
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		if (sw.status < http.StatusMultipleChoices || sw.status == http.StatusNotModified) && quiet(r.URL.Path) {
			return
		}
		logger.Info("request", "method", r.Method, "path", config.ClipShown(r.URL.Path), "status", sw.status,
			"duration", time.Since(start).Round(time.Microsecond))
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status  int
	refused bool // set by RefusalLog.warn
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

// RefusalLog logs refused requests at a bounded rate. A page on another
// site can make a browser send thousands of requests a minute, and one log
// line each would bury everything else: it writes at most refusalBurst
// lines in each refusalWindow, then one line that counts the rest.
type RefusalLog struct {
	log     *slog.Logger
	mu      sync.Mutex
	start   time.Time // of the current window
	logged  int       // lines written in it
	dropped int       // refusals not written yet
}

// NewRefusalLog returns a RefusalLog that writes to logger.
func NewRefusalLog(logger *slog.Logger) *RefusalLog { return &RefusalLog{log: logger} }

const (
	refusalWindow = 10 * time.Second
	refusalBurst  = 20
)

// warn logs a refusal, or counts it when the window's lines are spent. The
// request log then leaves the request out: this is its line.
func (l *RefusalLog) Warn(w http.ResponseWriter, msg string, args ...any) {
	if sw, ok := w.(*statusWriter); ok {
		sw.refused = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); now.Sub(l.start) >= refusalWindow {
		l.start, l.logged = now, 0
	}
	if l.logged < refusalBurst {
		l.logged++
		l.log.Warn(msg, args...)
		return
	}
	if l.dropped == 0 {
		time.AfterFunc(time.Until(l.start.Add(refusalWindow)), l.flush)
	}
	l.dropped++
}

func (l *RefusalLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.Warn("more requests were refused, not logged one by one", "refused", l.dropped, "within", refusalWindow)
	l.dropped = 0
}
