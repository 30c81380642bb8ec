package serving

import "testing"

func TestURL(t *testing.T) {
	for line, want := range map[string]string{
		"Serving on http://localhost:40123 (Bitbucket mode). Press Ctrl+C to stop.": "http://localhost:40123",
		"Serving on http://localhost:3000 (demo mode). Press Ctrl+C to stop.":       "http://localhost:3000",
		"Serving on http://127.0.0.1:8080.":                                         "http://127.0.0.1:8080",
		"Serving on http://[::1]:8080/, press Ctrl+C":                               "http://[::1]:8080",
		"time=... level=INFO msg=listening url=http://localhost:3000":               "",
	} {
		got, ok := URL(line)
		if got != want || ok != (want != "") {
			t.Errorf("URL(%q) = %q, %v; want %q", line, got, ok, want)
		}
	}
}
