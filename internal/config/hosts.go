package config

import (
	"errors"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Which host names the app answers to, and why it checks at all.
//
// DNS rebinding: a page on evil.example can make its own name resolve to
// 127.0.0.1 once the browser has loaded it. The browser then takes
// http://evil.example:3000 for the page's own origin and lets its script
// read the answers, which here are this app's pages: private repository
// names and workspace details, fetched with your consumer. What gives the
// trick away is the Host header: it still says evil.example. So the app
// serves only names that another site cannot point at this machine:
//
//   - IP literals (127.0.0.1, [::1], 192.168.1.20): no DNS is involved;
//   - localhost and any name under .localhost (app.localhost): browsers
//     resolve these to this machine themselves, without asking DNS
//     (RFC 6761);
//   - the names listed in ALLOWED_HOSTS, for a name you chose yourself,
//     such as a host name on your network or a reverse proxy's.
//
// webpack-dev-server, Vite and Jupyter do the same. Command main's
// withHostCheck middleware applies HostAllowed to every request.

// checkAllowedHost validates one ALLOWED_HOSTS entry and returns it in the
// form HostAllowed compares with: lower case, without a trailing dot. An
// entry is a host name or an IP address, optionally with a pattern prefix:
//
//	dev.example     exactly that name
//	.example.org    example.org and every name under it
//	*.example.org   every name under example.org, not example.org itself
func checkAllowedHost(entry string) (string, error) {
	e := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(entry)), ".")
	name := e
	switch {
	case e == "*" || e == "*." || e == ".":
		return "", errors.New("a wildcard for every name would switch the DNS-rebinding check off; list the names instead")
	case strings.HasPrefix(e, "*."):
		name = e[2:]
	case strings.HasPrefix(e, "."):
		name = e[1:]
	}
	if a, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil && name == e {
		return a.String(), nil // always served anyway; accepted so that a list may be copied as is
	}
	switch {
	case strings.Contains(name, "://") || strings.ContainsAny(name, "/?#@"):
		return "", errors.New("want a host name alone, without scheme or path, such as dev.example")
	case strings.Contains(name, ":"):
		return "", errors.New("want a host name without a port: the check ignores ports")
	case !dnsName.MatchString(name) || len(name) > 253:
		return "", errors.New("not a host name (letters, digits, - and _ in labels separated by dots); " +
			"a leading . or *. matches the names under it")
	}
	return e, nil
}

// dnsName is a host name: labels of letters, digits, - and _ (which some
// internal names use), separated by dots. It is matched after lowercasing.
var dnsName = regexp.MustCompile(`^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$`)

// parseAllowedHosts reads ALLOWED_HOSTS: comma-separated entries, spaces
// around them ignored. Empty entries (a trailing comma) are skipped.
func parseAllowedHosts(s string) ([]string, error) {
	var out []string
	for i, entry := range strings.Split(s, ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		e, err := checkAllowedHost(entry)
		if err != nil {
			return nil, &hostEntryError{n: i + 1, entry: entry, err: err}
		}
		out = append(out, e)
	}
	return out, nil
}

// hostEntryError names the entry of a list that is wrong by its position:
// its text could be a secret typed on the wrong line.
type hostEntryError struct {
	n     int
	entry string
	err   error
}

func (e *hostEntryError) Error() string {
	return hidden("entry "+strconv.Itoa(e.n), e.entry, e.err.Error()).Error()
}

// HostName is the host name of a request's Host (host:port, [v6]:port
// or a name alone), lower case and without a trailing dot: what
// HostAllowed compares, and what a refusal names.
func HostName(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// HostAllowed reports whether the app serves a request for hostport (the
// request's Host). It resolves nothing: it looks at the name only.
func HostAllowed(hostport string, allowed []string) bool {
	host := HostName(hostport)
	if host == "" {
		return false // only a client that is not a browser leaves Host out (HTTP/1.0)
	}
	if _, port, err := net.SplitHostPort(hostport); err == nil && strings.Trim(port, "0123456789") != "" {
		return false // "localhost:3000,evil.example" names no port: a browser never sends it
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	if host == "localhost" || (strings.HasSuffix(host, ".localhost") && len(host) > len(".localhost")) {
		return true
	}
	for _, a := range allowed {
		switch {
		case strings.HasPrefix(a, "*."):
			if strings.HasSuffix(host, a[1:]) && len(host) > len(a)-1 {
				return true
			}
		case strings.HasPrefix(a, "."):
			if host == a[1:] || strings.HasSuffix(host, a) {
				return true
			}
		case host == a:
			return true
		}
	}
	return false
}

// isLoopbackHost reports whether a URL's host is this machine without
// asking DNS: the name localhost, or an IP literal in 127.0.0.0/8 or ::1.
// Any other name could resolve anywhere, so it does not count.
func isLoopbackHost(host string) bool {
	host = strings.ToLower(host)
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// MaxShown bounds how much of a value from a request or a file a message
// repeats: enough to recognise it, not a way to fill a page or a log.
// Configuration errors and the refusals of command main's middleware both
// clip with it.
const MaxShown = 64

// QuoteClipped quotes s for a message (Go syntax, so that a control
// character cannot split a log line), clipped to MaxShown bytes on a
// character boundary.
func QuoteClipped(s string) string {
	return strconv.Quote(ClipShown(s))
}

// ClipShown cuts s to MaxShown bytes on a character boundary, marking the cut.
func ClipShown(s string) string {
	if len(s) <= MaxShown {
		return s
	}
	cut := MaxShown
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
