// Package bitbucket gets OAuth 2.0 access tokens from Bitbucket Cloud with
// the client credentials grant and calls Bitbucket REST API 2.0 with them.
//
// It is the part of the sample app meant to be copied: it needs only the
// standard library and golang.org/x/oauth2, and knows nothing of the app.
// Make one Client per process, at start-up, and share it:
//
//	client := bitbucket.NewClient(bitbucket.Config{Key: key, Secret: secret})
//	var page bitbucket.Page[bitbucket.Repository]
//	err := client.Get(ctx, "/repositories/my-workspace", nil, &page)
//
// The client caches the token and renews it shortly before it expires, so
// any number of calls cost one token request per token lifetime (and one
// more when Bitbucket rejects a token early).
//
// Examples (go doc -http shows them; go test runs them): ExampleTokenSource_Get
// gets a token, ExampleClient_Get lists a workspace's repositories, and
// Example_handler is the whole flow in an http.Handler.
package bitbucket

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Bitbucket Cloud's endpoints. The token endpoint lives on bitbucket.org,
// the REST API on api.bitbucket.org.
const (
	DefaultTokenURL = "https://bitbucket.org/site/oauth2/access_token"
	DefaultAPIURL   = "https://api.bitbucket.org/2.0"
	DefaultTimeout  = 10 * time.Second
)

// Config is an OAuth consumer's settings. Only Key and Secret are required.
type Config struct {
	Key    string // the consumer's key: OAuth's client_id
	Secret string // the consumer's secret: OAuth's client_secret

	TokenURL string // DefaultTokenURL when empty
	APIURL   string // DefaultAPIURL when empty

	// HTTPClient makes every call, the token request included. When nil,
	// NewHTTPClient(DefaultTimeout). A client without a Timeout gets
	// DefaultTimeout: http.DefaultClient has none, and a stuck Bitbucket
	// would then hang the caller for ever.
	HTTPClient *http.Client

	UserAgent string           // sent on every request; names your app to Bitbucket
	Now       func() time.Time // the clock that ages tokens; time.Now when nil (tests pass a fake one)
}

// NewHTTPClient returns an http.Client for Bitbucket: a timeout on every
// call, connections kept for reuse, and no redirect to another origin.
func NewHTTPClient(timeout time.Duration) *http.Client {
	c := &http.Client{Timeout: timeout, CheckRedirect: sameOriginRedirect}
	if t, ok := http.DefaultTransport.(*http.Transport); ok { // a test may have replaced it
		transport := t.Clone()
		// Concurrent callers reach the same host. Cap the connections to
		// it, and keep that many idle (Go keeps two a host, 100 in all), so
		// that a burst queues for a connection instead of opening, and then
		// discarding, hundreds: each costs a TLS handshake with Bitbucket.
		transport.MaxConnsPerHost, transport.MaxIdleConnsPerHost, transport.MaxIdleConns = 128, 128, 128
		c.Transport = transport
	}
	return c
}

// withDefaults fills in what cfg leaves empty, and returns the http.Client
// every call uses: cfg's own, copied, so that the caller's is not changed.
func (cfg Config) withDefaults() (Config, *http.Client) {
	if cfg.TokenURL == "" {
		cfg.TokenURL = DefaultTokenURL
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	cfg.APIURL = strings.TrimSuffix(cfg.APIURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = NewHTTPClient(DefaultTimeout)
	}
	c := *hc
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Transport == nil {
		c.Transport = http.DefaultTransport
	}
	// Go keeps the Authorization header on a redirect to the same host on
	// another port, to a subdomain, and from https to http: a redirect must
	// not carry the key and secret, or the token, to another origin.
	// Enforced here, whatever client was given.
	c.CheckRedirect = sameOriginRedirect
	if cfg.UserAgent != "" {
		c.Transport = userAgent{next: c.Transport, value: cfg.UserAgent}
	}
	return cfg, &c
}

// RedirectError is a redirect the client refused to follow: to another
// scheme, host or port than the request's.
type RedirectError struct{ From, To string }

func (e *RedirectError) Error() string {
	return "refused a redirect from " + e.From + " to another origin: " + e.To
}

func sameOriginRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return &RedirectError{From: via[0].URL.Redacted(), To: "(more than 10 redirects)"}
	}
	if origin(req.URL) != origin(via[0].URL) {
		return &RedirectError{From: via[len(via)-1].URL.Redacted(), To: req.URL.Redacted()}
	}
	return nil
}

// origin is scheme://host:port, with the scheme's default port filled in.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return strings.ToLower(u.Scheme + "://" + u.Hostname() + ":" + port)
}

// userAgent sets the User-Agent of every request, the token request
// included (x/oauth2 has no setting for it).
type userAgent struct {
	next  http.RoundTripper
	value string
}

func (t userAgent) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context()) // a RoundTripper must not change the caller's request
	req.Header.Set("User-Agent", t.value)
	return t.next.RoundTrip(req)
}
