// Package explain turns a failed step of the client credentials flow (an
// error from package bitbucket) into what the results page shows: what
// Bitbucket said, and what to do about it. docs/troubleshooting.md lists
// the same cases for a reader.
package explain

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"

	"bitbucket-client-credentials-sample/bitbucket"
	"bitbucket-client-credentials-sample/internal/scopes"
)

// Step is a failed step as the page shows it: what Bitbucket said, with no
// credential in it (the caller's clip removes them), and what to do about it.
type Step struct {
	Step        string
	Status      int // Bitbucket's HTTP status; 0 when no answer came back
	Code        string
	CodeNote    string // for an OAuth error code Bitbucket is not known to send
	Message     string
	Detail      string
	Body        string // a snippet of an answer that was not the JSON expected
	Permissions []scopes.Permission
	MaybeMore   string   // the permissions the answer did not name, if there may be some
	Limits      []string // Retry-After and X-RateLimit-* headers, when an answer carries them
	Hint        string
	Timeout     bool
	RetryLater  bool
	Stopping    bool   // the app is shutting down and cancelled the call
	Log         string // the whole error, for the log
}

// ErrStopping is the cause given to in-flight pages' contexts when the app
// stops: their calls end, and each page says why.
var ErrStopping = errors.New("the app is stopping")

// ErrPanic stands for a call that panicked (the log has the stack).
var ErrPanic = errors.New("the app failed while making this call; the log has the details")

