package sampleapp

import "testing"

func TestServingURL(t *testing.T) {
	for line, want := range map[string]string{
		"Serving on http://localhost:40123 (Bitbucket mode). Press Ctrl+C to stop.": "http://localhost:40123",
		"Serving on http://localhost:3000 (demo mode). Press Ctrl+C to stop.":       "http://localhost:3000",
		"Serving on http://127.0.0.1:8080.":                                         "http://127.0.0.1:8080",
		"Serving on http://[::1]:8080/, press Ctrl+C":                               "http://[::1]:8080",
		"time=... level=INFO msg=listening url=http://localhost:3000":               "",
	} {
		got, ok := ServingURL(line)
		if got != want || ok != (want != "") {
			t.Errorf("ServingURL(%q) = %q, %v; want %q", line, got, ok, want)
		}
	}
}

func TestDeclares(t *testing.T) {
	for data, want := range map[string]bool{
		"module bitbucket-client-credentials-sample\n\ngo 1.26.0\n":       true,
		"// the app\nmodule \"bitbucket-client-credentials-sample\"\n":    true,
		"module bitbucket-client-credentials-sample/bench\n\ngo 1.26.0\n": false,
		"go 1.26.0\n": false,
	} {
		if got := declares([]byte(data), modulePath); got != want {
			t.Errorf("declares(%q) = %v, want %v", data, got, want)
		}
	}
}
