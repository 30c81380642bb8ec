package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"bitbucket-client-credentials-sample/bitbucket"
)

// BenchmarkRedact is the cost of cleaning upstream text, which the results
// page does for every field it shows (about 80 a page): five typical
// fields a loop, with the secret's forms and one held token's.
func BenchmarkRedact(b *testing.B) {
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"token-abcdefghijklmnopqrstuvwxyz0123456789ABCDEF","expires_in":7200}`)
	}))
	defer tokens.Close()
	ts := bitbucket.NewTokenSource(bitbucket.Config{Key: "bench-key-12345", Secret: "S3cr3t+With/Special=Chars&more:colons", TokenURL: tokens.URL})
	if _, _, err := ts.Get(context.Background()); err != nil {
		b.Fatal(err)
	}
	fields := []string{"api-gateway", "Routes and rate-limits requests to the internal services.",
		"https://bitbucket.org/bitbucket-demo/api-gateway", "2026-11-27T18:00:00.123456+00:00", "go"}
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range fields {
			ts.Redact(f)
		}
	}
}