// PageStatus is the status of a page whose step failed: 503 when the app
// is stopping, 504 when Bitbucket did not answer in time, 502 otherwise.
func (s *Step) PageStatus() int {
	switch {
	case s.Stopping:
		return http.StatusServiceUnavailable
	case s.Timeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

const (
	hintRetry       = "This is on Bitbucket's side: try again in a minute, and see bitbucket.status.atlassian.com."
	hintCredentials = "Bitbucket does not know this key and secret. Copy the key and secret again from Workspace settings → " +
		"OAuth consumers into BITBUCKET_CONSUMER_KEY and BITBUCKET_CONSUMER_SECRET, then restart."
	hintProxy = "A proxy between you and Bitbucket refused the request (the answer is a web page, not Bitbucket's JSON). " +
		"Check your proxy settings (HTTPS_PROXY) or ask whoever runs the proxy."
)

// Failure turns an error from package bitbucket into what the page shows.
// Every text from the answer goes through clip, which removes credentials
// and bounds it to n characters.
func Failure(ctx context.Context, err error, clip func(s string, n int) string) *Step {
	var e *bitbucket.Error
	if !errors.As(err, &e) {
		e = &bitbucket.Error{Request: "A call to Bitbucket", Err: err}
	}
	v := &Step{Step: clip(e.Request, 300), Status: e.Status, Code: clip(e.Code, 100), Message: clip(e.Message, 300),
		Detail: clip(e.Detail, 300), Body: clip(e.Body, 300), Log: clip(e.Error(), 1000)}
	isToken := strings.HasPrefix(e.Request, "POST ")
	if isToken {
		v.Step = "Token request (" + v.Step + ")"
	}
	desc := strings.ToLower(e.Message)
	var dns *net.DNSError
	var tlsErr *tls.CertificateVerificationError
	var ne net.Error
	v.Timeout = errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	switch {
	case errors.Is(context.Cause(ctx), ErrStopping):
		v.Stopping, v.Timeout = true, false
		v.Message = "The app is stopping: it cancelled this call to Bitbucket."
		v.Hint = "Start the app again with make run."
	case errors.Is(err, ErrPanic):
		v.Step, v.Message = "The API call", "The app failed while making this call; the log has the details."
	case errors.Is(err, bitbucket.ErrRedirect):
		target := err.Error()
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			target = strings.TrimPrefix(ue.Err.Error(), bitbucket.ErrRedirect.Error()+": ")
		}
		v.Message = "Bitbucket's answer redirected to another origin: " + clip(target, 300)
		v.Hint = "The app does not follow it, so the credentials stay where they were sent. Check BITBUCKET_TOKEN_URL and BITBUCKET_API_URL."
	case v.Timeout:
		v.Message, v.RetryLater = "No full answer came in time (timed out).", true
		v.Hint = "Try again; if it keeps happening, check your network or raise BITBUCKET_TIMEOUT."
	case errors.Is(err, bitbucket.ErrTooLarge):
		v.Message = "The answer was longer than 1 MiB; the app stopped reading it."
		v.Hint = "Check that BITBUCKET_API_URL points at Bitbucket's REST API 2.0 (" + bitbucket.DefaultAPIURL + ")."
	case errors.As(err, &dns):
		v.Message = "Cannot resolve the host " + clip(dns.Name, 100) + "."
		v.Hint = "Check the host name in BITBUCKET_TOKEN_URL and BITBUCKET_API_URL, and your network or proxy."
	case errors.Is(err, syscall.ECONNREFUSED):
		v.Message = "The connection was refused: nothing listens at that address."
		v.Hint = "Check BITBUCKET_TOKEN_URL and BITBUCKET_API_URL."
	case errors.As(err, &tlsErr):
		v.Message = "The server's TLS certificate could not be verified."
		v.Hint = "Check the URLs; a proxy that inspects TLS needs its certificate installed."
	case e.Status == 0:
		v.Message, v.RetryLater = "The request failed before an answer came back.", true
		v.Hint = "Check your network connection and the URLs in the configuration."

	// The token endpoint: match the description before the code. Every body
	// seen from Bitbucket is HTTP 400 with unauthorized_client, invalid_grant
	// or invalid_request; other RFC 6749 codes are handled, and labelled.
	case isToken && strings.Contains(desc, "no callback uri"):
		v.Hint = "Edit the consumer in Workspace settings → OAuth consumers and add a callback URL, such as " +
			"http://localhost:3000/oauth-callback: Bitbucket wants one even though this grant never uses it."
	case isToken && strings.Contains(desc, "public"):
		v.Hint = "Edit the consumer in Workspace settings → OAuth consumers and tick \"This is a private consumer\": " +
			"RFC 6749 §4.4 allows the client credentials grant only for confidential clients."
	case isToken && strings.Contains(desc, "must be authenticated"):
		v.Hint = "The request carried no client credentials. Send the key and secret as HTTP Basic credentials " +
			"(AuthStyle: oauth2.AuthStyleInHeader). With x/oauth2's default, auto-detection, a wrong secret ends in this " +
			"message too: it retries with the credentials in the body, and reports that answer. So check the secret as well."
	case isToken && (e.Code == "unsupported_grant_type" || strings.Contains(desc, "grant type")):
		v.Hint = "Send grant_type=client_credentials in a form-encoded body (clientcredentials.Config does)."
	case isToken && strings.Contains(desc, "invalid oauth client credentials"):
		v.Hint = hintCredentials
	case isToken && e.Code == "invalid_client":
		v.Hint = hintCredentials
	case isToken && e.Code == "unauthorized_client":
		v.Hint = "Bitbucket will not let this consumer use the client credentials grant. Check in Workspace settings → " +
			"OAuth consumers that it is a private consumer of this workspace."
	case e.Status == http.StatusProxyAuthRequired, strings.Contains(e.Header.Get("Content-Type"), "text/html") && (e.Status == 401 || e.Status == 403):
		v.Hint = hintProxy
	case e.Status == http.StatusTooManyRequests:
		v.RetryLater = true
		for _, name := range []string{"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Resource", "X-RateLimit-NearLimit"} {
			if val := e.Header.Get(name); val != "" {
				v.Limits = append(v.Limits, name+": "+clip(val, 100))
			}
		}
		v.Hint = "Rate limited at " + v.Step + ". Bitbucket counts requests per resource group (for an OAuth consumer, " +
			"1,000 an hour on repositories) over a rolling hour, so recovery may take up to an hour; scaled limits and " +
			"X-RateLimit-* headers exist only for access tokens. The app asks for a token once per lifetime and never retries on its own."
	case e.Status >= 500, e.Code == "server_error", e.Code == "temporarily_unavailable":
		v.Hint, v.RetryLater = hintRetry, true
	case isToken && e.Status == http.StatusOK:
		v.Hint = "Check that BITBUCKET_TOKEN_URL is " + bitbucket.DefaultTokenURL + ", not a page of the website."
	case isToken && e.Code != "":
		v.Hint = "Bitbucket refused the token request. Check the consumer's settings and BITBUCKET_TOKEN_URL."
	case isToken:
		v.Message = fmt.Sprintf("The token endpoint answered HTTP %d without an OAuth error.", e.Status)
		v.Hint = "Check that BITBUCKET_TOKEN_URL is " + bitbucket.DefaultTokenURL + "."

	// The REST API.
	case e.Status == http.StatusUnauthorized:
		v.Hint = "Bitbucket refused a token it had just issued (the client dropped the first one and retried, now or " +
			"earlier in this token's life), so the consumer exists and is private. The likely cause is an endpoint that does " +
			"not take this kind of token, or BITBUCKET_TOKEN_URL and BITBUCKET_API_URL pointing at different Bitbucket servers."
	case e.Status == http.StatusForbidden && len(e.Required) > 0:
		explainScopes(v, e, clip)
	case e.Status == http.StatusForbidden:
		v.Hint = "The token may not reach this. Since May 2026 a client credentials token acts as an app user, and what " +
			"that user may reach decides too: a consumer owned by a personal workspace reaches only that workspace."
	case e.Status == http.StatusNotFound && strings.HasPrefix(e.Message, "No workspace"):
		v.Hint = "Check the workspace ID (the part after bitbucket.org/ in your workspace's URL). A consumer owned by " +
			"a personal workspace reaches only that workspace."
	case e.Status == http.StatusNotFound:
		v.Hint = "Check that BITBUCKET_API_URL is " + bitbucket.DefaultAPIURL + "."
	case e.Status == http.StatusGone:
		v.Hint = "Bitbucket removed this endpoint (CHANGE-2770). Use GET /2.0/repositories/{workspace} and GET /2.0/user/workspaces."
	case e.Status == http.StatusOK:
		v.Hint = "Check that BITBUCKET_API_URL points at REST API 2.0 (" + bitbucket.DefaultAPIURL + ")."
	default:
		v.Hint = "Bitbucket refused the call."
	}
	if isToken && e.Code != "" && !slices.Contains([]string{"unauthorized_client", "invalid_grant", "invalid_request"}, e.Code) {
		v.CodeNote = "an RFC 6749 code, handled here, that Bitbucket is not known to send"
	}
	if v.Message == "" && v.Body == "" {
		v.Message = fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	return v
}

// explainScopes names the checkbox for each scope a 403 asks for, from
// detail.required (or X-Accepted-OAuth-Scopes), and where it is. Bitbucket
// may name only one of several missing scopes: the operation's own list, in
// its OpenAPI description, says which others the token lacks.
func explainScopes(v *Step, e *bitbucket.Error, clip func(string, int) string) {
	for _, s := range e.Required[:min(len(e.Required), 10)] {
		p, ok := scopes.Lookup(s)
		if !ok {
			p = scopes.Permission{Scope: s, Label: "the permission for scope " + clip(fmt.Sprintf("%q", s), 60)}
		}
		v.Permissions = append(v.Permissions, p)
	}
	granted := e.Granted
	if len(granted) == 0 {
		granted = strings.FieldsFunc(e.Header.Get("X-OAuth-Scopes"), func(r rune) bool { return r == ',' || r == ' ' })
	}
	have := scopes.Implied(granted)
	method, path, _ := strings.Cut(e.Request, " ")
	var more []string
	if op, ok := scopes.Find(method, strings.TrimPrefix(path, "/2.0")); ok && len(granted) > 0 {
		for _, s := range op.Scopes {
			if p, ok := scopes.Lookup(s); ok && !have[s] && !slices.Contains(e.Required, s) {
				more = append(more, p.Label)
			}
		}
	}
	switch {
	case len(more) > 0:
		v.MaybeMore = "Bitbucket named only some: by its OpenAPI description this operation also needs " + strings.Join(more, " and ") + "."
	case len(e.Required) == 1:
		v.MaybeMore = "Bitbucket may name only one of several missing permissions: if the page still fails, /scopes lists what each operation needs."
	}
	v.Hint = "Edit the consumer in Workspace settings → OAuth consumers, tick the permission above, save, and restart the app: " +
		"the token it holds keeps the permissions it was issued with. A permission is necessary, not sufficient: " +
		"since May 2026 the app user's own access to the workspace decides too."
}
