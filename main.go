// Command bitbucket-client-credentials-sample shows the OAuth 2.0 client
// credentials grant against Bitbucket Cloud, one step at a time.
//
// It trades a Bitbucket OAuth consumer's key and secret for an access token
// (golang.org/x/oauth2/clientcredentials), calls Bitbucket REST API 2.0 with
// it, and shows every exchange. With no credentials it runs in demo mode,
// against a built-in local stand-in for Bitbucket.
//
// Usage:
//
//	make run                      # or: go run .
//	go run . -demo                # demo mode even with credentials set
//	go run . -config other.json
//
// Then open http://localhost:3000.
//
// Configuration, lowest to highest precedence: built-in defaults,
// config.json, a .env file, and the environment; package internal/config
// lists every variable and key (go doc ./internal/config). Invalid
// configuration exits with status 2. The server listens on 127.0.0.1 unless
// HOST says otherwise, because its pages show token details.
//
// Routes:
//
//	GET /                 the landing page: what the grant is and how it flows
//	GET /healthcheck      {"status":"ok"}; never calls Bitbucket
//	GET /authorize        303 to /oauth-callback: this grant has no consent step
//	GET /oauth-callback   gets the token, calls the API, shows what happened
//	GET /scopes           which permission each API operation needs; ?q= searches
//	GET /static/...       CSS and the flow diagram
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/oauth2"

	"bitbucket-client-credentials-sample/bitbucket"
	"bitbucket-client-credentials-sample/internal/config"
	"bitbucket-client-credentials-sample/internal/explain"
	"bitbucket-client-credentials-sample/internal/scopes"
	"bitbucket-client-credentials-sample/internal/standin"
	"bitbucket-client-credentials-sample/internal/web"
)

func main() {
	err := run(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
	}
	os.Exit(exitCode(err))
}

// exitCode is 0 for a clean stop, 2 for invalid configuration (like a
// command-line usage error), and 1 for anything else.
func exitCode(err error) int {
	var cerr *config.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &cerr):
		return 2
	}
	return 1
}

// shutdownGrace bounds how long a stopping server waits for in-flight pages
// before it cancels their calls to Bitbucket.
const shutdownGrace = 10 * time.Second

// userAgent names the app on every request to Bitbucket (tracingTransport sets it).
const userAgent = "bitbucket-client-credentials-sample/2.0 (Go; +https://developer.atlassian.com/cloud/bitbucket/)"

// run starts the app and serves until ctx is cancelled or the process gets
// SIGINT or SIGTERM; then it lets in-flight pages finish and returns nil.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	// From here Ctrl+C stops the server gracefully (before, it ends the
	// process at once, as it should while start-up reads files).
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	for _, w := range cfg.Warnings {
		logger.Warn(w)
	}

	// Demo mode: start the local stand-in for Bitbucket and point the app
	// at it, with the demo consumer.
	if cfg.Demo {
		base, stopStandin, err := standin.New(standin.Options{NoRecord: true}).Start()
		if err != nil {
			return err
		}
		defer stopStandin() //nolint:errcheck // shutting down anyway
		if cfg.Workspace != "" {
			logger.Info("demo mode ignores the configured workspace", "workspace", cfg.Workspace)
		}
		cfg.ConsumerKey, cfg.ConsumerSecret = standin.DemoKey, standin.DemoSecret
		cfg.TokenURL, cfg.APIURL, cfg.Workspace = base+"/site/oauth2/access_token", base+"/2.0", ""
	}

	handler, err := newServer(cfg, logger, nil)
	if err != nil {
		return err
	}
	// Pages in flight when the app stops get this context's cancellation,
	// with explain.ErrStopping as the cause, once the grace period is over.
	pagesCtx, stopPages := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopPages(explain.ErrStopping)
	srv := newHTTPServer(cfg, handler, logger)
	srv.BaseContext = func(net.Listener) context.Context { return pagesCtx }
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listening on %s:%d: %w (is another server using the port? set PORT)", cfg.Host, cfg.Port, err)
	}
	logStart(ln, cfg, logger, stdout)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	// From here a second Ctrl+C ends the process at once (Go's default).
	stop()

	// Half a call's timeout: pages take well under a second, and Ctrl+C
	// should feel prompt.
	grace := min(shutdownGrace, cfg.Timeout/2)
	logger.Info("shutting down: finishing in-flight pages (press Ctrl+C again to stop at once)", "grace", grace)
	graceCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(graceCtx); err != nil {
		// Out of time: cancel the pages' calls, so that each still gets a
		// page saying the app is stopping, then wait for those pages.
		logger.Warn("grace period over: cancelling the calls of pages still in flight")
		stopPages(explain.ErrStopping)
		finishCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(finishCtx); err != nil {
			srv.Close()
		}
	}
	logger.Info("stopped")
	return nil
}

