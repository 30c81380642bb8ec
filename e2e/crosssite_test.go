package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"bitbucket-client-credentials-sample/internal/standin"
)

const (
	// crossSiteTimeout bounds TestCrossSite: build, apps, browser, pages.
	crossSiteTimeout = 3 * time.Minute
	// speculationWait bounds the wait for Chromium's speculative request
	// (it comes within a second).
	speculationWait = 15 * time.Second
	// settle is how long after the awaited requests the test waits for any
	// that follow (a retry, a prerender's own navigation) before it counts
	// the calls to Bitbucket.
	settle = time.Second
	// scriptedNavigations is how often the other site's script navigates
	// the window it opened.
	scriptedNavigations = 20

	// appName and otherName are plain-http host names that are not
	// loopback names: hostRules points them at 127.0.0.1 inside Chromium,
	// which sends no Fetch Metadata (Sec-Fetch-*) to such an origin, as it
	// is not potentially trustworthy.
	appName   = "app.test"
	otherName = "other.test"
	hostRules = "MAP " + appName + " 127.0.0.1, MAP " + otherName + " 127.0.0.1"

	// refusedMsg is the app's log line for a request CrossSiteCheck refuses.
	refusedMsg = "refused a request another page made"
)

// TestCrossSite checks, with real Chromium, that another website cannot
// make the app spend the consumer's rate limit (issue 16). Two apps run in
// Bitbucket mode, each against a stand-in for Bitbucket that counts the
// calls it gets; the other website is an httptest server on another port.
//
//   - prefetch, prerender, prefetch-cross-site: a page whose speculation
//     rules ask Chromium to prefetch (or prerender) the results page at
//     once, with no click. Chromium does; the app must refuse with 403, and
//     Bitbucket gets no call. The test fails if Chromium makes no such
//     request.
//   - scripted-navigation: a click on the other site's button opens the
//     results page in a window, and its script then navigates that window
//     again and again. At most one page's worth of calls reaches Bitbucket
//     (the first, activated navigation may run the flow); the window ends on
//     the confirmation page (checked like every page, at both widths), and
//     a click on its button runs the flow.
//   - no-fetch-metadata: the app served as http://app.test, a name that is
//     not loopback, so Chromium sends no Sec-Fetch-* headers. An <img>, a
//     <script> and an <iframe> on http://other.test load the results page
//     and reach the app, which calls nothing, before and after a person's
//     visit; a person who opens the app and clicks Authorize runs the flow.
//     http://0.0.0.0:port/ gets 421.
func TestCrossSite(t *testing.T) {
	browserPath := findBrowser(t)
	axeSource := loadAxe(t)
	ctx, cancel := context.WithTimeout(context.Background(), crossSiteTimeout)
	t.Cleanup(cancel) // the first cleanup registered runs last, after the browser and the apps stop
	start := time.Now()

	bin := buildApp(ctx, t)
	bb, bbURL := startStandin(t)
	local := startApp(ctx, t, bin, nil, bitbucketEnv(bbURL)...)
	bbNamed, bbNamedURL := startStandin(t)
	named := startApp(ctx, t, bin, nil, append(bitbucketEnv(bbNamedURL), "ALLOWED_HOSTS="+appName)...)
	other := newOtherSite(t)
	browserCtx := startBrowser(ctx, t, browserPath, chromedp.Flag("host-resolver-rules", hostRules))

	// The speculation cases run first, while the browser holds no cookie
	// for the app: Chromium prefetches across sites only for a user with no
	// cookies there (PrefetchNotEligibleUserHasCookies otherwise), and the
	// confirmation page of the next case sets one.
	for _, c := range []struct {
		name, action, pageHost string
	}{
		// localhost on another port: the same site as the app.
		{"prefetch", "prefetch", "localhost"},
		{"prerender", "prerender", "localhost"},
		// 127.0.0.1 is another site than localhost.
		{"prefetch-cross-site", "prefetch", "127.0.0.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			testSpeculation(ctx, t, browserCtx, local, bb, other, c.action, c.pageHost)
		})
	}
	t.Run("scripted-navigation", func(t *testing.T) {
		testScriptedNavigation(ctx, t, browserCtx, local, bb, other, axeSource)
	})
	t.Run("no-fetch-metadata", func(t *testing.T) {
		testNoFetchMetadata(ctx, t, browserCtx, named, bbNamed, other)
	})
	t.Logf("done in %s (build, apps, browser, pages)", time.Since(start).Round(time.Millisecond))
}

