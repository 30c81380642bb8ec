package bitbucket_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"bitbucket-client-credentials-sample/bitbucket"
)

func TestGetSendsTheTokenAsBearer(t *testing.T) {
	f := newFake(t)
	var got *http.Request
	f.api = func(w http.ResponseWriter, r *http.Request) {
		got = r
		writeJSON(w, http.StatusOK, `{"values":[{"full_name":"my-team/api","unknown":{"x":[1,2]}}],"page":"opaque-cursor","next":"`+f.URL+`/2.0/x?page=abc"}`)
	}
	c := bitbucket.NewClient(f.config(nil))
	var page bitbucket.Page[bitbucket.Repository]
	err := c.Get(context.Background(), "/repositories/my-team", url.Values{"sort": {"-updated_on"}}, &page)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Values) != 1 || page.Values[0].FullName != "my-team/api" || string(page.Page) != `"opaque-cursor"` {
		t.Errorf("decoded %+v", page)
	}
	if got.URL.Path != "/2.0/repositories/my-team" || got.URL.RawQuery != "sort=-updated_on" ||
		!strings.HasPrefix(got.Header.Get("Authorization"), "Bearer token-1") || got.Header.Get("User-Agent") != "bitbucket-test/1.0" {
		t.Errorf("request %s %v", got.URL, got.Header)
	}
}

func TestA401DropsTheTokenAndRetriesOnce(t *testing.T) {
	f := newFake(t)
	c := bitbucket.NewClient(f.config(nil))
	var page bitbucket.Page[bitbucket.Repository]
	if err := c.Get(context.Background(), "/repositories/my-team", nil, &page); err != nil {
		t.Fatal(err)
	}
	f.revoke() // as if the token had been revoked
	if err := c.Get(context.Background(), "/repositories/my-team", nil, &page); err != nil {
		t.Fatalf("after a revoked token: %v", err)
	}
	if n := f.tokenRequests(); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
}

// An endpoint that refuses every token (as /2.0/user/workspaces may for a
// client-credentials token) costs one extra token request, not one per call.
func TestEndpointRefusingEveryTokenCostsOneExtraTokenRequest(t *testing.T) {
	f := newFake(t)
	f.api = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusUnauthorized, `{"type":"error","error":{"message":"Token is invalid, expired, or not supported for this endpoint."}}`)
	}
	c := bitbucket.NewClient(f.config(nil))
	for i := range 5 {
		var v any
		err := c.Get(context.Background(), "/user/workspaces", nil, &v)
		var e *bitbucket.Error
		if !errors.As(err, &e) || e.Status != 401 || !e.Retried {
			t.Fatalf("call %d: %v, want a 401 marked Retried", i, err)
		}
	}
	if n := f.tokenRequests(); n != 2 {
		t.Errorf("%d token requests for 5 calls, want 2", n)
	}
}

func TestAPIErrors(t *testing.T) {
	for _, c := range []struct {
		name           string
		status         int
		ctype, body    string
		header         string // X-Accepted-OAuth-Scopes
		message, body2 string
		required       string
	}{
		{"not found", 404, "application/json", `{"type":"error","error":{"message":"No workspace with identifier 'x'."}}`, "", "No workspace with identifier 'x'.", "", ""},
		{"detail text", 404, "application/json", `{"type":"error","error":{"message":"Resource not found","detail":"There is no API hosted at this URL."}}`, "", "Resource not found", "", ""},
		{"missing scope", 403, "application/json", `{"type":"error","error":{"message":"Your credentials lack one or more required privilege scopes.","detail":{"required":["repository"],"granted":["account"]}}}`, "", "Your credentials lack one or more required privilege scopes.", "", "repository"},
		{"scope from header", 403, "application/json", `{"type":"error","error":{"message":"Forbidden"}}`, "account, repository", "Forbidden", "", "account repository"},
		{"rate limited", 429, "text/plain", "Rate limit for this resource has been exceeded", "", "", "Rate limit for this resource has been exceeded", ""},
		{"proxy page", 403, "text/html", "<html><body>Access\nDenied</body></html>", "", "", "<html><body>Access Denied</body></html>", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			f.api = func(w http.ResponseWriter, r *http.Request) {
				if c.header != "" {
					w.Header().Set("X-Accepted-OAuth-Scopes", c.header)
				}
				w.Header().Set("Content-Type", c.ctype)
				w.WriteHeader(c.status)
				fmt.Fprint(w, c.body)
			}
			var e *bitbucket.Error
			err := bitbucket.NewClient(f.config(nil)).Get(context.Background(), "/workspaces/x", nil, new(any))
			if !errors.As(err, &e) {
				t.Fatalf("%v is not a *bitbucket.Error", err)
			}
			if e.Step != "GET /2.0/workspaces/x" || e.Status != c.status || e.Message != c.message || e.Body != c.body2 ||
				strings.Join(e.Required, " ") != c.required || e.ContentType != c.ctype {
				t.Errorf("got %+v", e)
			}
		})
	}
}

