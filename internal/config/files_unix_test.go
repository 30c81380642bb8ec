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
