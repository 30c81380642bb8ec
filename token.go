package main

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Token renewal. Bitbucket's tokens live 7200 s. The app renews a token
// renewMargin before it expires, so that a token never expires between the
// moment the app picks it and the moment Bitbucket checks it.
const (
	renewMargin = time.Minute
	// A token response without expires_in would never expire in
	// golang.org/x/oauth2's eyes. Treat such a token as short-lived instead.
	fallbackLifetime = 5 * time.Minute
)

// newClientCredentialsConfig describes the consumer to golang.org/x/oauth2.
//
// Two settings matter for Bitbucket:
//   - AuthStyleInHeader: Bitbucket takes the key and secret as HTTP Basic
//     credentials. Auto-detection would retry with them in the form body and
//     report that second, misleading error.
//   - no Scopes: Bitbucket grants the permissions ticked on the consumer and
//     takes no scope parameter.
func newClientCredentialsConfig(key, secret, tokenURL string) *clientcredentials.Config {
	return &clientcredentials.Config{
		ClientID:     key,
		ClientSecret: secret,
		TokenURL:     tokenURL,
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
}

// tokenCache is the app's one token source: built once at start-up, shared by
// every request. It fetches a token when it has none or the one it has is
// within renewMargin of expiring, and otherwise hands out the cached one, so
// any number of page loads cost one token request per token lifetime.
//
// golang.org/x/oauth2's own Config.TokenSource caches too. This one adds
// what a teaching app needs: an injectable clock, a way to drop a token
// Bitbucket rejected (oauth2.Transport ignores 401s), a safe lifetime for a
// response without expires_in, and a record of whether a page load fetched
// the token or reused it.
type tokenCache struct {
	cfg *clientcredentials.Config
	// ctx is long-lived: golang.org/x/oauth2 keeps the context it is given
	// for every later fetch, so it must never be a request's context. It
	// carries the upstream *http.Client (with its timeout) via oauth2.HTTPClient.
	ctx context.Context
	now func() time.Time

	mu  sync.Mutex // held while fetching, so concurrent page loads wait for one fetch
	cur *cachedToken
	gen uint64 // counts fetched tokens
}

// cachedToken is a token plus what the app worked out about it.
type cachedToken struct {
	*oauth2.Token
	ExpiresAt time.Time // when Bitbucket will stop accepting it (by the cache's clock, unlike Token.Expiry)
	renewAt   time.Time // when the cache fetches a new one
	Scopes    string    // space-separated, as granted to the consumer
	Gen       uint64    // which fetch produced it: things learnt with a token live as long as it
}

// tokenResult tells a page load how it got its token.
type tokenResult struct {
	Token   *cachedToken
	Fetched bool // false: the cached token was reused
}

func newTokenCache(cfg *clientcredentials.Config, client *http.Client, now func() time.Time) *tokenCache {
	return &tokenCache{
		cfg: cfg,
		ctx: context.WithValue(context.Background(), oauth2.HTTPClient, client),
		now: now,
	}
}

// Token implements oauth2.TokenSource, so the cache can also back
// oauth2.NewClient in code that needs no more than a token.
func (c *tokenCache) Token() (*oauth2.Token, error) {
	res, err := c.get(nil)
	if err != nil {
		return nil, err
	}
	return res.Token.Token, nil
}

// get returns the cached token or fetches a new one, recording the token
// request in tr (which may be nil).
func (c *tokenCache) get(tr *trace) (tokenResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.cur != nil && now.Before(c.cur.renewAt) {
		return tokenResult{Token: c.cur}, nil
	}

	// Config.Token always makes a token request. It is called only here,
	// behind the cache, with the long-lived context (plus, as a value, the
	// page's trace, so the page can show the exchange).
	tok, err := c.cfg.Token(withTrace(c.ctx, tr))
	res := tokenResult{Fetched: true}
	if err != nil {
		c.cur = nil
		return res, err
	}

	lifetime := tokenLifetime(tok)
	if lifetime <= 0 {
		lifetime = fallbackLifetime
	}
	// Renew renewMargin early, but never later than half-way through a
	// short-lived token's life.
	margin := min(renewMargin, lifetime/2)
	c.gen++
	c.cur = &cachedToken{
		Token:     tok,
		ExpiresAt: now.Add(lifetime),
		renewAt:   now.Add(lifetime - margin),
		Scopes:    tokenScopes(tok),
		Gen:       c.gen,
	}
	res.Token = c.cur
	return res, nil
}

// invalidate drops tok if it is still the cached token: Bitbucket answered
// 401 to it (expired early or revoked). A newer token fetched meanwhile by
// another page load is kept.
func (c *tokenCache) invalidate(tok *cachedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == tok {
		c.cur = nil
	}
}

// tokenScopes reads the granted scopes: "scope" since May 2026, "scopes" in
// older responses.
func tokenScopes(tok *oauth2.Token) string {
	for _, key := range []string{"scope", "scopes"} {
		if s, ok := tok.Extra(key).(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// tokenLifetime reads expires_in from the token response. (clientcredentials
// does not copy it into Token.ExpiresIn, and Token.Expiry was computed with
// the real clock, not the cache's.) It returns 0 when the field is missing.
func tokenLifetime(tok *oauth2.Token) time.Duration {
	var seconds float64
	switch v := tok.Extra("expires_in").(type) {
	case float64: // a JSON number
		seconds = v
	case string: // a form-encoded answer
		seconds, _ = strconv.ParseFloat(v, 64)
	}
	return time.Duration(seconds) * time.Second
}