func TestAnswerLargerThanMaxBody(t *testing.T) {
	f := newFake(t)
	f.api = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `{"values":[`+strings.Repeat(`{},`, bitbucket.MaxBody/3)+`{}]}`)
	}
	err := bitbucket.NewClient(f.config(nil)).Get(context.Background(), "/repositories/x", nil, new(any))
	if !errors.Is(err, bitbucket.ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

func TestRedirects(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the other origin got a request, Authorization %q", r.Header.Get("Authorization"))
	}))
	defer other.Close()
	for _, c := range []struct {
		name, target string
		wantErr      bool
	}{
		{"same host, other port", other.URL + "/2.0/repositories/x", true},
		{"same origin", "/2.0/repositories/elsewhere", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			f.api = func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/2.0/repositories/x" {
					http.Redirect(w, r, c.target, http.StatusTemporaryRedirect)
					return
				}
				writeJSON(w, http.StatusOK, `{"values":[]}`)
			}
			err := bitbucket.NewClient(f.config(nil)).Get(context.Background(), "/repositories/x", nil, new(any))
			var re *bitbucket.RedirectError
			if got := errors.As(err, &re); got != c.wantErr {
				t.Fatalf("got %v, want a RedirectError: %v", err, c.wantErr)
			}
			if c.wantErr && (re.To != c.target || !strings.Contains(err.Error(), c.target)) {
				t.Errorf("the error does not name the target: %v", err)
			}
		})
	}
}

func TestTokenRequestRedirectToAnotherOriginIsRefused(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the other origin got the token request, Authorization %q", r.Header.Get("Authorization"))
	}))
	defer other.Close()
	f := newFake(t)
	cfg := f.config(nil)
	redirect := httptest.NewServer(http.RedirectHandler(other.URL+"/site/oauth2/access_token", http.StatusTemporaryRedirect))
	defer redirect.Close()
	cfg.TokenURL = redirect.URL + "/site/oauth2/access_token"
	_, _, err := bitbucket.NewTokenSource(cfg).Get(context.Background())
	var re *bitbucket.RedirectError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a RedirectError", err)
	}
}

// Whatever an upstream echoes back, the error holds no secret, no Basic
// credentials in any encoding and no token.
func TestEchoedCredentialsAreRemoved(t *testing.T) {
	f := newFake(t)
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(testKey) + ":" + url.QueryEscape(testSecret)))
	echo := func(r *http.Request) string {
		return fmt.Sprintf("you sent %s, raw %s:%s, form %s, body %s", r.Header.Get("Authorization"),
			testKey, testSecret, url.QueryEscape(testSecret), strings.Repeat("x", 5000))
	}
	f.api = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, echo(r))
	}
	c := bitbucket.NewClient(f.config(nil))
	apiErr := c.Get(context.Background(), "/repositories/x", nil, new(any))
	tok, _, _ := c.Tokens().Get(context.Background())

	g := newFake(t)
	g.reply = func(int) (int, string, string) {
		return http.StatusBadRequest, "application/json", fmt.Sprintf(`{"error":"invalid_request","error_description":%q}`, "Basic "+basic+" "+testSecret)
	}
	_, _, tokErr := bitbucket.NewTokenSource(g.config(nil)).Get(context.Background())
	for _, err := range []error{apiErr, tokErr} {
		text := fmt.Sprintf("%v %+v", err, err)
		for _, secret := range []string{testSecret, url.QueryEscape(testSecret), basic, tok.AccessToken} {
			if strings.Contains(text, secret) {
				t.Errorf("the error holds %q: %s", secret, text)
			}
		}
		if len(err.Error()) > 2000 {
			t.Errorf("error text is %d bytes long", len(err.Error()))
		}
	}
}

