package main

import (
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestTokenCacheIsAnOAuth2TokenSource: code that needs no more than a
// token can use the cache through golang.org/x/oauth2's own interface, and
// still makes one token request.
func TestTokenCacheIsAnOAuth2TokenSource(t *testing.T) {
	f := newFixture(t)
	client := &http.Client{Timeout: 5 * time.Second}
	var src oauth2.TokenSource = newTokenCache(newClientCredentialsConfig(testKey, testSecret, f.cfg.TokenURL), client, f.clock.Now)
	for range 3 {
		tok, err := src.Token()
		if err != nil {
			t.Fatal(err)
		}
		if tok.Type() != "Bearer" || tok.AccessToken != f.bb.IssuedTokens()[0] {
			t.Fatalf("token %s %q", tok.Type(), mask(tok.AccessToken))
		}
	}
	if n := f.bb.TokenRequests(); n != 1 {
		t.Errorf("%d token requests for three Token calls, want 1", n)
	}
}
