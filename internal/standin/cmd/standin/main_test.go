package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bitbucket-client-credentials-sample/internal/standin"
)

// TestMain lets the tests run the command itself: the test binary, started
// again with STANDIN_TEST_MAIN=1, is the command.
func TestMain(m *testing.M) {
	if os.Getenv("STANDIN_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe to write from run's goroutine while a
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

var exportLine = regexp.MustCompile(`^export ([A-Z_]+)=(.*)$`)

// readExports reads the four export lines and returns their values by name,
// checking the names and their order.
func readExports(t *testing.T, sc *bufio.Scanner) map[string]string {
	t.Helper()
	want := []string{"BITBUCKET_CONSUMER_KEY", "BITBUCKET_CONSUMER_SECRET", "BITBUCKET_TOKEN_URL", "BITBUCKET_API_URL"}
	values := map[string]string{}
	for i, name := range want {
		if !sc.Scan() {
			t.Fatalf("stdout ended after %d lines: %v", i, sc.Err())
		}
		m := exportLine.FindStringSubmatch(sc.Text())
		if m == nil || m[1] != name {
			t.Fatalf("line %d: %q, want export %s=...", i+1, sc.Text(), name)
		}
		values[name] = m[2]
	}
	return values
}

// listRepositories gets a token the way a client would, with the exported
// values, and a page of bitbucket-demo's repositories with it.
func listRepositories(t *testing.T, v map[string]string) map[string]any {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	req, _ := http.NewRequest("POST", v["BITBUCKET_TOKEN_URL"], strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(v["BITBUCKET_CONSUMER_KEY"]), url.QueryEscape(v["BITBUCKET_CONSUMER_SECRET"]))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil || tok.AccessToken == "" {
		t.Fatalf("token request: %d, %v", resp.StatusCode, err)
	}
	req, _ = http.NewRequest("GET", v["BITBUCKET_API_URL"]+"/repositories/bitbucket-demo", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&page); resp.StatusCode != 200 || err != nil {
		t.Fatalf("repositories: %d, %v", resp.StatusCode, err)
	}
	return page
}

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, env(map[string]string{"STANDIN_PORT": "0"}), outW, &stderr)
		outW.Close()
	}()
	sc := bufio.NewScanner(outR)
	v := readExports(t, sc)

	base, ok := strings.CutSuffix(v["BITBUCKET_API_URL"], "/2.0")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") || v["BITBUCKET_TOKEN_URL"] != base+"/site/oauth2/access_token" ||
		v["BITBUCKET_CONSUMER_KEY"] != standin.DemoKey || v["BITBUCKET_CONSUMER_SECRET"] != standin.DemoSecret {
		t.Fatalf("exports %v", v) // all shell-safe: unquoted
	}
	if strings.HasSuffix(base, ":0") {
		t.Fatalf("the exports name port 0, not the port it listens on: %s", base)
	}
	page := listRepositories(t, v)
	if vals, _ := page["values"].([]any); len(vals) != 10 || page["next"] == nil {
		t.Errorf("page of %d repositories, next %v", len(vals), page["next"])
	}
	if line := stderr.String(); strings.Count(line, "\n") != 1 || !strings.Contains(line, base) ||
		!strings.Contains(line, "bitbucket-demo") || !strings.Contains(line, "demo-labs") || !strings.Contains(line, "Ctrl+C") {
		t.Errorf("stderr %q, want one line with %s, both workspaces and Ctrl+C", line, base)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d after the context ended, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still serving 10 s after the context ended")
	}
	if sc.Scan() {
		t.Errorf("stdout goes on after the four lines: %q", sc.Text())
	}
	if _, err := http.Get(base + "/2.0/workspaces/bitbucket-demo"); err == nil {
		t.Errorf("still answering at %s after shutdown", base)
	}
}

func TestBadPort(t *testing.T) {
	for _, value := range []string{"abc", "-1", "65536", "3001x", " 3001", "1e3", "3001\nexport X=1"} {
		t.Run(value, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), env(map[string]string{"STANDIN_PORT": value}), &stdout, &stderr)
			msg := stderr.String()
			if code != 2 || stdout.Len() != 0 || strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") ||
				!strings.HasPrefix(msg, "standin: STANDIN_PORT=") {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, one line naming STANDIN_PORT", code, stdout.String(), msg)
			}
		})
	}
}

func TestPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).AddrPort().Port()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), env(map[string]string{"STANDIN_PORT": strconv.Itoa(int(port))}), &stdout, &stderr)
	if code != 1 || stdout.Len() != 0 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "STANDIN_PORT") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and one line", code, stdout.String(), stderr.String())
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"demo-consumer-key-4f2a", "demo-consumer-key-4f2a"},
		{"http://127.0.0.1:3001/site/oauth2/access_token", "http://127.0.0.1:3001/site/oauth2/access_token"},
		{"a+b=c%2F@x,y_z", "a+b=c%2F@x,y_z"},
		{"", "''"},
		{"two words", "'two words'"},
		{"it's", `'it'\''s'`},
		{"$(touch /tmp/pwned)`id`;|&<>*?~#!\\\"\n\t{}[]", "'$(touch /tmp/pwned)`id`;|&<>*?~#!\\\"\n\t{}[]'"},
	}
	sh, err := exec.LookPath("sh")
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := shellQuote(tt.in)
			if got != tt.want {
				t.Errorf("shellQuote(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if err != nil {
				return // no POSIX shell here to check the line with
			}
			out, err := exec.Command(sh, "-c", "export V="+got+"\nprintf %s \"$V\"").Output()
			if err != nil || string(out) != tt.in {
				t.Errorf("sh read export V=%s as %q (%v), want %q", got, out, err, tt.in)
			}
		})
	}
}

// TestSignals runs the command as its own process: SIGINT and SIGTERM stop
// it with exit status 0, a bad STANDIN_PORT exits 2.
func TestSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "STANDIN_TEST_MAIN=1", "STANDIN_PORT=0")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr syncBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stdout)
			listRepositories(t, readExports(t, sc))
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			waited := make(chan error, 1)
			go func() {
				for sc.Scan() { // drain, so that Wait does not wait on the pipe
				}
				waited <- cmd.Wait()
			}()
			select {
			case err := <-waited:
				if err != nil {
					t.Errorf("after %s: %v (stderr %q), want exit status 0", sig, err, stderr.String())
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill() //nolint:errcheck // the test has failed
				t.Fatalf("still running 10 s after %s", sig)
			}
		})
	}

	t.Run("bad STANDIN_PORT", func(t *testing.T) {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "STANDIN_TEST_MAIN=1", "STANDIN_PORT=port")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(stderr.String(), "STANDIN_PORT") {
			t.Errorf("%v, stderr %q; want exit status 2 and a line naming STANDIN_PORT", err, stderr.String())
		}
	})
}
