package config

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// DNS rebinding: a page on evil.example can make its name resolve to
// 127.0.0.1 once loaded, then read http://evil.example:3000, this app. The
// Host header still says evil.example, so the app serves only names no
// other site can point here: IP literals (not 0.0.0.0 or [::], which
// browsers reach as this machine too), localhost and names under .localhost
// (RFC 6761: browsers resolve them themselves), and ALLOWED_HOSTS.

// allowedHosts checks ALLOWED_HOSTS or allowedHosts entries (where says
// which) and returns them lower case, without a trailing dot.
func allowedHosts(where string, entries []string) ([]string, error) {
	var out []string
	for i, entry := range entries {
		e := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(entry)), ".")
		base, wild := strings.CutPrefix(e, "*.")
		if !wild {
			base, wild = strings.CutPrefix(e, ".")
		}
		ip, ipErr := netip.ParseAddr(strings.Trim(base, "[]"))
		at := fmt.Sprintf("%s entry %d", where, i+1)
		switch {
		case strings.TrimSpace(entry) == "": // skipped, such as after a trailing comma
		case e == "*" || e == "" || wild && base == "":
			return nil, hidden(at, entry, "a wildcard for every name would switch the DNS-rebinding check off; list the names instead")
		case ipErr == nil && !wild && ip.WithZone("").Unmap().IsUnspecified():
			return nil, hidden(at, entry, "0.0.0.0 and [::] are never served (browsers reach them as this machine): use 127.0.0.1")
		case ipErr == nil && !wild:
			out = append(out, ip.String()) // served anyway; accepted so that a list may be copied as is
		case strings.ContainsAny(base, "/?#@"):
			return nil, hidden(at, entry, "want a host name alone, without scheme or path, such as dev.example")
		case strings.Contains(base, ":"):
			return nil, hidden(at, entry, "want a host name without a port: the check ignores ports")
		case !dnsName.MatchString(base) || len(base) > 253:
			return nil, hidden(at, entry, "not a host name (letters, digits, - and _ in labels separated by dots, "+
				"after an optional . or *.)")
		case wild && publicSuffix(base):
			return nil, errorf("%s: anyone can get a name under %s and point it at 127.0.0.1, so a wildcard over it "+
				"would switch the DNS-rebinding check off: list the exact names instead", at, base)
		default:
			out = append(out, e)
		}
	}
	return out, nil
}

// dnsName is a lower-case host name (some internal names use _).
var dnsName = regexp.MustCompile(`^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$`)

// publicSuffix reports whether anyone can get a name under base and point
// it at 127.0.0.1, so that a wildcard over it would switch the Host check
// off: one label (com, lan, localhost), a second level under a country code
// (co.uk, com.au), a shared or wildcard-DNS domain. x/net/publicsuffix would
// be the full answer, but the main module takes no other dependency.
func publicSuffix(base string) bool {
	labels := strings.Split(base, ".")
	return len(labels) == 1 || slices.Contains(sharedDomains, base) ||
		len(labels) == 2 && len(labels[1]) == 2 && slices.Contains(strings.Fields(secondLevel), labels[0])
}

const secondLevel = "ac co com edu gov net org ne or go gob mil nom sch ltd plc"

var sharedDomains = strings.Fields(`nip.io sslip.io xip.io nip.direct localtest.me lvh.me traefik.me github.io gitlab.io
	herokuapp.com vercel.app netlify.app pages.dev workers.dev ngrok.io ngrok.app ngrok-free.app trycloudflare.com loca.lt
	appspot.com web.app firebaseapp.com azurewebsites.net cloudfront.net amazonaws.com blogspot.com duckdns.org fly.dev
	onrender.com glitch.me`)

// HostName is the host name in a request's Host (host:port, [v6]:port or
// a name), lower case without a trailing dot, as HostAllowed compares it.
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
	// No browser leaves Host out, or sends a port that is not a number ("localhost:3000,evil.example").
	if _, port, err := net.SplitHostPort(hostport); host == "" || err == nil && strings.Trim(port, "0123456789") != "" {
		return false
	} else if ip, err := netip.ParseAddr(host); err == nil {
		return !ip.WithZone("").Unmap().IsUnspecified()
	}
	return isLocalhost(host) || slices.ContainsFunc(allowed, func(a string) bool {
		if under, ok := strings.CutPrefix(a, "*"); ok { // only the names under it
			return strings.HasSuffix(host, under) && len(host) > len(under)
		}
		return host == a || strings.HasPrefix(a, ".") && (host == a[1:] || strings.HasSuffix(host, a))
	})
}

// LoopbackHost reports whether a request's Host names this machine in a
// way browsers treat as potentially trustworthy: localhost, a name under
// .localhost, an IPv4 address in 127.0.0.0/8, or [::1]. Browsers send
// Fetch Metadata (Sec-Fetch-*) to these; to any other plain-http name or
// address (a name in ALLOWED_HOSTS, 192.168.1.20) they send none.
func LoopbackHost(hostport string) bool {
	host := HostName(hostport)
	ip, err := netip.ParseAddr(host)
	return HostAllowed(hostport, nil) && (isLocalhost(host) || err == nil && (ip.Is4() && ip.IsLoopback() || ip == netip.IPv6Loopback()))
}

func isLocalhost(host string) bool {
	return host == "localhost" || strings.HasSuffix(host, ".localhost") && len(host) > len(".localhost")
}
