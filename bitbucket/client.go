package bitbucket

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/oauth2"
)

// MaxBody caps how much of an answer is read: a page of repositories is a
// few kB, and an upstream that sends more must not fill the memory.
const MaxBody = 1 << 20

// maxListPages bounds how many pages List reads, whatever next says.
const maxListPages = 20

// Client calls Bitbucket REST API 2.0 with tokens from its TokenSource.
// Make one per process and share it: it is safe for concurrent use.
type Client struct {
	apiURL string
	http   *http.Client
	tokens *TokenSource
}

// NewClient returns a client for cfg, with its own TokenSource.
func NewClient(cfg Config) *Client {
	tokens := NewTokenSource(cfg)
	return &Client{apiURL: tokens.apiURL, http: tokens.client, tokens: tokens}
}

// Tokens is the client's token source.
func (c *Client) Tokens() *TokenSource { return c.tokens }

// Get calls GET {APIURL}{path}?{query} with the access token and decodes the
// JSON answer into v. path is below the API URL, such as
// "/repositories/my-workspace"; escape what you put in it (url.PathEscape).
// Errors are *Error.
func (c *Client) Get(ctx context.Context, path string, query url.Values, v any) error {
	return c.get(ctx, c.url(path, query), v)
}

func (c *Client) url(path string, query url.Values) string {
	if len(query) > 0 {
		return c.apiURL + path + "?" + query.Encode()
	}
	return c.apiURL + path
}

func (c *Client) get(ctx context.Context, u string, v any) error {
	tok, _, err := c.tokens.Get(ctx)
	if err != nil {
		return err
	}
	err = c.do(ctx, u, tok, v)
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
		return err
	}
	// 401: the token expired early or was revoked. Drop it and retry once
	// with a new one, unless it had itself replaced a rejected token.
	if !c.tokens.Invalidate(tok) {
		e.Retried = true
		return e
	}
	if tok, _, err = c.tokens.Get(ctx); err != nil {
		return err
	}
	err = c.do(ctx, u, tok, v)
	if errors.As(err, &e) && e.Status == http.StatusUnauthorized {
		e.Retried = true
	}
	return err
}

// do makes one authenticated GET and decodes the answer.
func (c *Client) do(ctx context.Context, u string, tok *oauth2.Token, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return c.tokens.clean(&Error{Step: "GET " + u, Err: err})
	}
	e := &Error{Step: "GET " + req.URL.EscapedPath()}
	req.Header.Set("Accept", "application/json")
	tok.SetAuthHeader(req) // Authorization: Bearer …, the only place Bitbucket takes a token

	resp, err := c.http.Do(req)
	if err != nil {
		e.Err = err
		return c.tokens.clean(e)
	}
	defer drainAndClose(resp.Body)
	e.Status, e.ContentType = resp.StatusCode, mediaType(resp.Header)
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	switch {
	case err != nil:
		e.Err = err
	case len(body) > MaxBody:
		e.Err = ErrTooLarge
	case resp.StatusCode != http.StatusOK:
		e.parse(resp.Header, body)
	default:
		if e.Err = json.Unmarshal(body, v); e.Err == nil {
			return nil
		}
		e.Message, e.Body = "the answer was not the JSON expected", string(body)
	}
	return c.tokens.clean(e)
}

// ErrTooLarge is an answer longer than MaxBody.
var ErrTooLarge = fmt.Errorf("the answer is larger than %d bytes", MaxBody)

// drainAndClose reads a little of what is left of a body before closing it,
// so that the connection can be reused (keep-alive). With more left than
// that, reconnecting is cheaper than reading on.
func drainAndClose(body io.ReadCloser) {
	io.Copy(io.Discard, io.LimitReader(body, 64<<10)) //nolint:errcheck // best effort
	body.Close()
}

// Page is one page of a paginated collection. Bitbucket guarantees only
// values and next (absent on the last page); the rest may be missing, and
// page may be an opaque cursor.
type Page[T any] struct {
	Values   Values[T]       `json:"values"`
	Next     string          `json:"next"`     // absent on the last page; follow it as it is
	Previous string          `json:"previous"` // optional
	Size     json.Number     `json:"size"`     // total number of values; optional
	Pagelen  json.Number     `json:"pagelen"`
	Page     json.RawMessage `json:"page"` // a number, or a string cursor
}

// Values decodes at most MaxPageValues items and skips the rest: a page
// costs no more than a page, whatever an answer holds.
type Values[T any] []T

// MaxPageValues is Bitbucket's largest pagelen.
const MaxPageValues = 100