// testSpeculation opens a page on another origin whose speculation rules ask
// Chromium to prefetch or prerender the app's results page at once
// ("eagerness": "immediate"), with no click, and waits until the app has
// seen that request. Chromium 156 sends it with Sec-Purpose: prefetch (or
// prefetch;prerender) and Sec-Fetch-Site: none, as for an address typed by
// hand, with no flag needed. The app must refuse it (403, its refusal line
// in the log) and call nothing.
//
// The page opens in a tab that DevTools never attaches to (made with
// Target.createTarget): Chromium turns prerendering off in a tab that a
// DevTools client attaches to as chromedp does, without tab targets
// (PrerenderingDisabledByDevTools). It is also the closest to a person's
// browser.
func testSpeculation(ctx context.Context, t *testing.T, browserCtx context.Context, a *app, bb *standin.Server, other *otherSite, action, pageHost string) {
	want := a.URL + "/oauth-callback?workspace=bitbucket-demo"
	rules, err := json.Marshal(map[string]any{action: []map[string]any{{"source": "list", "urls": []string{want}, "eagerness": "immediate"}}})
	if err != nil {
		t.Fatal(err)
	}
	path := "/" + action + "-from-" + pageHost
	page := other.put(pageHost, path, `<!doctype html><html lang="en"><title>Another site</title>`+
		`<p>This page has no link and waits for no click.</p><script type="speculationrules">`+string(rules)+`</script>`)
	tokens, calls := bb.TokenRequests(), bb.APIRequests()
	mark := a.logMark()

	defer openUnattached(t, browserCtx, page)()

	if got := a.waitLog(ctx, mark, 1, speculationWait, callbackLine); len(got) == 0 {
		t.Fatalf("Chromium made no %s request for %s within %s (the page with the rules, %s, was fetched %d times): "+
			"the refusal of speculative requests is untested", action, want, speculationWait, page, other.hits(path))
	}
	time.Sleep(settle)
	got := a.linesSince(mark, callbackLine)
	for _, l := range got {
		switch {
		case l["msg"] != refusedMsg || l["status"] != "403":
			t.Errorf("the app did not refuse Chromium's %s request: %s", action, l)
		case !strings.Contains(l["sec_purpose"], action):
			t.Errorf("the refused request has sec_purpose=%q, want %q in it for a %s: %s", l["sec_purpose"], action, action, l)
		}
	}
	if n, m := bb.TokenRequests()-tokens, bb.APIRequests()-calls; n != 0 || m != 0 {
		t.Errorf("after a %s with no click, Bitbucket got %d token requests and %d API calls; want none", action, n, m)
	}
	t.Logf("%s of %s from %s: %d request(s) to the app (%s); Bitbucket got %d token requests and %d API calls",
		action, want, page, len(got), got, bb.TokenRequests()-tokens, bb.APIRequests()-calls)
}

// openerPage is the other site's page for testScriptedNavigation. A click on
// its button opens the app's results page in a window, then navigates that
// window by script %[2]d times, 150 ms apart, with no activation left (the
// window.open used it), and then puts "done" in the title.
const openerPage = `<!doctype html><html lang="en"><title>Another site</title>
<button id="open" type="button">Open the sample app</button>
<script>
const target = %[1]s;
document.getElementById('open').addEventListener('click', () => {
  const w = window.open(target, 'sample');
  let n = 0;
  const timer = setInterval(() => {
    w.location.href = target;
    if (++n === %[2]d) { clearInterval(timer); document.title = 'done'; }
  }, 150);
});
</script>`

