package standin

import (
	"bytes"
	"cmp"
	"maps"
	"net"
	"net/http"
	"net/url"
	"time"
)

// serveInFront plays what may stand between the app and Bitbucket
// (proxies, gateways, firewalls) when a fault of that kind is set on the
// endpoint, and reports whether it answered.
//
// redirected says that the request is the second leg of a
// RedirectSameOrigin.
func (s *Server) serveInFront(w http.ResponseWriter, r *http.Request, e Endpoint, rec Request, redirected bool) bool {
	var status int
	var body string
	switch f := s.fault(e); f {
	case Redirect307OtherOrigin, Redirect302OtherOrigin:
		s.mu.Lock()
		target := s.redirectTo
		s.mu.Unlock()
		if target == "" {
			host, _, err := net.SplitHostPort(r.Host)
			if err != nil {
				host = r.Host
			}
			target = scheme(r) + "://" + net.JoinHostPort(host, "9")
		}
		code := http.StatusTemporaryRedirect
		if f == Redirect302OtherOrigin {
			code = http.StatusFound
		}
		s.record(rec)
		http.Redirect(w, r, target+r.URL.RequestURI(), code)
		return true
	case Drip:
		s.drip(w, r, rec)
		return true
	case RedirectSameOrigin:
		if redirected {
			return false
		}
		q := r.URL.Query()
		q.Set(redirectMarker, "1")
		u := url.URL{Scheme: scheme(r), Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
		s.record(rec)
		http.Redirect(w, r, u.String(), http.StatusTemporaryRedirect)
		return true
	case ProxyAuthRequired:
		w.Header().Set("Proxy-Authenticate", `Basic realm="corporate-proxy"`)
		status, body = http.StatusProxyAuthRequired,
			"<html><head><title>407 Proxy Authentication Required</title></head>\n"+
				"<body><h1>Proxy Authentication Required</h1>\n"+
				"<p>The proxy server requires authentication before it forwards this request.</p></body></html>\n"
	case ProxyUnauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="Restricted"`)
		status, body = http.StatusUnauthorized,
			"<html>\n<head><title>401 Authorization Required</title></head>\n"+
				"<body>\n<center><h1>401 Authorization Required</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n"
	case ProxyForbidden:
		status, body = http.StatusForbidden,
			"<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n"+
				"You don't have permission to access this URL on this server.<P>\n"+
				"Reference&#32;&#35;18&#46;6f5d3e17&#46;1732792800&#46;2a1b3c4d\n</BODY>\n</HTML>\n"
	case ProxyRateLimited:
		status, body = http.StatusTooManyRequests,
			"<html><head><title>429 Too Many Requests</title></head>\n"+
				"<body><h1>Too Many Requests</h1><p>You have sent too many requests in a given amount of time.</p></body></html>\n"
	default:
		return false
	}
	s.record(rec)
	writeRaw(w, status, "text/html; charset=utf-8", body)
	return true
}

// drip serves the request as usual into a buffer, then sends the headers at
// once and the body slowly (see Drip), until done or the client goes away.
func (s *Server) drip(w http.ResponseWriter, r *http.Request, rec Request) {
	s.dripping.Add(1)
	defer s.dripping.Add(-1)
	buf := &bufferedResponse{header: http.Header{}}
	s.serve(buf, r, rec)
	maps.Copy(w.Header(), buf.header)
	w.Header().Del("Content-Length")
	w.WriteHeader(cmp.Or(buf.status, http.StatusOK))
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}
	s.mu.Lock()
	n, every := s.dripBytes, s.dripEvery
	s.mu.Unlock()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for body := buf.body.Bytes(); len(body) > 0; body = body[min(n, len(body)):] {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		if _, err := w.Write(body[:min(n, len(body))]); err != nil || rc.Flush() != nil {
			return
		}
	}
}

// bufferedResponse is an http.ResponseWriter that keeps the response.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}