func (v *Values[T]) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return json.Unmarshal(b, (*[]T)(v)) // null, or the error for a non-array
	}
	*v = (*v)[:0] // like encoding/json, decode into an empty slice
	for dec.More() {
		if len(*v) == MaxPageValues {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		var item T
		if err := dec.Decode(&item); err != nil {
			return err
		}
		*v = append(*v, item)
	}
	return nil
}

// List reads the collection at path, following each page's next link, and
// returns at most limit values, from at most 20 pages: what it has read by
// then, without an error. Pages may be empty and still have a next. next is
// followed only on the API's own origin: the token goes nowhere else.
func List[T any](ctx context.Context, c *Client, path string, query url.Values, limit int) ([]T, error) {
	base, err := url.Parse(c.url(path, query))
	if err != nil || limit <= 0 {
		return nil, err
	}
	var out []T
	for u, pages := base, 0; pages < maxListPages; pages++ {
		var page Page[T]
		if err := c.get(ctx, u.String(), &page); err != nil {
			return out, err
		}
		out = append(out, page.Values[:min(len(page.Values), limit-len(out))]...)
		if len(out) >= limit || page.Next == "" {
			break
		}
		if u, err = u.Parse(page.Next); err != nil || origin(u) != origin(base) { // a relative next resolves against this page
			return out, c.tokens.clean(&Error{Step: "GET " + base.EscapedPath(), Status: http.StatusOK,
				Message: "next points outside the API: " + page.Next})
		}
	}
	return out, nil
}

// The parts of Bitbucket's answers that the sample shows. Decode only what
// you use: a field you do not need cannot break your code when it changes.
type (
	Link      struct{ Href string }
	NamedLink struct{ Name, Href string }

	Repository struct {
		Name        string `json:"name"`
		FullName    string `json:"full_name"` // workspace/repo_slug
		Slug        string `json:"slug"`
		Description string `json:"description"`
		IsPrivate   bool   `json:"is_private"`
		Language    string `json:"language"`
		UpdatedOn   string `json:"updated_on"`
		Links       struct {
			HTML  Link        `json:"html"`
			Clone []NamedLink `json:"clone"` // "https": https://{user}@bitbucket.org/{full_name}.git
		} `json:"links"`
	}
)

// Error is a failed step: the token request or an API call. Its text fields
// come from Bitbucket, with the secret, the Basic credentials and every
// token removed, and clipped; they are safe to show and log.
type Error struct {
	Step        string   // such as "POST /site/oauth2/access_token" or "GET /2.0/repositories/my-team"
	Status      int      // the HTTP status; 0 when no answer came back
	ContentType string   // of the answer, such as "application/json"
	Code        string   // the OAuth error code of a token request, such as "invalid_client"
	Message     string   // error_description, or Bitbucket's error message
	Detail      string   // Bitbucket's detail, when it is text
	Required    []string // scopes a 403 says are missing
	Body        string   // a snippet of an answer that was not the JSON expected
	Retried     bool     // a 401 to a token that had replaced a rejected one: a new token would not help
	Err         error    // the cause, for errors.Is and errors.As (not for showing: it may hold upstream text)
	cause       string   // Err's text, cleaned; not RetrieveError's, which holds the whole body
}

func (e *Error) Error() string {
	s := e.Step + ": "
	if e.Status != 0 {
		s += fmt.Sprintf("HTTP %d: ", e.Status)
	}
	for _, part := range []string{e.Code, e.Message, e.Detail, e.Body, e.cause} {
		if part != "" {
			s += part + "; "
		}
	}
	return strings.TrimSuffix(s, "; ")
}

func (e *Error) Unwrap() error { return e.Err }

// Timeout reports whether the step failed because no full answer came in time.
func (e *Error) Timeout() bool {
	var ne net.Error
	return errors.Is(e.Err, context.DeadlineExceeded) || (errors.As(e.Err, &ne) && ne.Timeout())
}

// parse reads an API error body: JSON {"type":"error","error":{"message",
// "detail"}}, where detail may be text or an object (a 403's {"required":
// [...]}), or anything else (a 429's plain text, a proxy's HTML page).
func (e *Error) parse(h http.Header, body []byte) {
	var j struct {
		Error struct {
			Message string          `json:"message"`
			Detail  json.RawMessage `json:"detail"`
		} `json:"error"`
	}
	var scopes struct{ Required []string }
	if json.Unmarshal(body, &j) == nil && j.Error.Message != "" {
		e.Message = j.Error.Message
		if json.Unmarshal(j.Error.Detail, &e.Detail) != nil && json.Unmarshal(j.Error.Detail, &scopes) == nil {
			e.Required = scopes.Required
		}
	} else {
		e.Body = string(body)
	}
	if len(e.Required) == 0 && e.Status == http.StatusForbidden {
		for _, s := range strings.Split(h.Get("X-Accepted-OAuth-Scopes"), ",") {
			if s = strings.TrimSpace(s); s != "" {
				e.Required = append(e.Required, s)
			}
		}
	}
}