// confirmForm is what confirmFormJS reads of the confirmation page's form.
type confirmForm struct {
	Forms     int    `json:"forms"`     // form.confirm, GET /oauth-callback
	Button    string `json:"button"`    // its submit button's text
	Workspace string `json:"workspace"` // its hidden workspace field
}

const confirmFormJS = `(() => {
  const form = document.querySelector('form.confirm[method="get"][action="/oauth-callback"]');
  const button = form && form.querySelector('button[type="submit"]');
  const ws = form && form.querySelector('input[type="hidden"][name="workspace"]');
  return {
    forms: document.querySelectorAll('form.confirm[method="get"][action="/oauth-callback"]').length,
    button: button ? button.textContent.replace(/\s+/g, ' ').trim() : '',
    workspace: ws ? ws.value : '',
  };
})()`

// testScriptedNavigation clicks, like a person, a button on another port of
// localhost (the same site) that opens the app's results page in a window,
// whose script then navigates that window again and again. Only the first
// navigation has a person's activation (Sec-Fetch-User: ?1) and may run the
// flow; the others get the confirmation page and call nothing. The window
// ends on that page, which passes the checks of every page at both widths,
// and a click on its button runs the flow.
func testScriptedNavigation(ctx context.Context, t *testing.T, browserCtx context.Context, a *app, bb *standin.Server, other *otherSite, axe string) {
	want := a.URL + "/oauth-callback?workspace=bitbucket-demo"
	page := other.put("localhost", "/opener", fmt.Sprintf(openerPage, jsonString(t, want), scriptedNavigations))

	tab, cancel := chromedp.NewContext(browserCtx)
	defer cancel()
	sctx, cancelStep := context.WithTimeout(tab, stepTimeout)
	defer cancelStep()
	if err := chromedp.Do(sctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	tokens, calls := bb.TokenRequests(), bb.APIRequests()
	mark := a.logMark()
	opened := chromedp.WaitNewTarget(sctx, func(i *target.Info) bool { return i.Type == "page" })
	if err := chromedp.Do(sctx, chromedp.Click(chromedp.CSS("#open"))); err != nil {
		t.Fatalf("click the button on %s: %v", page, err)
	}
	var popup target.ID
	select {
	case id, ok := <-opened:
		if !ok {
			t.Fatalf("the click on %s opened no window", page)
		}
		popup = id
	case <-sctx.Done():
		t.Fatalf("the click on %s opened no window within %s", page, stepTimeout)
	}
	for {
		title, err := chromedp.Run(sctx, chromedp.Title())
		if err != nil {
			t.Fatalf("wait for the script on %s to finish: %v", page, err)
		}
		if title == "done" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	a.waitLog(ctx, mark, scriptedNavigations+1, 10*time.Second, callbackLine)
	time.Sleep(settle)
	lines := a.linesSince(mark, callbackLine)
	// Each navigation reaches the app, though a newer one may cancel it in
	// the browser before it is shown: fewer than half would mean that the
	// script navigated too fast to test anything.
	if len(lines) < scriptedNavigations/2+1 {
		t.Errorf("the app saw %d requests for /oauth-callback, want the window.open and most of the %d navigations: %s",
			len(lines), scriptedNavigations, lines)
	}
	n, m := bb.TokenRequests()-tokens, bb.APIRequests()-calls
	if n > 1 || m > 2 {
		t.Errorf("after %d requests for /oauth-callback, %d of them scripted navigations, Bitbucket got %d token requests "+
			"and %d API calls; want at most one page's worth (1 and 2), for the first navigation, which the click started",
			len(lines), scriptedNavigations, n, m)
	}
	for _, l := range lines {
		if l["msg"] != "request" || l["status"] != "200" {
			t.Errorf("a navigation of the window got something other than a page: %s", l)
		}
	}
	t.Logf("window.open and %d scripted navigations: the app saw %d requests; Bitbucket got %d token requests and %d API calls",
		scriptedNavigations, len(lines), n, m)

	// The window ends on the confirmation page, which calls nothing. The
	// journey attaches to the window after its page loaded, so the CSP
	// violation hook is installed by hand, and the checks cover what
	// happens from then on.
	j := newJourney(t, browserCtx, viewports[0], a.URL, axe, chromedp.WithTargetID(popup))
	step := "the window after the scripted navigations"
	if err := j.do(chromedp.Evaluate[chromedp.Void](violationHook)); err != nil {
		t.Fatalf("%s: install the CSP violation hook: %v", step, err)
	}
	confirm, err := chromedp.Run(j.tab, chromedp.Evaluate[confirmForm](confirmFormJS))
	if err != nil {
		t.Fatalf("%s: read the form: %v", step, err)
	}
	if confirm.Forms != 1 || confirm.Button == "" || confirm.Workspace != "bitbucket-demo" {
		t.Errorf("%s: want one form.confirm (GET /oauth-callback) with a submit button and the workspace; got %d forms, button %q, workspace %q",
			step, confirm.Forms, confirm.Button, confirm.Workspace)
	}
	for _, vp := range viewports {
		j.vp = vp
		j.resize(vp.width, vp.height, vp.mobile)
		f := j.facts(step)
		j.contains(step, "the h1", f.H1, "Run the client credentials flow?")
		j.query(step, f.URL, url.Values{"workspace": {"bitbucket-demo"}})
		j.finish(step, "confirm", f, "")
	}
	if n2, m2 := bb.TokenRequests()-tokens, bb.APIRequests()-calls; n2 != n || m2 != m {
		t.Errorf("%s: reading the confirmation page called Bitbucket (%d token requests, %d API calls more)", step, n2-n, m2-m)
	}

	// A person's click on its button runs the flow.
	step = "the confirmation page's button, clicked"
	if confirm.Forms != 1 {
		t.Fatalf("%s: no button to click", step)
	}
	j.vp = viewports[0]
	j.resize(j.vp.width, j.vp.height, j.vp.mobile)
	calls = bb.APIRequests()
	j.load(step, "click the button", "/oauth-callback", 200, chromedp.Click(chromedp.CSS(`form.confirm button[type="submit"]`)))
	f := j.facts(step)
	j.flowResults(step, f, "bitbucket-demo", "Page 1 of 3 · 23 repositories", 10)
	if bb.APIRequests() == calls {
		t.Errorf("%s: Bitbucket got no API call: the click did not run the flow", step)
	}
	j.checkBrowser(step)
}

// embedPage is the other site's page for testNoFetchMetadata: three
// subresources that load the app's results page.
const embedPage = `<!doctype html><html lang="en"><title>Another site</title>
<img src="%[1]s" alt="">
<script src="%[1]s"></script>
<iframe src="%[1]s" title="The sample app"></iframe>`

// testNoFetchMetadata serves the app as http://app.test:port, where
// Chromium sends no Fetch Metadata, and embeds its results page in
// http://other.test's page as an <img>, a <script> and an <iframe>. The
// app gets the three requests and calls nothing: without Sec-Fetch-* it
// asks for its SameSite=Strict origin cookie. A person who opens the app
// (the landing page sets the cookie) and clicks Authorize runs the flow;
// the same embeds then still call nothing, as the browser does not send a
// SameSite=Strict cookie with another site's requests.
func testNoFetchMetadata(ctx context.Context, t *testing.T, browserCtx context.Context, a *app, bb *standin.Server, other *otherSite) {
	port := portOf(t, a.URL)
	appBase := "http://" + net.JoinHostPort(appName, port)
	want := appBase + "/oauth-callback?workspace=bitbucket-demo"
	page := other.put(otherName, "/embed", fmt.Sprintf(embedPage, html.EscapeString(want)))

	embed := func(step string) {
		t.Helper()
		tokens, calls := bb.TokenRequests(), bb.APIRequests()
		mark := a.logMark()
		// A new tab each time: chromedp waits in vain for the load of a
		// second navigation to the same page in a tab.
		tab, cancel := chromedp.NewContext(browserCtx)
		defer cancel()
		sctx, cancelStep := context.WithTimeout(tab, stepTimeout)
		defer cancelStep()
		if err := chromedp.Do(sctx, chromedp.Navigate(page)); err != nil {
			t.Fatalf("%s: open %s: %v", step, page, err)
		}
		lines := a.waitLog(ctx, mark, 3, 10*time.Second, callbackLine)
		if len(lines) < 3 {
			t.Errorf("%s: the app got %d requests for /oauth-callback, want 3 (img, script, iframe): %s", step, len(lines), lines)
		}
		for _, l := range lines {
			switch {
			case l["msg"] == refusedMsg:
				t.Errorf("%s: the app refused a request with sec_fetch_site=%q: Chromium sent Fetch Metadata to %s, "+
					"so this test does not reach the origin cookie check: %s", step, l["sec_fetch_site"], appBase, l)
			case l["msg"] != "request" || l["status"] != "200":
				t.Errorf("%s: want the confirmation page (200), got %s", step, l)
			}
		}
		n, m := bb.TokenRequests()-tokens, bb.APIRequests()-calls
		if n != 0 || m != 0 {
			t.Errorf("%s: Bitbucket got %d token requests and %d API calls; want none", step, n, m)
		}
		t.Logf("%s: %d requests for /oauth-callback reached the app; Bitbucket got %d token requests and %d API calls", step, len(lines), n, m)
	}
	embed("img, script and iframe on " + otherName + ", before a visit")

	// A person opens the app and clicks Authorize.
	j := newJourney(t, browserCtx, viewports[0], appBase, "")
	step := "a person opens " + appBase
	j.load(step, "open "+appBase+"/", "/", 200, chromedp.Navigate(appBase+"/"))
	cookies, err := chromedp.Call(j.tab, network.GetCookies, network.GetCookiesParams{URLs: []string{appBase + "/"}})
	if err != nil {
		t.Fatalf("%s: read the cookies: %v", step, err)
	}
	var origin *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == "bitbucket-sample-origin" {
			origin = c
		}
	}
	if origin == nil {
		t.Errorf("%s: the landing page set no cookie bitbucket-sample-origin (cookies: %d)", step, len(cookies.Cookies))
	} else if origin.SameSite != network.CookieSameSiteStrict || !origin.HTTPOnly {
		t.Errorf("%s: the origin cookie has SameSite=%q, HttpOnly=%v; want Strict and HttpOnly", step, origin.SameSite, origin.HTTPOnly)
	}
	j.checkBrowser(step)

	step = "Authorize on " + appBase
	tokens, calls := bb.TokenRequests(), bb.APIRequests()
	const authorize = `main a.button[href="/authorize"]`
	j.load(step, "click "+authorize, "/oauth-callback", 200, chromedp.Click(chromedp.CSS(authorize)))
	f := j.facts(step)
	j.flowResults(step, f, "bitbucket-demo", "Page 1 of 3 · 23 repositories", 10)
	// The token may come from the app's cache; the API calls cannot.
	if bb.APIRequests() == calls {
		t.Errorf("%s: Bitbucket got %d token requests and no API call: a person's click did not run the flow",
			step, bb.TokenRequests()-tokens)
	}
	j.checkBrowser(step)

	embed("img, script and iframe on " + otherName + ", after the visit (the browser holds the cookie)")

	// A top-level navigation that another site's script starts: Lax would
	// send the cookie with it, Strict does not. The tab is one DevTools
	// does not attach to, as in testSpeculation.
	step = "a script on " + otherName + " navigates to the results page"
	jump := other.put(otherName, "/jump", `<!doctype html><html lang="en"><title>Another site</title><script>location.href = `+
		jsonString(t, want)+`;</script>`)
	tokens, calls = bb.TokenRequests(), bb.APIRequests()
	mark := a.logMark()
	defer openUnattached(t, browserCtx, jump)()
	lines := a.waitLog(ctx, mark, 1, 10*time.Second, callbackLine)
	time.Sleep(settle)
	if len(lines) == 0 {
		t.Errorf("%s: the app got no request for /oauth-callback within 10 s", step)
	}
	if n, m := bb.TokenRequests()-tokens, bb.APIRequests()-calls; n != 0 || m != 0 {
		t.Errorf("%s: Bitbucket got %d token requests and %d API calls; want none (the origin cookie must not go with another site's navigation)", step, n, m)
	} else {
		t.Logf("%s: %d request(s) reached the app, Bitbucket got no call", step, len(lines))
	}

	// 0.0.0.0 names no host; the app answers 421 to it, when the browser
	// lets the request go at all.
	step = "http://0.0.0.0"
	zero := "http://" + net.JoinHostPort("0.0.0.0", port) + "/"
	j.rec.expectDocument(http.StatusMisdirectedRequest)
	sctx, cancelStep := context.WithTimeout(j.tab, stepTimeout)
	defer cancelStep()
	resp, err := chromedp.RunResponse(sctx, chromedp.Navigate(zero))
	switch {
	case err != nil:
		t.Logf("%s: Chromium does not load %s (%v), so the app's 421 is not seen from a browser here", step, zero, err)
	case resp.Status != http.StatusMisdirectedRequest:
		t.Errorf("%s: %s answered %d, want 421", step, zero, resp.Status)
	default:
		t.Logf("%s: %s answered 421", step, zero)
	}
	j.rec.takeProblems() // a browser that refuses 0.0.0.0 reports it; nothing else happened here
}

// openUnattached opens pageURL in a new tab that DevTools does not attach
// to, as a person's tab, and returns a func that closes the tab.
func openUnattached(t *testing.T, browserCtx context.Context, pageURL string) (closeTab func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(browserCtx, stepTimeout)
	defer cancel()
	res, err := chromedp.CallBrowser(ctx, target.CreateTarget, target.CreateTargetParams{URL: pageURL})
	if err != nil {
		t.Fatalf("open %s in a new tab: %v", pageURL, err)
	}
	id := res.TargetID
	return func() {
		ctx, cancel := context.WithTimeout(browserCtx, stepTimeout)
		defer cancel()
		if _, err := chromedp.CallBrowser(ctx, target.CloseTarget, target.CloseTargetParams{TargetID: id}); err != nil {
			t.Logf("close the tab of %s: %v", pageURL, err)
		}
	}
}

// startStandin serves a stand-in for Bitbucket, with the demo consumer, and
// returns it with its base URL.
func startStandin(t *testing.T) (*standin.Server, string) {
	t.Helper()
	s := standin.New(standin.Options{})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// bitbucketEnv points the app at a stand-in, in Bitbucket mode.
func bitbucketEnv(standinURL string) []string {
	return []string{
		"BITBUCKET_CONSUMER_KEY=" + standin.DemoKey, "BITBUCKET_CONSUMER_SECRET=" + standin.DemoSecret,
		"BITBUCKET_TOKEN_URL=" + standinURL + "/site/oauth2/access_token", "BITBUCKET_API_URL=" + standinURL + "/2.0",
		"BITBUCKET_WORKSPACE=bitbucket-demo",
	}
}

// jsonString is s as a JSON (and JavaScript) string literal.
func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// portOf returns the port of a URL.
func portOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || u.Port() == "" {
		t.Fatalf("no port in %q (%v)", rawURL, err)
	}
	return u.Port()
}

// otherSite is the other website: an httptest server on another port of
// 127.0.0.1 that serves the pages the test puts on it, under any host name
// that reaches it, and counts how often each was fetched.
type otherSite struct {
	srv   *httptest.Server
	mu    sync.Mutex
	pages map[string]string
	count map[string]int
}

func newOtherSite(t *testing.T) *otherSite {
	o := &otherSite{pages: map[string]string{}, count: map[string]int{}}
	o.srv = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *otherSite) serve(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	page, ok := o.pages[r.URL.Path]
	if ok {
		o.count[r.URL.Path]++
	}
	o.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, page) //nolint:errcheck // nothing to do if the browser went away
}

// put serves page at path and returns its URL with the host name.
func (o *otherSite) put(host, path, page string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pages[path] = page
	_, port, _ := net.SplitHostPort(o.srv.Listener.Addr().String())
	return "http://" + net.JoinHostPort(host, port) + path
}

// hits is how often the page at path was fetched.
func (o *otherSite) hits(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.count[path]
}
