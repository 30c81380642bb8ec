package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
