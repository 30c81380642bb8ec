package main

import (
	"cmp"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// redactor removes credentials from text that came from upstream, before a
// page or a log shows it.
//
// Bitbucket does not echo credentials. But the app talks to whatever
// BITBUCKET_TOKEN_URL and BITBUCKET_API_URL name, and a proxy, a test
// server or a mistaken URL may repeat the request in its answer. Such an
// upstream has the credentials anyway: it received them. Redaction is for
// the page or the log that someone then shares, and covers the forms an
// echo of the request takes: the secret raw and URL-encoded, the Basic
// value, and every token the app has sent lately.
type redactor struct {
	fixed []string // the secret and the Basic credentials, in those forms

	mu       sync.Mutex
	tokens   []string // the last eight tokens sent
	forms    []string // what is removed, longest first
	replacer *strings.Replacer
}

func newRedactor(key, secret string) *redactor {
	basic := url.QueryEscape(key) + ":" + url.QueryEscape(secret) // as x/oauth2 sends it (RFC 6749 §2.3.1)
	raw := key + ":" + secret                                     // as curl -u sends it
	b64 := base64.StdEncoding.EncodeToString
	r := &redactor{fixed: []string{b64([]byte(basic)), b64([]byte(raw)), basic, raw, url.QueryEscape(secret), url.PathEscape(secret), secret}}
	r.remember("")
	return r
}

// remember adds a token to what is removed. The tracing transport calls it
// with every token it sees go out, and the token's view with the token it
// shows, which may not have gone out yet.
func (r *redactor) remember(token string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.replacer != nil && (token == "" || slices.Contains(r.tokens, token)) {
		return
	}
	if token != "" {
		r.tokens = append(r.tokens[max(0, len(r.tokens)-7):], token)
	}
	var forms []string
	for _, t := range r.tokens {
		forms = append(forms, t, url.QueryEscape(t))
	}
	forms = slices.Compact(slices.SortedFunc(slices.Values(append(forms, r.fixed...)), func(a, b string) int {
		return cmp.Or(len(b)-len(a), strings.Compare(a, b)) // longest first: a Basic pair goes whole, before the secret in it
	}))
	forms = slices.DeleteFunc(forms, func(f string) bool { return len(f) < 4 }) // shorter is no credential, and would blank out ordinary text
	var pairs []string
	for _, f := range forms {
		pairs = append(pairs, f, "[redacted]")
	}
	r.forms, r.replacer = forms, strings.NewReplacer(pairs...)
}

// clip is upstream text as a page or a log shows it: without credentials,
// on one line, at most n characters.
func (r *redactor) clip(s string, n int) string {
	r.mu.Lock()
	forms, replacer := r.forms, r.replacer
	r.mu.Unlock()
	for _, f := range forms { // most texts hold none: a search is cheaper than a replacement
		if strings.Contains(s, f) {
			return clip(replacer.Replace(s), n)
		}
	}
	return clip(s, n)
}

// clip keeps text to n characters of valid UTF-8 on one line. Control
// characters become spaces, and format characters (bidi overrides, zero
// width spaces and joiners) go: text from upstream must not reorder or hide
// what a page or a terminal shows around it.
func clip(s string, n int) string {
	if len(s) <= n && printableASCII(s) {
		return s
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r):
			return ' '
		case unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, strings.ToValidUTF8(s[:min(len(s), 4*n+4)], "\uFFFD"))
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func printableASCII(s string) bool {
	for i := range len(s) {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