func TestBodyDrippingPastTheTimeoutIsATimeout(t *testing.T) {
	drip := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		for range 100 {
			if _, err := fmt.Fprint(w, " "); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
	}
	f := newFake(t)
	f.api = drip
	cfg := f.config(nil)
	cfg.HTTPClient = bitbucket.NewHTTPClient(300 * time.Millisecond)
	err := bitbucket.NewClient(cfg).Get(context.Background(), "/repositories/x", nil, new(any))
	var e *bitbucket.Error
	if !errors.As(err, &e) || !e.Timeout() {
		t.Errorf("API: got %v, want a timeout", err)
	}

	g := newFake(t)
	g.reply = func(int) (int, string, string) { return 0, "", "" }
	cfg = g.config(nil)
	cfg.HTTPClient = bitbucket.NewHTTPClient(300 * time.Millisecond)
	tokens := httptest.NewServer(http.HandlerFunc(drip))
	defer tokens.Close()
	cfg.TokenURL = tokens.URL
	_, _, err = bitbucket.NewTokenSource(cfg).Get(context.Background())
	if !errors.As(err, &e) || !e.Timeout() {
		t.Errorf("token request: got %v, want a timeout", err)
	}
}

// workspaceAccess is an item of GET /2.0/user/workspaces, decoded only as
// far as the test needs.
type workspaceAccess struct {
	Workspace struct{ Slug string }
}

func TestListFollowsNext(t *testing.T) {
	f := newFake(t)
	f.api = func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("page") {
		case "": // an empty first page that still has a next
			writeJSON(w, http.StatusOK, `{"values":[],"next":"`+f.URL+`/2.0/user/workspaces?page=c2Vjb25k&sort=slug"}`)
		case "c2Vjb25k":
			writeJSON(w, http.StatusOK, `{"values":[{"workspace":{"slug":"a"}},{"workspace":{"slug":"b"}}],"next":"`+f.URL+`/2.0/user/workspaces?page=3"}`)
		case "3":
			writeJSON(w, http.StatusOK, `{"values":[{"workspace":{"slug":"c"}}],"next":"http://elsewhere.example/2.0/user/workspaces?page=4"}`)
		}
	}
	c := bitbucket.NewClient(f.config(nil))
	got, err := bitbucket.List[workspaceAccess](context.Background(), c, "/user/workspaces", url.Values{"sort": {"slug"}}, 2)
	if err != nil || len(got) != 2 || got[1].Workspace.Slug != "b" {
		t.Errorf("List(max 2) = %+v, %v", got, err)
	}
	got, err = bitbucket.List[workspaceAccess](context.Background(), c, "/user/workspaces", nil, 10)
	if len(got) != 3 || err == nil || !strings.Contains(err.Error(), "elsewhere.example") {
		t.Errorf("List followed a next to another origin: %+v, %v", got, err)
	}
}

// A page decodes at most MaxPageValues values, whatever the answer holds.
func TestPageValuesAreBounded(t *testing.T) {
	var page bitbucket.Page[bitbucket.Repository]
	body := `{"values":[` + strings.Repeat(`{"name":"x"},`, 5000) + `{"name":"last"}],"next":"n"}`
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Values) != bitbucket.MaxPageValues || page.Next != "n" {
		t.Errorf("%d values decoded, next %q", len(page.Values), page.Next)
	}
	if err := json.Unmarshal([]byte(`{"values":null}`), &page); err != nil {
		t.Errorf("null values: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"values":{"a":1}}`), &page); err == nil {
		t.Error("an object for values decoded without error")
	}
}

