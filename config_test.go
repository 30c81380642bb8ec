package main

import (
	"html/template"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The configuration as the whole program shows it: the start-up log, the
// banner. internal/config tests how it is read and checked.

// inDir runs the test in a fresh working directory holding the given files
// (config.json, .env), since the program reads both from there. It changes
// the process's working directory (t.Chdir), so a test that uses it never
// runs in parallel.
func inDir(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
}

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestRunLogsTheAddressItListensOn: the URL in the start-up line connects.
// localhost reaches 127.0.0.1 only, so HOST=127.0.0.2 (Linux routes all of
// 127.0.0.0/8 to the loopback interface) is shown as it is.
func TestRunLogsTheAddressItListensOn(t *testing.T) {
	tests := []struct {
		host string
		want string
	}{
		{"127.0.0.1", "http://localhost:"},
		{"127.0.0.2", "http://127.0.0.2:"},
		{"::1", "http://[::1]:"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if ln, err := net.Listen("tcp", net.JoinHostPort(tt.host, "0")); err != nil {
				t.Skipf("cannot listen on %s here: %v", tt.host, err)
			} else {
				ln.Close()
			}
			r := startRun(t, map[string]string{"HOST": tt.host})
			if !strings.HasPrefix(r.url, tt.want) {
				t.Fatalf("HOST=%s: serving on %s, want %sPORT", tt.host, r.url, tt.want)
			}
			if !strings.Contains(r.logs.String(), "listening url="+r.url) {
				t.Errorf("the log does not give the same URL:\n%s", r.logs)
			}
			if resp := r.get("/healthcheck"); resp.status != 200 {
				t.Errorf("GET %s/healthcheck: %d %s", r.url, resp.status, resp.body)
			}
		})
	}
}

// TestDemoReasonInBannerAndLog: the banner of every page and the start-up
// log say why demo mode is on, and what the environment hides.
func TestDemoReasonInBannerAndLog(t *testing.T) {
	t.Run("secret missing from .env", func(t *testing.T) {
		inDir(t, map[string]string{".env": "BITBUCKET_CONSUMER_KEY=key-value-7f3a\n"})
		dir, _ := os.Getwd()
		r := startRun(t, nil)
		want := "BITBUCKET_CONSUMER_SECRET is not set (looked for .env in " + dir +
			": found, but it does not set BITBUCKET_CONSUMER_SECRET)"
		for _, path := range []string{"/", "/oauth-callback", "/no/such/page"} {
			body := r.get(path).body
			if !strings.Contains(body, "Why: "+template.HTMLEscapeString(want)+".") {
				t.Errorf("%s: the banner lacks %q", path, want)
			}
			if strings.Contains(body, "BITBUCKET_CONSUMER_KEY is not set") || strings.Contains(body, "key-value-7f3a") {
				t.Errorf("%s: the banner says the key is missing, or shows it", path)
			}
		}
		if !strings.Contains(r.logs.String(), strconv.Quote(want)) {
			t.Errorf("the start-up log lacks the reason:\n%s", r.logs)
		}
	})
	t.Run("-demo, and the environment hides .env", func(t *testing.T) {
		inDir(t, map[string]string{".env": "BITBUCKET_CONSUMER_KEY=key-value-7f3a\nBITBUCKET_CONSUMER_SECRET=secret-value-9c1e\n"})
		dir, _ := os.Getwd()
		r := startRun(t, map[string]string{"BITBUCKET_CONSUMER_SECRET": "other-secret-2b8d"}, "-demo")
		note := "BITBUCKET_CONSUMER_SECRET is set in the environment; it hides the value in " + filepath.Join(dir, ".env")
		body := r.get("/").body
		for _, want := range []string{"the -demo flag was given", note} {
			if !strings.Contains(body, template.HTMLEscapeString(want)) {
				t.Errorf("the banner lacks %q", want)
			}
			if !strings.Contains(r.logs.String(), want) {
				t.Errorf("the start-up log lacks %q:\n%s", want, r.logs)
			}
		}
		for _, v := range []string{"key-value-7f3a", "secret-value-9c1e", "other-secret-2b8d"} {
			if strings.Contains(body+r.logs.String(), v) {
				t.Errorf("a value shows in the page or the log")
			}
		}
	})
}

// TestEnvNotesLoggedInBitbucketMode: without demo mode there is no banner
// reason; the start-up log still says what the environment hides.
func TestEnvNotesLoggedInBitbucketMode(t *testing.T) {
	f := newFixture(t)
	inDir(t, map[string]string{".env": "BITBUCKET_CONSUMER_KEY=" + testKey + "\nBITBUCKET_CONSUMER_SECRET=" + testSecret +
		"\nBITBUCKET_WORKSPACE=from-dotenv\n"})
	dir, _ := os.Getwd()
	r := startRun(t, map[string]string{"BITBUCKET_WORKSPACE": "bitbucket-demo",
		"BITBUCKET_TOKEN_URL": f.cfg.TokenURL, "BITBUCKET_API_URL": f.cfg.APIURL})
	note := "BITBUCKET_WORKSPACE is set in the environment; it hides the value in " + filepath.Join(dir, ".env")
	if !strings.Contains(r.logs.String(), strconv.Quote(note)) {
		t.Errorf("the start-up log lacks %q:\n%s", note, r.logs)
	}
	if body := r.get("/").body; !strings.Contains(body, "Bitbucket mode.") {
		t.Error("not in Bitbucket mode")
	}
	f.assertNoLeak("the program's log", r.logs.String())
}

// TestRunWarnsAboutAReadableDotenv: a .env that other users can read gets
// one warning line at start-up, naming the file and the chmod that fixes it.
func TestRunWarnsAboutAReadableDotenv(t *testing.T) {
	inDir(t, map[string]string{".env": "BITBUCKET_WORKSPACE=demo-labs\n"})
	if err := os.Chmod(".env", 0o644); err != nil {
		t.Fatal(err)
	}
	r := startRun(t, nil)
	if logs := r.logs.String(); !strings.Contains(logs, "can be read by other users") || !strings.Contains(logs, "chmod 600") {
		t.Errorf("no warning about a .env others can read:\n%s", logs)
	}
}
