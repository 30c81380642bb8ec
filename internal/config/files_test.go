package config

import (
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// loadWithin runs Load in the working directory and fails the test, instead
// of hanging the suite, if it does not return within a generous deadline:
// a configuration file that never ends (a FIFO, /dev/zero) must be refused,
// not read. unblock, if not nil, runs on timeout to release a stuck Load.
func loadWithin(t *testing.T, args []string, unblock func()) (Config, error) {
	t.Helper()
	type result struct {
		c   Config
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := Load(append([]string{"app"}, args...), envOf(nil), io.Discard)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		return r.c, r.err
	case <-time.After(10 * time.Second):
		if unblock != nil {
			unblock()
		}
		t.Fatal("Load did not return within 10s: it reads a file that never ends")
		return Config{}, nil
	}
}

// TestConfigFilesMustBeRegular: config.json and .env must be regular files
// of at most 64 KiB. A symlink to /dev/zero, a directory or an oversized
// file is an *Error (exit status 2) naming the file, returned at once.
func TestConfigFilesMustBeRegular(t *testing.T) {
	big := "# " + strings.Repeat("x", 64<<10) + "\n"
	tests := []struct {
		name  string
		setup func(t *testing.T, file string)
		want  string
	}{
		{"symlink to /dev/zero", func(t *testing.T, file string) {
			if runtime.GOOS == "windows" {
				t.Skip("no /dev/zero")
			}
			if err := os.Symlink("/dev/zero", file); err != nil {
				t.Skip(err)
			}
		}, "is not a regular file"},
		{"directory", func(t *testing.T, file string) {
			if err := os.Mkdir(file, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "is not a regular file"},
		{"larger than 64 KiB", func(t *testing.T, file string) {
			if err := os.WriteFile(file, []byte(big), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "is larger than 64 KiB"},
	}
	for _, file := range []string{"config.json", ".env"} {
		for _, tt := range tests {
			t.Run(file+" "+tt.name, func(t *testing.T) {
				inDir(t, nil)
				tt.setup(t, file)
				_, err := loadWithin(t, nil, nil)
				if !isConfigError(err) {
					t.Fatalf("err = %v, want an *Error (exit status 2)", err)
				}
				if !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("message %q lacks %q or %q", err, file, tt.want)
				}
			})
		}
	}
}

// TestConfigFilesUpTo64KiB: the bound is 64 KiB exactly, not less.
func TestConfigFilesUpTo64KiB(t *testing.T) {
	pad := func(s string) string { return s + strings.Repeat(" ", 64<<10-len(s)) }
	inDir(t, map[string]string{".env": pad("# comment\nBITBUCKET_WORKSPACE=team\n"), "config.json": pad(`{"port": 4000}`)})
	c, err := loadWithin(t, nil, nil)
	if err != nil || c.Workspace != "team" || c.Port != 4000 {
		t.Fatalf("files of exactly 64 KiB: %+v, %v", c, err)
	}
}