func mediaType(h http.Header) string {
	t, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return t
}

// clean removes every credential from e's upstream text and clips it: an
// upstream that echoes the request must not put them on a page or in a log.
func (s *TokenSource) clean(e *Error) *Error {
	if re := (*oauth2.RetrieveError)(nil); e.Err != nil && !errors.As(e.Err, &re) {
		var redirect *RedirectError
		if errors.As(e.Err, &redirect) { // its target comes from upstream
			redirect.From, redirect.To = clip(s.Redact(clip(redirect.From, 4096)), 300), clip(s.Redact(clip(redirect.To, 4096)), 300)
		}
		e.cause = e.Err.Error()
	}
	for _, p := range []*string{&e.Step, &e.Code, &e.Message, &e.Detail, &e.Body, &e.cause} {
		*p = clip(s.Redact(clip(*p, 4096)), 300) // the first clip bounds the work on a huge body
	}
	if len(e.Required) > 10 {
		e.Required = e.Required[:10]
	}
	for i, r := range e.Required {
		e.Required[i] = clip(s.Redact(r), 40)
	}
	return e
}

// Redact removes from text the secret, the Basic credentials and every
// access token this source has held, in the encodings an echo may use. The
// client's errors are redacted already: use it on any other upstream text
// you show or log.
func (s *TokenSource) Redact(text string) string {
	s.mu.Lock()
	replacer, raw := s.redactor, s.rawHeld
	s.mu.Unlock()
	text = replacer.Replace(text) // one pass, whatever the number of forms
	if !strings.ContainsAny(text, "%&") {
		return text
	}
	// An echo may escape what it repeats in ways no list foresees: undo the
	// usual escapes, and if a credential shows, the text goes whole.
	for _, decoded := range []string{html.UnescapeString(text), percentDecode(text), percentDecode(html.UnescapeString(text))} {
		for _, r := range raw {
			if strings.Contains(decoded, r) {
				return "[redacted: it held a credential]"
			}
		}
	}
	return text
}

// newRedactorLocked remakes what Redact uses, when the credentials it
// knows change: the forms longest first, so that a Basic pair goes whole
// before the secret in it.
func (s *TokenSource) newRedactorLocked() {
	forms := slices.Concat(append([][]string{s.secret}, s.heldForms...)...)
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, "[redacted]")
	}
	s.redactor, s.rawHeld = strings.NewReplacer(pairs...), append(s.raw[:len(s.raw):len(s.raw)], s.held...)
}

// encodings lists values as an echo may carry them: as they are, URL-, HTML-
// or JSON-escaped, in base64 or in hex. Values shorter than 4 are no
// credential, and would blank out ordinary text.
func encodings(values ...string) []string {
	lowerHex := regexp.MustCompile(`%[0-9A-F]{2}`)
	seen := map[string]bool{}
	for _, v := range values {
		b, _ := json.Marshal(v)
		jsonText, query := strings.Trim(string(b), `"`), url.QueryEscape(v)
		for _, form := range []string{v, query, url.PathEscape(v), lowerHex.ReplaceAllStringFunc(query, strings.ToLower),
			strings.ReplaceAll(query, "%2F", "/"), html.EscapeString(v), jsonText, strings.ReplaceAll(jsonText, "/", `\/`),
			hex.EncodeToString([]byte(v)), strings.ToUpper(hex.EncodeToString([]byte(v))),
			base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)),
			base64.URLEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v))} {
			seen[form] = len(form) >= 4
		}
	}
	return slices.DeleteFunc(slices.Collect(maps.Keys(seen)), func(f string) bool { return !seen[f] })
}

// percentDecode undoes %XX escapes, leaving anything else as it is.
func percentDecode(text string) string {
	if !strings.Contains(text, "%") {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		if c, err := hex.DecodeString(text[i+1 : min(i+3, len(text))]); text[i] == '%' && err == nil && len(c) == 1 {
			b.WriteByte(c[0])
			i += 2
			continue
		}
		b.WriteByte(text[i])
	}
	return b.String()
}

// clip keeps text to n characters of valid UTF-8 on one line.
func clip(text string, n int) string {
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(text, "\uFFFD"))
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	return string([]rune(text)[:n]) + "…"
}