// newServer builds the app: its dependencies, made once, and every route.
// transport is what carries requests to Bitbucket (nil: Go's own, tuned);
// tests pass their own.
func newServer(cfg config.Config, logger *slog.Logger, transport http.RoundTripper) (http.Handler, error) {
	pages, err := web.NewRenderer(sub(templateFiles, "templates"), siteInfo{Demo: cfg.Demo, DemoReason: cfg.DemoReason, Host: upstreamHost(cfg.APIURL)}, logger)
	if err != nil {
		return nil, err
	}
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// Concurrent pages reach the same host. Cap the connections to it,
		// and keep that many idle (Go keeps two), so that a burst queues
		// for a connection instead of opening and dropping hundreds, each a
		// TLS handshake with Bitbucket. Bitbucket's headers are a few kB: Go
		// would take 10 MiB of them an answer.
		t.MaxConnsPerHost, t.MaxIdleConnsPerHost, t.MaxIdleConns = 128, 128, 128
		t.MaxResponseHeaderBytes = 64 << 10
		transport = t
	}
	// One http.Client, with a timeout, for every call to Bitbucket. Its
	// transport logs each call and records it for the page that made it,
	// and tells the redactor every token it sees go out.
	redact := newRedactor(cfg.ConsumerKey, cfg.ConsumerSecret)
	httpClient := &http.Client{Timeout: cfg.Timeout, Transport: &tracingTransport{next: transport, log: logger, redact: redact}}
	// One client, and so one token source, for the whole process.
	client := bitbucket.NewClient(bitbucket.Config{
		Key: cfg.ConsumerKey, Secret: cfg.ConsumerSecret,
		TokenURL: cfg.TokenURL, APIURL: cfg.APIURL, HTTPClient: httpClient,
	})
	if formEncodingChanges(cfg) {
		logger.Warn("the consumer key or secret holds characters that golang.org/x/oauth2 form-encodes before " +
			"Basic-encoding them (RFC 6749 §2.3.1), while curl -u sends them raw; Bitbucket does not document which it expects")
	}
	// The proof of origin asked of browsers that send no Fetch Metadata
	// (see web.AskedByAPerson): new for each run of the app.
	origin := rand.Text()
	landing, err := handleLanding(pages, origin, landingView{TokenURL: cfg.TokenURL, APIURL: cfg.APIURL, Workspace: cfg.Workspace,
		KeyMasked: mask(cfg.ConsumerKey), Timeout: cfg.Timeout.String()})
	if err != nil {
		return nil, err
	}
	var held atomic.Pointer[oauth2.Token] // the last token a results page used, for /scopes
	// The table of the API's operations and their scopes (internal/scopes)
	// is parsed on first use: use it now, so that the first results page,
	// which counts what its token reaches, does not wait for it.
	scopes.Operations()

	mux := http.NewServeMux()
	addRoutes(mux, landing, handleCallback(client, &held, origin, cfg, pages, redact, logger), handleScopes(&held, pages), pages)
	refusals := web.NewRefusalLog(logger)
	var h http.Handler = mux
	h = web.SecurityHeaders(h)
	h = web.Recovery(pages, logger, h)
	h = web.CrossSiteCheck(pages, refusals, h)
	h = web.HostCheck(cfg.AllowedHosts, pages, refusals, h)
	h = web.RequestLog(logger, quietPath, h)
	return h, nil
}

