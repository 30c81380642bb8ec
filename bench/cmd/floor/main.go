// Command floor is the least any Go server doing the app's I/O can cost:
// a bare net/http server, standard library only, that makes the same calls
// to Bitbucket as the app's results page and writes pages of the same
// sizes, and does nothing else. No templates, no JSON decoding of the
// answers, no logging, no middleware, no token details on the page.
// bench/cmd/compare runs it next to the app and the Express replica, so
// that the app's CPU per request can be read against it: what the floor
// costs is Go's net/http, the runtime and the kernel; what the app costs on
// top is the app's own work.
//
// It reads the app's environment: BITBUCKET_CONSUMER_KEY,
// BITBUCKET_CONSUMER_SECRET, BITBUCKET_TOKEN_URL, BITBUCKET_API_URL and
// BITBUCKET_WORKSPACE (all required: it has no defaults and no workspace
// discovery), HOST (default 127.0.0.1) and PORT (default 3000, 0 picks a
// free port); and FLOOR_LANDING_BYTES and FLOOR_RESULTS_BYTES, the sizes of
// its two pages, which compare measures on the app. Once it listens it
// prints "Serving on http://HOST:PORT" on stdout, as the app does, so that
// bench/internal/sampleapp starts and stops it like the app. SIGINT or
// SIGTERM stops it.
//
// Routes:
//
//	GET /healthcheck     {"status":"ok"}
//	GET /                FLOOR_LANDING_BYTES bytes of HTML, built at start-up
//	GET /oauth-callback  the app's two API calls, at once, with one token
//	                     fetched on first use and kept; then
//	                     FLOOR_RESULTS_BYTES bytes of HTML, built at start-up
//	                     (502 with the reason if a call fails)
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Copied from the app's handlers.go (repoFields, workspaceFields, perPage,
// maxPagesAtOnce), so that the stand-in answers the floor with the same
// bytes as the app. Keep them in step.
const (
	repoFields = "next,previous,page,size,pagelen,values.name,values.full_name,values.description,values.is_private," +
		"values.language,values.updated_on,values.links.html.href,values.links.clone.name,values.links.clone.href"
	workspaceFields = "uuid,slug,name,is_private,created_on,links.html.href"
	perPage         = 10
	maxPagesAtOnce  = 8
)

// config is what the floor reads from its environment.
type config struct {
	key, secret, tokenURL, apiURL, workspace string
	host, port                               string
	landingBytes, resultsBytes               int
}

