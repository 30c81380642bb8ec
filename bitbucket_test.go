package main

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestTokenFailureHints covers the token errors the app's own requests
// never provoke (it always authenticates and always sends the grant), so a
// copy of tokenFailure in another project still explains them.
func TestTokenFailureHints(t *testing.T) {
	retrieveErr := func(status int, code, desc string) error {
		return &oauth2.RetrieveError{Response: &http.Response{StatusCode: status}, ErrorCode: code, ErrorDescription: desc}
	}
	tests := []struct {
		name   string
		err    error
		status int
		hint   string
	}{
		{"missing client authentication", retrieveErr(400, "unauthorized_client", "Requests must be authenticated using OAuth client credentials"),
			502, "AuthStyleInHeader"},
		{"unsupported grant", retrieveErr(400, "invalid_grant", "Unsupported grant type: None"), 502, "grant_type=client_credentials"},
		{"unknown OAuth error", retrieveErr(400, "invalid_scope", "nope"), 502, "refused the token request"},
		{"4xx without an OAuth error", retrieveErr(404, "", ""), 502, "BITBUCKET_TOKEN_URL"},
		{"too large", errTooLarge, 502, "BITBUCKET_API_URL"},
		{"other network failure", errors.New("tls: handshake failure"), 502, "network connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tokenFailure(tt.err)
			if e.pageStatus() != tt.status {
				t.Errorf("page status %d, want %d", e.pageStatus(), tt.status)
			}
			if !strings.Contains(e.Hint+e.Message, tt.hint) {
				t.Errorf("hint %q lacks %q", e.Hint, tt.hint)
			}
		})
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "****"},
		{"short-secret", "****"},
		{"abcdefghijklmnopqrstuvwxyz", "abcd…wxyz"},
	}
	for _, tt := range tests {
		if got := mask(tt.in); got != tt.want {
			t.Errorf("mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDescribeAuth(t *testing.T) {
	tests := []struct{ header, want string }{
		{"", "none"},
		{"Basic dXNlcjpwYXNz", "Basic <redacted>"},
		{"Bearer abcdefghijklmnopqrstuvwxyz", "Bearer abcd…wxyz"},
		{"Token xyz", "Token <redacted>"},
	}
	for _, tt := range tests {
		if got := describeAuth(tt.header); got != tt.want {
			t.Errorf("describeAuth(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}