// newHTTPServer bounds what a client may cost the server: a client that
// sends its headers slowly, or never finishes, is cut off.
func newHTTPServer(cfg config.Config, handler http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// A results page's calls to Bitbucket share one deadline
		// (pageBudget); then the page still has to be written.
		WriteTimeout:   pageBudget(cfg.Timeout) + 5*time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// addRoutes is the one place that lists every route.
func addRoutes(mux *http.ServeMux, landing, callback, scopes http.Handler, pages *web.Renderer) {
	get := func(path string, h http.Handler) {
		mux.Handle("GET "+path, h)                                   // GET and HEAD
		mux.Handle(path, handleMethodNotAllowed(pages, "GET, HEAD")) // any other method
	}
	get("/{$}", landing)
	get("/healthcheck", handleHealthcheck())
	get("/authorize", handleAuthorize())
	get("/oauth-callback", callback)
	get("/scopes", scopes)
	get("/static/", handleStatic(sub(staticFiles, "static"), pages))
	mux.Handle("/", handleNotFound(pages))
}

// quietPath reports the paths whose successful requests are not logged
// (see web.RequestLog): those that only send what the app prepared at
// start-up, the landing page, the health check and the static files.
func quietPath(path string) bool {
	return path == "/" || path == "/healthcheck" || strings.HasPrefix(path, "/static/")
}

// formEncodingChanges reports whether golang.org/x/oauth2's form-encoding
// of the key and secret (RFC 6749 §2.3.1) changes them: then what it sends
// differs from what curl -u sends, and the log and the page say so.
func formEncodingChanges(cfg config.Config) bool {
	return url.QueryEscape(cfg.ConsumerKey) != cfg.ConsumerKey || url.QueryEscape(cfg.ConsumerSecret) != cfg.ConsumerSecret
}

// upstreamHost names the Bitbucket the app talks to, for the banner.
func upstreamHost(apiURL string) string {
	if apiURL == bitbucket.DefaultAPIURL {
		return "Bitbucket Cloud"
	}
	if u, err := url.Parse(apiURL); err == nil {
		return u.Host
	}
	return apiURL
}

// logStart says where the app listens and in which mode, and warns when it
// listens beyond this machine.
func logStart(ln net.Listener, cfg config.Config, logger *slog.Logger, stdout io.Writer) {
	addr := ln.Addr().(*net.TCPAddr)
	// The URL must connect: localhost reaches 127.0.0.1, but not the rest of
	// 127.0.0.0/8 (HOST=127.0.0.2), so any other address is shown as it is.
	url := "http://" + ln.Addr().String()
	if addr.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		url = fmt.Sprintf("http://localhost:%d", addr.Port)
	}
	if cfg.Demo {
		logger.Info("demo mode: using the built-in Bitbucket stand-in", "reason", cfg.DemoReason,
			"token_url", cfg.TokenURL, "api_url", cfg.APIURL, "switch", "put BITBUCKET_CONSUMER_KEY and BITBUCKET_CONSUMER_SECRET in .env and restart")
	} else {
		logger.Info("bitbucket mode", "token_url", cfg.TokenURL, "api_url", cfg.APIURL,
			"consumer_key", mask(cfg.ConsumerKey), "switch", "run with -demo to use the built-in stand-in")
		for _, note := range cfg.EnvNotes { // in demo mode, DemoReason carries them
			logger.Warn("the environment overrides .env", "note", note)
		}
	}
	if len(cfg.AllowedHosts) > 0 {
		logger.Info("serving these host names too (ALLOWED_HOSTS)", "allowed_hosts", strings.Join(cfg.AllowedHosts, ","))
	}
	if !addr.IP.IsLoopback() {
		logger.Warn("listening beyond this machine: anyone who can reach this address sees token details; set HOST=127.0.0.1",
			"address", ln.Addr().String(), "host_names", "other machines must use the IP address, or a name listed in ALLOWED_HOSTS")
	}
	logger.Info("listening", "url", url)
	fmt.Fprintf(stdout, "Serving on %s (%s). Press Ctrl+C to stop.\n", url, modeName(cfg))
}

func modeName(cfg config.Config) string {
	if cfg.Demo {
		return "demo mode"
	}
	return "Bitbucket mode"
}
