package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"

	"bitbucket-client-credentials-sample/bitbucket"
)

// stepView is a failed step as the page shows it: what Bitbucket said
// (already cleaned of credentials by package bitbucket, and escaped by the
// template) and what to do about it.
type stepView struct {
	Step        string
	Status      int // Bitbucket's HTTP status; 0 when no answer came back
	Code        string
	Message     string
	Detail      string
	Body        string // a snippet of an answer that was not the JSON expected
	Permissions []string
	Hint        string
	Timeout     bool
	RetryLater  bool
	Stopping    bool   // the app is shutting down and cancelled the call
	logText     string // the whole error, for the log
}

// errStopping is the cause given to in-flight pages' contexts when the app
// stops: their calls end, and each page says why.
var errStopping = errors.New("the app is stopping")

// pageStatus is the status of a page whose step failed: 503 when the app
// is stopping, 504 when Bitbucket did not answer in time, 502 otherwise.
func (s *stepView) pageStatus() int {
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

// explain turns an error from package bitbucket into what the page shows.
func explain(ctx context.Context, err error) *stepView {
	var e *bitbucket.Error
	if !errors.As(err, &e) {
		e = &bitbucket.Error{Step: "A call to Bitbucket", Err: err}
	}
	v := &stepView{Step: e.Step, Status: e.Status, Code: e.Code, Message: e.Message, Detail: e.Detail,
		Body: e.Body, Timeout: e.Timeout(), logText: e.Error()}
	for _, s := range e.Required {
		v.Permissions = append(v.Permissions, permissionName(s))
	}
	isToken := strings.HasPrefix(e.Step, "POST ")
	if isToken {
		v.Step = "Token request (" + e.Step + ")"
	}
	desc := strings.ToLower(e.Message)
	html := e.ContentType == "text/html"
	var redirect *bitbucket.RedirectError
	var dns *net.DNSError
	var tlsErr *tls.CertificateVerificationError
	switch {
	case errors.Is(context.Cause(ctx), errStopping):
		v.Stopping, v.Timeout = true, false
		v.Message = "The app is stopping: it cancelled this call to Bitbucket."
		v.Hint = "Start the app again with make run."
	case errors.As(err, &redirect):
		v.Message = "Bitbucket's answer redirected to another origin: " + redirect.To
		v.Hint = "The app does not follow it, so the credentials stay where they were sent. Check BITBUCKET_TOKEN_URL and BITBUCKET_API_URL."
	case v.Timeout:
		v.Message, v.RetryLater = "No full answer came in time (timed out).", true
		v.Hint = "Try again; if it keeps happening, check your network or raise BITBUCKET_TIMEOUT."
	case errors.Is(err, bitbucket.ErrTooLarge):
		v.Message = fmt.Sprintf("The answer was larger than %d bytes; the app stopped reading it.", bitbucket.MaxBody)
		v.Hint = "Check that BITBUCKET_API_URL points at Bitbucket's REST API 2.0 (" + bitbucket.DefaultAPIURL + ")."
	case errors.As(err, &dns):
		v.Message = "Cannot resolve the host " + dns.Name + "."
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

	// The token endpoint: match the description before the code. Bitbucket's
	// codes changed in 2026 (RFC 6749 §5.2), its descriptions less so.
	case isToken && strings.Contains(desc, "no callback uri"):
		v.Hint = "Edit the consumer in Workspace settings → OAuth consumers and add a callback URL, such as " +
			"http://localhost:3000/oauth-callback: Bitbucket wants one even though this grant never uses it."
	case isToken && strings.Contains(desc, "public"):
		v.Hint = "Edit the consumer in Workspace settings → OAuth consumers and tick \"This is a private consumer\": " +
			"RFC 6749 §4.4 allows the client credentials grant only for confidential clients."
	case isToken && strings.Contains(desc, "must be authenticated"):
		v.Hint = "The request carried no client credentials. Send the key and secret as HTTP Basic credentials " +
			"(AuthStyle: oauth2.AuthStyleInHeader)."
	case isToken && (e.Code == "unsupported_grant_type" || strings.Contains(desc, "grant type")):
		v.Hint = "Send grant_type=client_credentials in a form-encoded body (clientcredentials.Config does)."
	case isToken && (e.Code == "invalid_client" || strings.Contains(desc, "invalid oauth client credentials")):
		v.Hint = hintCredentials
	case isToken && e.Code == "unauthorized_client":
		v.Hint = "Bitbucket will not let this consumer use the client credentials grant. Check in Workspace settings → " +
			"OAuth consumers that it is a private consumer of this workspace."
	case e.Status == http.StatusProxyAuthRequired, html && (e.Status == 401 || e.Status == 403):
		v.Hint = hintProxy
	case e.Status == http.StatusTooManyRequests && isToken:
		v.RetryLater = true
		v.Hint = "Rate limited at the token request. Bitbucket does not document this endpoint's limit; the app asks " +
			"for a token once per lifetime, so wait a few minutes before reloading. It is likely to pass."
	case e.Status == http.StatusTooManyRequests:
		v.RetryLater = true
		v.Hint = "Rate limited at " + e.Step + ". Bitbucket counts requests per identity across /2.0/ (1,000 an hour, " +
			"over a rolling hour) and sends no Retry-After: wait a few minutes before reloading. It is likely to pass."
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
	case e.Status == http.StatusUnauthorized && e.Retried:
		v.Hint = "Bitbucket rejected a token it issued after rejecting the one before, so the consumer exists and is private. " +
			"The likely cause is an endpoint that does not accept this kind of token, or BITBUCKET_TOKEN_URL and " +
			"BITBUCKET_API_URL pointing at different Bitbucket servers."
	case e.Status == http.StatusUnauthorized:
		v.Hint = "Bitbucket did not accept the access token."
	case e.Status == http.StatusForbidden && len(v.Permissions) > 0:
		v.Hint = "Edit the consumer in Workspace settings → OAuth consumers, tick " + strings.Join(v.Permissions, " and ") +
			", save, and restart the app: the token it holds keeps the permissions it was issued with."
	case e.Status == http.StatusForbidden:
		v.Hint = "The token may not reach this. A consumer owned by a personal workspace reaches only that workspace."
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
	if v.Message == "" && v.Body == "" {
		v.Message = fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	return v
}

// permissionName maps an OAuth scope to its checkbox on the consumer form.
func permissionName(scope string) string {
	names := map[string]string{
		"account": "Account: Read", "account:write": "Account: Write", "email": "Account: Email",
		"repository": "Repositories: Read", "repository:write": "Repositories: Write",
		"repository:admin": "Repositories: Admin", "project": "Projects: Read",
		"pullrequest": "Pull requests: Read", "pipeline": "Pipelines: Read", "webhook": "Webhooks: Read and write",
		"snippet": "Snippets: Read",
	}
	if n, ok := names[scope]; ok {
		return n
	}
	return fmt.Sprintf("the permission for scope %q", scope)
}