func main() {
	cfg, err := load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.host, cfg.port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	// The app's tuning (its main.go): up to 128 connections to the API,
	// all kept idle between pages; and its default timeout a call.
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxConnsPerHost, t.MaxIdleConnsPerHost, t.MaxIdleConns = 128, 128, 128
	client := &http.Client{Timeout: 10 * time.Second, Transport: t}
	srv := &http.Server{Handler: newFloor(cfg, client), ReadHeaderTimeout: 5 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Printf("Serving on http://%s (bare Go floor). Press Ctrl+C to stop.\n", ln.Addr())
	select {
	case err := <-served:
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdown) //nolint:errcheck // stopping anyway
}

// load reads the configuration from getenv.
func load(getenv func(string) string) (config, error) {
	for _, name := range []string{"BITBUCKET_CONSUMER_KEY", "BITBUCKET_CONSUMER_SECRET", "BITBUCKET_TOKEN_URL",
		"BITBUCKET_API_URL", "BITBUCKET_WORKSPACE"} {
		if getenv(name) == "" {
			return config{}, fmt.Errorf("%s is required", name)
		}
	}
	c := config{
		key: getenv("BITBUCKET_CONSUMER_KEY"), secret: getenv("BITBUCKET_CONSUMER_SECRET"),
		tokenURL: getenv("BITBUCKET_TOKEN_URL"), apiURL: strings.TrimSuffix(getenv("BITBUCKET_API_URL"), "/"),
		workspace: getenv("BITBUCKET_WORKSPACE"), host: getenv("HOST"), port: getenv("PORT"),
	}
	if c.host == "" {
		c.host = "127.0.0.1"
	}
	if c.port == "" {
		c.port = "3000"
	}
	for _, s := range []struct {
		name string
		n    *int
	}{{"FLOOR_LANDING_BYTES", &c.landingBytes}, {"FLOOR_RESULTS_BYTES", &c.resultsBytes}} {
		n, err := strconv.Atoi(getenv(s.name))
		if err != nil || n < 0 || n > 16<<20 {
			return c, fmt.Errorf("%s must be a size in bytes, 0 to 16 MiB (got %q)", s.name, getenv(s.name))
		}
		*s.n = n
	}
	return c, nil
}

// floor serves the three routes.
type floor struct {
	cfg             config
	client          *http.Client
	wsURL, reposURL string        // the two API calls, built once
	slots           chan struct{} // results pages talking to the API at once
	mu              sync.Mutex    // guards token
	token           string
}

func newFloor(cfg config, client *http.Client) http.Handler {
	ws := url.PathEscape(cfg.workspace)
	f := &floor{
		cfg: cfg, client: client, slots: make(chan struct{}, maxPagesAtOnce),
		// Encoded as the app's url.Values.Encode encodes them.
		wsURL: cfg.apiURL + "/workspaces/" + ws + "?" + url.Values{"fields": {workspaceFields}}.Encode(),
		reposURL: cfg.apiURL + "/repositories/" + ws + "?" +
			url.Values{"pagelen": {strconv.Itoa(perPage)}, "sort": {"-updated_on"}, "fields": {repoFields}}.Encode(),
	}
	results := prebuilt("text/html; charset=utf-8", page(cfg.resultsBytes))
	mux := http.NewServeMux()
	mux.Handle("GET /healthcheck", prebuilt("application/json", []byte(`{"status":"ok"}`+"\n")))
	mux.Handle("GET /{$}", prebuilt("text/html; charset=utf-8", page(cfg.landingBytes)))
	mux.HandleFunc("GET /oauth-callback", func(w http.ResponseWriter, r *http.Request) {
		if err := f.callAPI(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		results(w, r)
	})
	return mux
}

// callAPI makes a results page's two API calls, at once, within the limit
// of pages in flight.
func (f *floor) callAPI(ctx context.Context) error {
	select {
	case f.slots <- struct{}{}:
		defer func() { <-f.slots }()
	case <-ctx.Done():
		return ctx.Err()
	}
	token, err := f.bearer(ctx)
	if err != nil {
		return err
	}
	// One call in a goroutine of its own, the other in the handler's.
	wsErr := make(chan error, 1)
	go func() { wsErr <- f.get(ctx, f.wsURL, token) }()
	err = f.get(ctx, f.reposURL, token)
	return errors.Join(<-wsErr, err)
}

// bearer returns the access token, fetched on first use with the client
// credentials grant and kept. The stand-in's tokens last two hours, longer
// than a run; an expired or refused token would show as 502s in compare's
// errors column.
func (f *floor) bearer(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.token != "" {
		return f.token, nil
	}
	body := strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.cfg.tokenURL, body)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Form-encoded, then Basic (RFC 6749 §2.3.1), as golang.org/x/oauth2 does for the app.
	req.SetBasicAuth(url.QueryEscape(f.cfg.key), url.QueryEscape(f.cfg.secret))
	resp, err := f.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		return "", fmt.Errorf("token request: status %d, no access token (%v)", resp.StatusCode, err)
	}
	f.token = tok.AccessToken
	return f.token, nil
}

// get calls the API and reads the whole answer, which it does not decode.
func (f *floor) get(ctx context.Context, u, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", req.URL.Path, resp.StatusCode)
	}
	return nil
}

// prebuilt serves body, with its length.
func prebuilt(contentType string, body []byte) http.HandlerFunc {
	length := strconv.Itoa(len(body))
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Length", length)
		w.Write(body) //nolint:errcheck // nothing to do if the client went away
	}
}

// page is n bytes of HTML: a title, then dots (cut short if n is small).
func page(n int) []byte {
	b := bytes.Repeat([]byte{'.'}, n)
	copy(b, "<!doctype html><title>floor</title>\n")
	return b
}
