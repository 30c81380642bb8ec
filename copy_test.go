package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBitbucketFolderStandsAlone copies the folder bitbucket/ into an empty
// directory, as someone copying it into their project would: go mod init,
// the tests' import path pointed at the new module, go mod tidy. Then
// go.mod must require only golang.org/x/oauth2, and go vet and go test
// (the examples included) must pass there.
func TestBitbucketFolderStandsAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a module of its own")
	}
	t.Parallel()
	dir := t.TempDir()
	files, err := filepath.Glob("bitbucket/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in bitbucket/: %v", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src = bytes.ReplaceAll(src, []byte(`"bitbucket-client-credentials-sample/bitbucket"`), []byte(`"example.com/x"`))
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s in the copy: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	goCmd("mod", "init", "example.com/x")
	goCmd("mod", "tidy")
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mod), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "require"))
		if strings.Contains(line, ".") && !strings.HasPrefix(line, "module ") && !strings.HasPrefix(line, "go ") &&
			!strings.HasPrefix(line, "golang.org/x/oauth2 ") && line != "(" {
			t.Errorf("the copy's go.mod requires more than golang.org/x/oauth2: %q", line)
		}
	}
	goCmd("vet", "./...")
	if out := goCmd("test", "-count=1", "-v", "./..."); !strings.Contains(out, "--- PASS: Example_handler") {
		t.Errorf("the copy's tests did not run the handler example:\n%s", out)
	}
}

// TestCopyWalkthrough runs the README's copy section word for word: a new
// module next to a clone of this repository, the folder copied into it,
// `make standin` in a second terminal, its four export lines pasted into
// the first, the reader's main.go, then go mod tidy, go test and go run,
// which must print every repository of the stand-in's bitbucket-demo.
func TestCopyWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds modules of its own")
	}
	for _, tool := range []string{"make", "sh", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s on this machine", tool)
		}
	}
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	snippets, _ := parseREADMESnippets(string(readme))
	walk := map[string]string{}
	for _, s := range snippets {
		if s.walkthrough != "" {
			walk[s.walkthrough] = strings.Join(s.code, "\n") + "\n"
		}
	}
	for _, name := range []string{"shell", "main.go", "run"} {
		if walk[name] == "" {
			t.Fatalf("README.md has no <!-- walkthrough: %s --> block", name)
		}
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() // the reader's folder, where their clone sits
	if err := os.Symlink(root, filepath.Join(dir, "bitbucket-client-credentials-sample")); err != nil {
		t.Fatal(err)
	}

	// The second terminal: make standin, on a port of its own.
	exports := startStandin(t, root)
	if want := regexp.MustCompile(`(?m)^export BITBUCKET_\w+=\S+$`).FindAllString(string(readme), -1); len(want) < 4 {
		t.Errorf("the README shows %d export lines, want the four make standin prints", len(want))
	}

	// The first terminal.
	sh := func(dir, script string) string {
		cmd := exec.Command("sh", "-e", "-c", script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("in %s, sh -c %q: %v\n%s", dir, script, err, out)
		}
		return string(out)
	}
	sh(dir, walk["shell"])
	repos := filepath.Join(dir, "repos")
	if err := os.WriteFile(filepath.Join(repos, "main.go"), []byte(walk["main.go"]), 0o644); err != nil {
		t.Fatal(err)
	}
	out := sh(repos, strings.Join(exports, "\n")+"\n"+walk["run"])
	var listed []string
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "bitbucket-demo/") {
			listed = append(listed, strings.TrimSpace(line))
		}
	}
	if len(listed) != 23 || listed[0] != "bitbucket-demo/analytics-dashboards" || listed[22] != "bitbucket-demo/web-storefront" {
		t.Errorf("go run . bitbucket-demo printed %d repositories, want the 23 from analytics-dashboards to web-storefront:\n%s", len(listed), out)
	}
}

// startStandin runs make standin in root on a free port, as the README's
// second terminal does, and returns the export lines it prints. The
// stand-in stops when the test ends.
func startStandin(t *testing.T, root string) []string {
	t.Helper()
	port := strings.TrimPrefix(closedPortURL(t), "http://127.0.0.1:")
	cmd := exec.Command("make", "-s", "standin")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "STANDIN_PORT="+port)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Ctrl+C reaches make and the stand-in alike
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) //nolint:errcheck // it may have exited
		cmd.Wait()                                     //nolint:errcheck // stopped on purpose
	})
	lines := make(chan []string, 1)
	go func() {
		var got []string
		sc := bufio.NewScanner(stdout)
		for len(got) < 4 && sc.Scan() {
			got = append(got, sc.Text())
		}
		lines <- got
		io.Copy(io.Discard, stdout) //nolint:errcheck // until it stops
	}()
	select {
	case got := <-lines:
		want := []string{"export BITBUCKET_CONSUMER_KEY=", "export BITBUCKET_CONSUMER_SECRET=",
			"export BITBUCKET_TOKEN_URL=http://127.0.0.1:" + port + "/site/oauth2/access_token",
			"export BITBUCKET_API_URL=http://127.0.0.1:" + port + "/2.0"}
		if len(got) != 4 {
			t.Fatalf("make standin printed %q, want four export lines", got)
		}
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) {
				t.Errorf("make standin's line %d is %q, want %q…", i+1, got[i], want[i])
			}
		}
		return got
	case <-time.After(2 * time.Minute): // it builds first: a bound for a hang, not a timing
		t.Fatal("make standin printed nothing in two minutes")
		return nil
	}
}
