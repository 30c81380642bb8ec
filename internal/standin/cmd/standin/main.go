// Command standin serves the local Bitbucket stand-in (package
// internal/standin) on its own, so that the sample app, curl or another
// client can be pointed at it: `make standin`, then paste the four export
// lines it prints into the shell that runs the client.
//
// It listens on 127.0.0.1 only, on port STANDIN_PORT (3001 when unset; 0
// picks a free port), with the demo consumer (standin.DemoKey and
// standin.DemoSecret, demo values, not secrets) and the demo workspaces
// bitbucket-demo and demo-labs, and serves until Ctrl+C (SIGINT) or
// SIGTERM, then shuts down and exits 0. A bad STANDIN_PORT is a one-line
// error and exit status 2; a port already taken, exit status 1.
//
// It prints to stdout exactly four lines, each usable as is in a POSIX
// shell, and nothing else:
//
//	export BITBUCKET_CONSUMER_KEY=demo-consumer-key-4f2a
//	export BITBUCKET_CONSUMER_SECRET=demo-consumer-secret-9c7e1b3d5a
//	export BITBUCKET_TOKEN_URL=http://127.0.0.1:3001/site/oauth2/access_token
//	export BITBUCKET_API_URL=http://127.0.0.1:3001/2.0
//
// and one line for people to stderr. It keeps no record of requests
// (Options.NoRecord), since it may serve for hours.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// defaultPort is the port without STANDIN_PORT: the app's own is 3000.
const defaultPort = 3001

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves the stand-in until ctx is done and returns the exit status:
// 0 after a clean shutdown, 2 for a bad STANDIN_PORT, 1 if it cannot serve.
func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	port := defaultPort
	if v := getenv("STANDIN_PORT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			fmt.Fprintf(stderr, "standin: STANDIN_PORT=%q: want a whole number from 0 to 65535 (0 picks a free port)\n", clip(v, 40))
			return 2
		}
		port = n
	}
	// Loopback only: the stand-in hands out tokens to anyone who knows the
	// demo consumer, which everyone does.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		fmt.Fprintf(stderr, "standin: cannot listen on 127.0.0.1:%d (set STANDIN_PORT to another port): %v\n", port, err)
		return 1
	}
	bb := standin.New(standin.Options{NoRecord: true})
	srv := &http.Server{
		Handler:           bb,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ConnState:         bb.ConnState,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	base := "http://" + ln.Addr().String()
	for _, kv := range [][2]string{
		{"BITBUCKET_CONSUMER_KEY", standin.DemoKey},
		{"BITBUCKET_CONSUMER_SECRET", standin.DemoSecret},
		{"BITBUCKET_TOKEN_URL", base + "/site/oauth2/access_token"},
		{"BITBUCKET_API_URL", base + "/2.0"},
	} {
		fmt.Fprintf(stdout, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	fmt.Fprintf(stderr, "Bitbucket stand-in serving on %s (demo workspaces bitbucket-demo and demo-labs); press Ctrl+C to stop.\n", base)

	select {
	case err := <-served: // Serve stops early only on an error
		fmt.Fprintf(stderr, "standin: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	// Let requests in flight finish, but not for ever.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close() //nolint:errcheck // closing is all that is left to do
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "standin: %v\n", err)
		return 1
	}
	fmt.Fprintln(stderr, "Bitbucket stand-in stopped.")
	return 0
}

// shellQuote writes s for a POSIX shell: as it is when every character is
// one the shell takes literally in a word, else in single quotes, where
// only a single quote needs care (it ends the quotes, is escaped, and the
// quotes start again).
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, shellSafe) == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellSafe are the characters a POSIX shell takes literally in a word
// (after the = of an assignment too): Python's shlex.quote keeps the same.
const shellSafe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_"

// clip bounds what an error message repeats of a value it was given.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
