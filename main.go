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
// config.json, a .env file, and the environment (BITBUCKET_CONSUMER_KEY,
// BITBUCKET_CONSUMER_SECRET, BITBUCKET_WORKSPACE, PORT, HOST,
// BITBUCKET_TOKEN_URL, BITBUCKET_API_URL, BITBUCKET_TIMEOUT). Invalid
// configuration exits with status 2. The server listens on 127.0.0.1 unless
// HOST says otherwise, because its pages show token details.
//
// Routes:
//
//	GET /                 the landing page: what the grant is and how it flows
//	GET /healthcheck      {"status":"ok"}; never calls Bitbucket
//	GET /authorize        303 to /oauth-callback: this grant has no consent step
//	GET /oauth-callback   gets the token, calls the API, shows what happened
//	GET /static/...       CSS and the flow diagram
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"bitbucket-client-credentials-sample/internal/standin"
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
	var cerr *configError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &cerr):
		return 2
	}
	return 1
}

// shutdownGrace bounds how long a stopping server waits for in-flight requests.
const shutdownGrace = 10 * time.Second

// run starts the app and serves until ctx is cancelled or the process gets
// SIGINT or SIGTERM; then it finishes in-flight requests and returns nil.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := loadConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

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

	handler, err := newServer(cfg, logger, time.Now)
	if err != nil {
		return err
	}
	srv := newHTTPServer(cfg, handler, logger)
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

	logger.Info("shutting down: finishing in-flight requests", "grace", shutdownGrace)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// newServer builds the app: its dependencies, made once, and every route.
func newServer(cfg config, logger *slog.Logger, now func() time.Time) (http.Handler, error) {
	pages, err := newRenderer(siteInfo{Demo: cfg.Demo, DemoReason: cfg.DemoReason, TokenURL: cfg.TokenURL}, logger)
	if err != nil {
		return nil, err
	}
	client := newUpstreamClient(cfg.Timeout, logger)
	bb := &bitbucket{
		apiURL: cfg.APIURL,
		client: client,
		tokens: newTokenCache(newClientCredentialsConfig(cfg.ConsumerKey, cfg.ConsumerSecret, cfg.TokenURL), client, now),
	}

	mux := http.NewServeMux()
	addRoutes(mux, cfg, bb, pages, logger, now)
	var h http.Handler = mux
	h = withSecurityHeaders(h)
	h = withRecovery(pages, logger, h)
	h = withCrossSiteCheck(pages, logger, h)
	h = withHostCheck(cfg.AllowedHosts, pages, logger, h)
	h = withRequestLog(logger, h)
	return h, nil
}

// newHTTPServer bounds what a client may cost the server: a client that
// sends its headers slowly, or never finishes, is cut off.
func newHTTPServer(cfg config, handler http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// A results page may wait for a token request, an API round and a
		// retry after a 401, each bounded by cfg.Timeout.
		WriteTimeout:   4*cfg.Timeout + 5*time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// addRoutes is the one place that lists every route.
func addRoutes(mux *http.ServeMux, cfg config, bb *bitbucket, pages *renderer, logger *slog.Logger, now func() time.Time) {
	get := func(path string, h http.Handler) {
		mux.Handle("GET "+path, h)                                   // GET and HEAD
		mux.Handle(path, handleMethodNotAllowed(pages, "GET, HEAD")) // any other method
	}
	get("/{$}", handleLanding(pages, cfg))
	get("/healthcheck", handleHealthcheck())
	get("/authorize", handleAuthorize(pages))
	get("/oauth-callback", handleCallback(bb, cfg, pages, logger, now))
	get("/static/", handleStatic(staticFS(), pages))
	mux.Handle("/", handleNotFound(pages))
}

// logStart says where the app listens and in which mode, and warns when it
// listens beyond this machine.
func logStart(ln net.Listener, cfg config, logger *slog.Logger, stdout io.Writer) {
	addr := ln.Addr().(*net.TCPAddr)
	// The URL must connect: localhost reaches 127.0.0.1, but not the rest of
	// 127.0.0.0/8 (HOST=127.0.0.2), so any other address is shown as it is.
	url := "http://" + ln.Addr().String()
	if addr.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		url = fmt.Sprintf("http://localhost:%d", addr.Port)
	}
	if cfg.Demo {
		logger.Info("demo mode: using the built-in Bitbucket stand-in", "reason", cfg.DemoReason,
			"stand-in", cfg.TokenURL, "switch", "put BITBUCKET_CONSUMER_KEY and BITBUCKET_CONSUMER_SECRET in .env and restart")
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

func modeName(cfg config) string {
	if cfg.Demo {
		return "demo mode"
	}
	return "Bitbucket mode"
}
