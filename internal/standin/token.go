package standin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// tokenError writes Bitbucket's flat OAuth error body.
func tokenError(w http.ResponseWriter, code, description string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": description})
}

const msgPublicConsumer = `Cannot use client_credentials with a consumer marked as "public". ` +
	`Calls for auto generated consumers should use urn:bitbucket:oauth2:jwt instead.`

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, rec *Request) {
	defer func() { s.record(*rec) }()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request", "error_description": "Method not allowed"})
		return
	}
	// Bitbucket reads a form body; anything else leaves grant_type unset.
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if ct := r.Header.Get("Content-Type"); err == nil && strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(raw)); err == nil {
			rec.Form = form
		}
	}

	switch f := s.fault(TokenEndpoint); f {
	case Hang:
		hang(r)
		return
	case TokenServerError:
		writeRaw(w, http.StatusServiceUnavailable, "text/html; charset=utf-8", "<html><body><h1>Service Unavailable</h1></body></html>")
		return
	case TokenHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!DOCTYPE html><html><head><title>Log in</title></head><body>Log in to Bitbucket</body></html>")
		return
	case TokenMalformedJSON:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token": "abc`)
		return
	case TokenErrorIn200:
		writeJSON(w, http.StatusOK, map[string]string{"error": "server_error", "error_description": "The token service is temporarily unavailable"})
		return
	case TokenNoAccessToken:
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "bearer", "expires_in": 7200, "scope": s.opts.Scopes})
		return
	case TokenEchoRequest, TokenEchoHuge:
		echoTokenRequest(w, r, raw, f == TokenEchoHuge)
		return
	case TokenRateLimited:
		writeRaw(w, http.StatusTooManyRequests, "text/plain; charset=utf-8", "Rate limit for this resource has been exceeded")
		return
	case TokenInvalidClient:
		// RFC 6749 §5.2: a 401 must say how to authenticate.
		w.Header().Set("WWW-Authenticate", `Basic realm="Bitbucket OAuth"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Invalid client credentials"})
		return
	}

	// Client authentication: HTTP Basic only.
	user, pass, ok := r.BasicAuth()
	if !ok {
		tokenError(w, "unauthorized_client", "Requests must be authenticated using OAuth client credentials")
		return
	}
	// RFC 6749 §2.3.1: the client form-encodes key and secret before Basic
	// encoding them, and golang.org/x/oauth2 does so.
	key, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil ||
		subtle.ConstantTimeCompare([]byte(key), []byte(s.opts.Key)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.Secret)) != 1 {
		tokenError(w, "unauthorized_client", "Invalid OAuth client credentials")
		return
	}
	grant := rec.Form.Get("grant_type")
	if grant == "" {
		grant = "None" // Bitbucket names a missing grant_type in Python's words
	}
	if s.fault(TokenEndpoint) == TokenUnsupportedGrant {
		tokenError(w, "unsupported_grant_type", "Unsupported grant type: "+grant)
		return
	}
	if grant != "client_credentials" {
		tokenError(w, "invalid_grant", "Unsupported grant type: "+grant)
		return
	}
	switch s.fault(TokenEndpoint) {
	case TokenNotPrivate:
		tokenError(w, "invalid_grant", msgPublicConsumer)
		return
	case TokenPublicConsumer:
		tokenError(w, "unauthorized_client", msgPublicConsumer)
		return
	case TokenNoCallback:
		tokenError(w, "invalid_request", "No callback uri defined for the OAuth client.")
		return
	}

	s.mu.Lock()
	scopes, expiresIn := s.opts.Scopes, s.opts.ExpiresIn
	if s.faults[TokenEndpoint] == TokenLongScope {
		scopes += " " + manyScopes
	}
	token := newToken()
	s.everIssued = append(s.everIssued, token)
	s.tokens[token] = issued{
		expiry: s.opts.Now().Add(time.Duration(expiresIn) * time.Second),
		scopes: strings.Fields(scopes),
	}
	s.mu.Unlock()

	body := map[string]any{
		"access_token": token,
		"scope":        scopes,
		"expires_in":   expiresIn,
		"token_type":   "bearer",
	}
	switch s.fault(TokenEndpoint) {
	case TokenNoExpiresIn:
		delete(body, "expires_in")
	case TokenLegacyShape:
		delete(body, "scope")
		body["scopes"] = scopes
		body["refresh_token"] = "legacy-refresh-" + newToken()
		body["state"] = "client_credentials"
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body)
}

// newToken makes an opaque token about as long as Bitbucket's.
func newToken() string {
	b := make([]byte, 96)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}