// Calls spaced out in time cost no more: the replacement is kept until its
// renewal, and only the renewed token may be dropped again.
func TestRefusingEndpointCostsOneExtraTokenPerToken(t *testing.T) {
	f, clock := newFake(t), newClock()
	f.api = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusUnauthorized, `{"type":"error","error":{"message":"Token is invalid, expired, or not supported for this endpoint."}}`)
	}
	c := bitbucket.NewClient(f.config(clock.Now))
	for range 10 {
		c.Get(context.Background(), "/user/workspaces", nil, new(any)) //nolint:errcheck // always a 401
		clock.Advance(2 * time.Minute)
	}
	if n := f.tokenRequests(); n != 2 {
		t.Errorf("%d token requests for 10 calls 2 minutes apart, want 2", n)
	}
	clock.Advance(2 * time.Hour)                                   // the replacement expires: the next token is a natural one
	c.Get(context.Background(), "/user/workspaces", nil, new(any)) //nolint:errcheck
	if n := f.tokenRequests(); n != 4 {
		t.Errorf("%d token requests after the renewal, want 4 (the new token, dropped once more)", n)
	}
}

// Redact removes the secret, the Basic credentials and the token in every
// encoding an echo may carry them.
func TestRedactCoversEveryEncoding(t *testing.T) {
	f := newFake(t)
	ts := bitbucket.NewTokenSource(f.config(nil))
	tok, _, err := ts.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pairs := []string{testSecret, testKey + ":" + testSecret, url.QueryEscape(testKey) + ":" + url.QueryEscape(testSecret)}
	for _, v := range pairs {
		for name, form := range map[string]string{
			"raw": v, "query-escaped": url.QueryEscape(v), "path-escaped": url.PathEscape(v),
			"lower-case escapes": regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(url.QueryEscape(v), strings.ToLower), "HTML": html.EscapeString(v),
			"JSON": strings.Trim(fmt.Sprintf("%q", v), `"`), "hex": hex.EncodeToString([]byte(v)),
			"base64": base64.StdEncoding.EncodeToString([]byte(v)), "URL base64": base64.RawURLEncoding.EncodeToString([]byte(v)),
		} {
			if got := ts.Redact("before " + form + " after"); strings.Contains(got, form) || !strings.Contains(got, "[redacted]") {
				t.Errorf("%s of %q survives: %q", name, v, got)
			}
		}
	}
	for _, form := range []string{tok.AccessToken, base64.StdEncoding.EncodeToString([]byte(tok.AccessToken)), hex.EncodeToString([]byte(tok.AccessToken))} {
		if got := ts.Redact("Authorization: Bearer " + form); strings.Contains(got, form) {
			t.Errorf("the token survives: %q", got)
		}
	}
	// Escapes no list foresees: every byte %-escaped, HTML entities for
	// some characters. Decoded, they are the secret: the text goes whole.
	everyByte := ""
	for _, b := range []byte(testSecret) {
		everyByte += fmt.Sprintf("%%%02x", b)
	}
	for _, form := range []string{everyByte, strings.ReplaceAll(testSecret, "+", "&#43;"), strings.ReplaceAll(url.PathEscape(testSecret), "&", "&amp;")} {
		if got := ts.Redact("echo: " + form); strings.Contains(got, form) || !strings.Contains(got, "[redacted") {
			t.Errorf("%q became %q", form, got)
		}
	}
}

// What is left of an answer after the 1 MiB cap is drained (up to 64 KiB)
// before the body is closed, so that the next call reuses the connection.
func TestConnectionsAreReused(t *testing.T) {
	f := newFake(t)
	f.api = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, `{"type":"error","error":{"message":"No workspace with identifier 'x'."},"padding":"`+strings.Repeat("x", bitbucket.MaxBody+32<<10)+`"}`)
	}
	c := bitbucket.NewClient(f.config(nil))
	for range 5 {
		c.Get(context.Background(), "/workspaces/x", nil, new(any)) //nolint:errcheck // too large each time
	}
	if n := f.conns.Load(); n != 1 {
		t.Errorf("%d connections for a token request and 5 calls, want 1", n)
	}
}
