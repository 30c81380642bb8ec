// Package serving reads the line the app prints on stdout once it listens,
// "Serving on http://localhost:3000 (demo mode). Press Ctrl+C to stop.",
// for the tests and tools that start the app and need its address.
package serving

import (
	"regexp"
	"strings"
)

var line = regexp.MustCompile(`Serving on (http://\S+)`)

// URL returns the base URL in one line of the app's stdout, if the line is
// the one that says where the app serves.
func URL(s string) (string, bool) {
	m := line.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	return strings.TrimRight(m[1], ".,;:)/"), true
}
