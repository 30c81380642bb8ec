package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// express is the Node/Express replica, running.
type express struct {
	url     string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	log     *tail
}

// startExpress runs node app.js in dir with env plus PORT (a free loopback
// port) and returns once /healthcheck answers 200. It fails if node exits
// first or does not answer within 30 s; then nothing is left running.
func startExpress(ctx context.Context, node, dir string, env []string, client *http.Client) (*express, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(node, "app.js")
	cmd.Dir = dir
	cmd.Env = append(withoutVar(env, "PORT"), "PORT="+strconv.Itoa(port))
	e := &express{
		url:    "http://127.0.0.1:" + strconv.Itoa(port),
		cmd:    cmd,
		exited: make(chan struct{}),
		log:    &tail{max: 8 << 10},
	}
	cmd.Stdout, cmd.Stderr = e.log, e.log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s app.js: %w", node, err)
	}
	go func() {
		e.waitErr = cmd.Wait()
		close(e.exited)
	}()

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		status, _, err := get(ctx, client, e.url+"/healthcheck")
		if err == nil && status == http.StatusOK {
			return e, nil
		}
		select {
		case <-e.exited:
			return nil, fmt.Errorf("the Express replica exited before answering (%v); its output:\n%s", e.waitErr, e.log)
		case <-ctx.Done():
			e.stop(5 * time.Second)
			return nil, fmt.Errorf("the Express replica did not answer /healthcheck with 200 within 30 s (last: status %d, %v); its output:\n%s",
				status, err, e.log)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (e *express) pid() int { return e.cmd.Process.Pid }

// alive reports whether node still runs.
func (e *express) alive() error {
	select {
	case <-e.exited:
		return fmt.Errorf("the Express replica has exited (%v); its output:\n%s", e.waitErr, e.log)
	default:
		return nil
	}
}

// stop sends SIGTERM, and SIGKILL after timeout, and waits for node.
func (e *express) stop(timeout time.Duration) {
	select {
	case <-e.exited:
		return
	default:
	}
	e.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may just have exited
	select {
	case <-e.exited:
	case <-time.After(timeout):
		e.cmd.Process.Kill() //nolint:errcheck // it may just have exited
		<-e.exited
	}
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before node listens; node would then exit with EADDRINUSE, which
// startExpress reports.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// withoutVar returns env without the variable name.
func withoutVar(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// get fetches u and reads at most 1 MiB of the body, which it returns.
func get(ctx context.Context, client *http.Client, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // drained so the connection is reused
	return resp.StatusCode, body, err
}

// tail keeps the last max bytes written to it: a server's log, shown when
// the server fails.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String is the text kept, printable characters only, indented.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(printable(string(t.buf)))
	if s == "" {
		return "    (nothing)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// printable replaces control characters other than newlines and tabs, so
// that a server's output cannot drive the terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) && r != unicode.ReplacementChar {
			return r
		}
		return '?'
	}, s)
}

// clip shortens s to at most n bytes of printable text, on a rune boundary.
func clip(s string, n int) string {
	s = printable(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
