package standin

import (
	"fmt"
	"net/http"
	"strings"
)

// echoTokenRequest answers a token request with the request itself in the
// error: its Authorization header (the consumer's key and secret, Basic
// encoded) and raw body. huge makes it a ~1 MiB HTML page with the echo at
// both ends, as a debugging error page might be.
func echoTokenRequest(w http.ResponseWriter, r *http.Request, body []byte, huge bool) {
	echo := fmt.Sprintf("Authorization: %s; body: %s", r.Header.Get("Authorization"), body)
	if !huge {
		writeJSON(w, http.StatusBadRequest, map[string]string{
			"error":             "invalid_request",
			"error_description": "Could not process the request. " + echo,
		})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, "<html><head><title>Bad Request</title></head><body><h1>Bad Request</h1>\n<pre>%s</pre>\n<pre>", echo)
	// 1088 lines of 985 bytes: just over 1 MiB in all.
	line := strings.Repeat("frame: oauth2/token.py in handle_request ", 24) + "\n"
	for range 1088 {
		if _, err := fmt.Fprint(w, line); err != nil {
			return
		}
	}
	fmt.Fprintf(w, "</pre>\n<pre>%s</pre></body></html>\n", echo)
}

// echoAuthorization answers an API request with a 401, or a 403 if
// forbidden, whose message and detail carry the request's Authorization
// header back.
func echoAuthorization(w http.ResponseWriter, r *http.Request, forbidden bool, scope string) {
	echo := "Authorization: " + r.Header.Get("Authorization")
	if !forbidden {
		apiError(w, http.StatusUnauthorized, msgInvalidToken+" "+echo, "The request carried "+echo)
		return
	}
	if scope == "" {
		scope = "account"
	}
	w.Header().Set("X-Accepted-OAuth-Scopes", scope)
	apiError(w, http.StatusForbidden, msgMissingScope+" "+echo, "The request carried "+echo)
}
