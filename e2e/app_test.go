package e2e

import (
	"bitbucket-client-credentials-sample/internal/serving"
	"bufio"
	"bytes"
	"context"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildApp builds the app from the repository root into a temporary folder
// and returns the path of the binary.
func buildApp(ctx context.Context, t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "main.go")); err != nil {
		t.Fatalf("build the app: no main.go in %s (run the test from e2e/): %v", root, err)
	}
	bin := filepath.Join(t.TempDir(), "app")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the app: go build failed: %v\n%s", err, out)
	}
	return bin
}

// app is a running app: its base URL, and its log (stderr, slog's text
// format), which the test can watch.
type app struct {
	URL string
	log *syncBuffer
}

// startApp starts the built app on a free port with the arguments and the
// extra environment variables. It stops the app (SIGTERM) when the test
// ends, and fails the test unless the app then exits with status 0.
func startApp(ctx context.Context, t *testing.T, bin string, args []string, env ...string) *app {
	t.Helper()
	// An empty working directory: no .env and no config.json to read.
	work := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Dir = work
	cmd.Env = append(appEnv(os.Environ()), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the app: %v", err)
	}

	exited := make(chan error, 1)
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() { // read to the end, so the app never blocks on stdout
			if u, ok := serving.URL(sc.Text()); ok {
				select {
				case urls <- u:
				default:
				}
			}
		}
		exited <- cmd.Wait()
	}()

	stopped := false
	t.Cleanup(func() {
		if stopped {
			return
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("stop the app: %v", err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("stop the app: after SIGTERM it exited with %v; its log:\n%s", err, stderr.String())
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill() //nolint:errcheck // it is being killed because it hangs
			<-exited
			t.Errorf("stop the app: still running 15s after SIGTERM; killed it. Its log:\n%s", stderr.String())
		}
	})

	select {
	case u := <-urls:
		t.Logf("app serving on %s", u)
		return &app{URL: u, log: &stderr}
	case err := <-exited:
		stopped = true
		t.Fatalf("start the app: it exited before serving (%v); its log:\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("start the app: no %q line on stdout within 30s; its log:\n%s", "Serving on", stderr.String())
	case <-ctx.Done():
		t.Fatalf("start the app: %v", ctx.Err())
	}
	return nil
}

// appEnv is the environment without anything that configures the app, and
// with PORT=0 so the app picks a free port on 127.0.0.1.
func appEnv(environ []string) []string {
	env := []string{"PORT=0"}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "BITBUCKET_") || name == "PORT" || name == "HOST" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// syncBuffer is a bytes.Buffer that the app's stderr can write to while the
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// closedPortURL returns an http URL on 127.0.0.1 at a port that was free a
// moment ago and has nothing listening on it: a Bitbucket that refuses
// connections.
func closedPortURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

// logLine is one line of the app's log, split into its fields: msg, level,
// status, path, and the others each line has.
type logLine map[string]string

func (l logLine) String() string {
	keys := slices.Sorted(maps.Keys(l))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if k != "time" && k != "duration" {
			parts = append(parts, k+"="+strconv.Quote(l[k]))
		}
	}
	return strings.Join(parts, " ")
}

// parseLogLine splits a line of slog's text format: key=value pairs, a value
// in double quotes (Go syntax) when it holds a space, a quote or an equals
// sign.
func parseLogLine(line string) logLine {
	f := logLine{}
	for {
		line = strings.TrimLeft(line, " ")
		key, rest, ok := strings.Cut(line, "=")
		if !ok || key == "" {
			return f
		}
		var value string
		if q, err := strconv.QuotedPrefix(rest); err == nil {
			value, _ = strconv.Unquote(q)
			line = rest[len(q):]
		} else {
			value, line, _ = strings.Cut(rest, " ")
		}
		f[key] = value
	}
}

// logMark is the number of complete lines in the app's log: linesSince and
// waitLog read what comes after it.
func (a *app) logMark() int {
	return len(a.completeLines())
}

func (a *app) completeLines() []string {
	s := a.log.String()
	s = s[:strings.LastIndexByte(s, '\n')+1] // a line still being written waits
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// linesSince returns the lines logged after the mark that match.
func (a *app) linesSince(mark int, match func(logLine) bool) []logLine {
	var out []logLine
	lines := a.completeLines()
	for _, l := range lines[min(mark, len(lines)):] {
		if f := parseLogLine(l); match(f) {
			out = append(out, f)
		}
	}
	return out
}

// waitLog waits up to timeout for n lines that match after the mark, and
// returns those that came.
func (a *app) waitLog(ctx context.Context, mark, n int, timeout time.Duration, match func(logLine) bool) []logLine {
	deadline := time.Now().Add(timeout)
	for {
		got := a.linesSince(mark, match)
		if len(got) >= n || time.Now().After(deadline) || ctx.Err() != nil {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// callbackLine matches the log lines about a request for /oauth-callback:
// the request log's line, or the line of a refusal.
func callbackLine(l logLine) bool { return l["path"] == "/oauth-callback" }
