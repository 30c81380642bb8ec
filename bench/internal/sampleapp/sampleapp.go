// Package sampleapp builds the sample app from the repository root and runs
// it as a process of its own, the way a user runs it: the benchmarks and the
// load tool reach it only through its environment, the "Serving on" line it
// prints, and HTTP. Nothing here depends on the app's internal names.
package sampleapp

import (
	"bitbucket-client-credentials-sample/internal/serving"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// modulePath is the app's module, whose directory Root looks for.
const modulePath = "bitbucket-client-credentials-sample"

// Root returns the app's source directory: the nearest directory, from the
// working directory upwards, whose go.mod declares the app's module. From
// bench/ or any folder below it, that is the repository root.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && declares(data, modulePath) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s in the working directory or above it", modulePath)
		}
		dir = parent
	}
}

// declares reports whether the go.mod text data declares module path.
func declares(data []byte, path string) bool {
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == path
		}
	}
	return false
}

// Build compiles the app in root into the executable bin.
func Build(ctx context.Context, root, bin string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build in %s: %w\n%s", root, err, out)
	}
	return nil
}

// Options say how to start the app.
type Options struct {
	Bin string   // the executable, from Build
	Dir string   // the working directory; keep it empty of config.json and .env
	Env []string // the whole environment, NAME=VALUE
	// Stderr receives the app's log; nil discards it.
	Stderr io.Writer
}

// Process is the app, running.
type Process struct {
	URL     string    // where it serves, such as http://localhost:40123
	Started time.Time // just before the process started

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// Start starts the app and returns once it prints the address it serves
// on. The app listens before it prints that line, so the URL answers at
// once. Start fails if the app exits first, or when ctx is done (then it
// kills the app).
func Start(ctx context.Context, o Options) (*Process, error) {
	cmd := exec.Command(o.Bin)
	cmd.Dir, cmd.Env, cmd.Stderr = o.Dir, o.Env, o.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	p.Started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// One reader of stdout: it hands over the URL, then drains the pipe,
	// and only then may Wait run.
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := serving.URL(sc.Text()); ok {
				select {
				case found <- u:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout) //nolint:errcheck // drains the pipe for Wait
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	select {
	case p.URL = <-found:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("the app exited before serving: %v", p.waitErr)
	case <-ctx.Done():
		p.Kill()
		return nil, fmt.Errorf("waiting for the app to serve: %w", ctx.Err())
	}
}

// Pid is the app's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited is closed once the app has exited and been waited for.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Stop sends SIGTERM, as a terminal or a supervisor would, and waits for
// the app to exit; after timeout it kills the app. It returns how the app
// ended, and an error unless it exited with status 0 on SIGTERM.
func (p *Process) Stop(timeout time.Duration) (*os.ProcessState, error) {
	select {
	case <-p.exited:
		return p.cmd.ProcessState, fmt.Errorf("the app had already exited: %v", p.waitErr)
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.Kill()
		return p.cmd.ProcessState, fmt.Errorf("SIGTERM: %w", err)
	}
	select {
	case <-p.exited:
		return p.cmd.ProcessState, p.waitErr
	case <-time.After(timeout):
		p.Kill()
		return p.cmd.ProcessState, fmt.Errorf("still running %v after SIGTERM; killed", timeout)
	}
}

// Kill kills the app, if it still runs, and waits for it to exit.
func (p *Process) Kill() {
	p.cmd.Process.Kill() //nolint:errcheck // it may have exited already
	<-p.exited
}

// Env is the environment that runs the app in Bitbucket mode against the
// stand-in at base, with the stand-in's consumer key and secret, on a free
// loopback port. An empty workspace leaves the app to discover it. Nothing
// comes from this process's environment.
func Env(base, key, secret, workspace string) []string {
	env := []string{
		"BITBUCKET_CONSUMER_KEY=" + key,
		"BITBUCKET_CONSUMER_SECRET=" + secret,
		"BITBUCKET_TOKEN_URL=" + base + "/site/oauth2/access_token",
		"BITBUCKET_API_URL=" + base + "/2.0",
		"HOST=127.0.0.1",
		"PORT=0",
	}
	if workspace != "" {
		env = append(env, "BITBUCKET_WORKSPACE="+workspace)
	}
	return env
}

// Client returns an HTTP client for the app with idle connections for n
// concurrent requests. It shows a redirect (/authorize's 303) as the answer
// it is, rather than following it.
func Client(n int) *http.Client {
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{MaxIdleConns: n, MaxIdleConnsPerHost: n, IdleConnTimeout: 90 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
