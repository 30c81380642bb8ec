//go:build unix

package config

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestConfigFilesNeverOpenAFIFO: opening a FIFO for reading blocks until
// a writer appears, so a FIFO named config.json or .env (or -config) must
// be refused before it is opened.
func TestConfigFilesNeverOpenAFIFO(t *testing.T) {
	for _, tt := range []struct {
		file string
		args []string
	}{{"config.json", nil}, {".env", nil}, {"settings.fifo", []string{"-config", "settings.fifo"}}} {
		t.Run(tt.file, func(t *testing.T) {
			inDir(t, nil)
			if err := syscall.Mkfifo(tt.file, 0o600); err != nil {
				t.Skip("cannot make a FIFO here:", err)
			}
			path, _ := filepath.Abs(tt.file)
			unblock := func() { // a writer releases a Load stuck in open(2)
				if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Close()
				}
			}
			_, err := loadWithin(t, tt.args, unblock)
			if !isConfigError(err) || !strings.Contains(err.Error(), "is not a regular file") {
				t.Fatalf("err = %v, want an *Error saying it is not a regular file", err)
			}
		})
	}
}

// TestDotenvReadableByOthersWarns: a .env that other users can read holds
// the consumer secret for all of them to see. The app still starts, with a
// warning naming the file and the chmod that fixes it, quoted for a shell.
func TestDotenvReadableByOthersWarns(t *testing.T) {
	for _, tt := range []struct {
		mode os.FileMode
		warn bool
	}{{0o644, true}, {0o640, true}, {0o604, true}, {0o600, false}, {0o400, false}} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "it's my app")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			t.Chdir(dir)
			path := filepath.Join(dir, ".env")
			if err := os.WriteFile(path, []byte("BITBUCKET_CONSUMER_SECRET="+testSecret+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // WriteFile's mode passes through the umask
				t.Fatal(err)
			}
			c, err := loadWithin(t, nil, nil)
			if err != nil {
				t.Fatalf("Load: %v (a warning must not stop the app)", err)
			}
			if !tt.warn {
				if len(c.Warnings) != 0 {
					t.Errorf("Warnings = %q, want none", c.Warnings)
				}
				return
			}
			if len(c.Warnings) != 1 {
				t.Fatalf("Warnings = %q, want one", c.Warnings)
			}
			w := c.Warnings[0]
			quoted := "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
			for _, want := range []string{path + " can be read by other users", "chmod 600 " + quoted} {
				if !strings.Contains(w, want) {
					t.Errorf("warning %q lacks %q", w, want)
				}
			}
			if strings.Contains(w, "\n") {
				t.Errorf("warning spans lines: %q", w)
			}
			assertNoSecretIn(t, "the warning", w, testSecret)
		})
	}
}
