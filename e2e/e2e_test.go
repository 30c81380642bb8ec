package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

const (
	// overallTimeout bounds the whole test: build, apps, browser, pages.
	overallTimeout = 4 * time.Minute
	// stepTimeout bounds one navigation, click, audit or read of a page.
	stepTimeout = 30 * time.Second
	// screenshotDir is where the PNGs go (git-ignored).
	screenshotDir = "screenshots"
)

// viewport is one screen the pages are checked on.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var viewports = []viewport{
	{name: "1280", width: 1280, height: 800},
	{name: "375", width: 375, height: 812, mobile: true},
}

// sweepWidths are the widths, besides the two above, at which the widths
// check looks for anything past the right edge: phones, small tablets,
// and both sides of each breakpoint of the stylesheet (40rem, 48rem).
var sweepWidths = []int64{320, 360, 414, 480, 600, 639, 641, 700, 767, 769, 800, 900, 1024}

// TestMain empties screenshots/ once, before the tests save theirs there.
func TestMain(m *testing.M) {
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
	old, _ := filepath.Glob(filepath.Join(screenshotDir, "*.png"))
	for _, f := range old {
		os.Remove(f) //nolint:errcheck // a stale screenshot left over is harmless
	}
	os.Exit(m.Run())
}

// TestPages checks every page of the app at 1280 and 375 CSS pixels wide,
// each in a fresh tab: the demo flow (landing page → Authorize → results →
// next page → another workspace), /scopes with the token the flow got (a
// search, and its 400 page), the 400, 404 and 405 pages, and the
// results page of a failed token request, served by a second app whose
// Bitbucket refuses connections. On every page: what it shows, an axe-core
// audit, the focus ring of every Tab stop, nothing outside code blocks past
// the right edge, no console error, CSP violation or failed request, and a
// screenshot. On the results page, the copy buttons, by mouse and by
// keyboard.
func TestPages(t *testing.T) {
	browserPath := findBrowser(t)
	axeSource := loadAxe(t)
	ctx, cancel := context.WithTimeout(context.Background(), overallTimeout)
	t.Cleanup(cancel) // the first cleanup registered runs last, after the browser and the apps stop
	start := time.Now()

	bin := buildApp(ctx, t)
	base := startApp(ctx, t, bin, []string{"-demo"}).URL
	// Bitbucket mode, with a Bitbucket that is not there: the token request
	// gets no answer, and the results page shows the failure.
	down := closedPortURL(t)
	failing := startApp(ctx, t, bin, nil,
		"BITBUCKET_CONSUMER_KEY=e2e-consumer-key", "BITBUCKET_CONSUMER_SECRET=e2e-consumer-secret",
		"BITBUCKET_TOKEN_URL="+down+"/site/oauth2/access_token", "BITBUCKET_API_URL="+down+"/2.0").URL

	browserCtx := startBrowser(ctx, t, browserPath)

	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			j := newJourney(t, browserCtx, vp, base, axeSource)
			j.demoFlow()
			j.scopesPage()
			j.errorPages()
			j.tokenFailure(failing)
			// Late events (a CSP report is asynchronous) still count.
			time.Sleep(300 * time.Millisecond)
			j.checkBrowser("after the last page")
		})
	}
	t.Run("widths", func(t *testing.T) { testWidths(t, browserCtx, base, failing) })
	t.Run("csp-detector", func(t *testing.T) { testCSPDetector(t, browserCtx, base, axeSource) })
	t.Logf("done in %s (build, apps, browser, pages)", time.Since(start).Round(time.Millisecond))
}

// journey is one walk through the app in one tab at one viewport size.
type journey struct {
	t    *testing.T
	tab  context.Context
	rec  *recorder
	vp   viewport
	base string
	axe  string // the source of axe-core
}

// newJourney opens a tab at the viewport's size; with chromedp.WithTargetID
// among the options, it takes over that tab instead.
func newJourney(t *testing.T, browserCtx context.Context, vp viewport, base, axe string, opts ...chromedp.ContextOption) *journey {
	t.Helper()
	tab, rec := openTab(browserCtx, t, opts...)
	j := &journey{t: t, tab: tab, rec: rec, vp: vp, base: base, axe: axe}
	j.resize(vp.width, vp.height, vp.mobile)
	return j
}

// resize sets the size of the tab's viewport; mobile emulates a phone
// (touch, overlay scroll bars).
func (j *journey) resize(width, height int64, mobile bool) {
	j.t.Helper()
	var opts []chromedp.EmulateViewportOption
	if mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	if err := j.do(chromedp.EmulateViewport(width, height, opts...)); err != nil {
		j.t.Fatalf("set the viewport to %dx%d: %v", width, height, err)
	}
}

// demoFlow walks the demo: landing page → Authorize → results → next page
// → the other workspace.
func (j *journey) demoFlow() {
	t := j.t

	// 1. The landing page.
	step := "landing page"
	j.load(step, "open /", "/", 200, chromedp.Navigate(j.base+"/"))
	f := j.facts(step)
	j.contains(step, "the title", f.Title, "Bitbucket client credentials sample")
	j.contains(step, "the h1", f.H1, "client credentials grant")
	j.contains(step, "the mode banner", f.Banner, "Demo mode.")
	if f.AuthorizeLinks == 0 {
		t.Errorf("%s: no link to /authorize", step)
	}
	if f.Images == 0 {
		t.Errorf("%s: the flow diagram (an img) is missing", step)
	}
	j.finish(step, "landing", f, "")

	// 2. Authorize: /authorize answers 303 and the browser lands on the results.
	step = "Authorize → results page"
	const authorize = `main a.button[href="/authorize"]`
	j.load(step, "click "+authorize, "/oauth-callback", 200, chromedp.Click(chromedp.CSS(authorize)))
	if !slices.ContainsFunc(j.rec.redirectsSeen(), func(r redirect) bool {
		return r.Status == 303 && r.From == j.base+"/authorize" && r.To == j.base+"/oauth-callback"
	}) {
		t.Errorf("%s: no 303 from /authorize to /oauth-callback among the redirects %+v", step, j.rec.redirectsSeen())
	}
	f = j.facts(step)
	j.results(step, f, "bitbucket-demo", "Page 1 of 3 · 23 repositories", 10)
	if len(f.Repos) > 0 && f.Repos[0] != "api-gateway" {
		t.Errorf("%s: the first repository is %q, want api-gateway", step, f.Repos[0])
	}
	if f.NextText != "Next page →" {
		t.Errorf("%s: the next-page link (rel=next) reads %q, want %q", step, f.NextText, "Next page →")
	}
	if f.PrevText != "" {
		t.Errorf("%s: page 1 has a previous-page link %q", step, f.PrevText)
	}
	j.finish(step, "results", f, "")
	j.copyButtons(step)
	page1 := f.Repos

	// 3. The next page of repositories.
	step = "next page of repositories"
	if f.NextText == "" {
		t.Fatalf("%s: no rel=next link to click", step)
	}
	const next = `a[rel="next"]`
	j.load(step, "click "+next, "/oauth-callback", 200, chromedp.Click(chromedp.CSS(next)))
	f = j.facts(step)
	j.query(step, f.URL, url.Values{"page": {"2"}, "workspace": {"bitbucket-demo"}})
	j.results(step, f, "bitbucket-demo", "Page 2 of 3 · 23 repositories", 10)
	if len(f.Repos) > 0 && f.Repos[0] != "docs-site" {
		t.Errorf("%s: the first repository is %q, want docs-site", step, f.Repos[0])
	}
	for _, r := range f.Repos {
		if slices.Contains(page1, r) {
			t.Errorf("%s: repository %q is on page 1 and on page 2", step, r)
		}
	}
	if f.PrevText == "" || f.NextText == "" {
		t.Errorf("%s: page 2 of 3 should link both ways; previous %q, next %q", step, f.PrevText, f.NextText)
	}
	j.finish(step, "results-page2", f, "")

	// 4. Another workspace, from the Workspaces nav.
	step = "switch to workspace demo-labs"
	if !slices.Contains(f.SwitchLinks, "demo-labs") {
		t.Fatalf("%s: the Workspaces nav has no link to demo-labs; its links: %q", step, f.SwitchLinks)
	}
	const demoLabs = `nav[aria-label="Workspaces"] a[href*="workspace=demo-labs"]`
	j.load(step, "click "+demoLabs, "/oauth-callback", 200, chromedp.Click(chromedp.CSS(demoLabs)))
	f = j.facts(step)
	j.query(step, f.URL, url.Values{"workspace": {"demo-labs"}})
	j.results(step, f, "demo-labs", "Page 1 of 1 · 3 repositories", 3)
	if want := []string{"prototype-cli", "benchmarks", "research-notes"}; !slices.Equal(f.Repos, want) {
		t.Errorf("%s: repositories %q, want %q", step, f.Repos, want)
	}
	if f.PrevText != "" || f.NextText != "" {
		t.Errorf("%s: a one-page list has page links: previous %q, next %q", step, f.PrevText, f.NextText)
	}
	if !slices.Contains(f.SwitchLinks, "bitbucket-demo") {
		t.Errorf("%s: the Workspaces nav has no link back to bitbucket-demo; its links: %q", step, f.SwitchLinks)
	}
	j.finish(step, "results-demo-labs", f, "")
}

// errorPages checks the pages of bad input (400), of an unknown address
// (404) and of a wrong method (405).
func (j *journey) errorPages() {
	step := "400 page (a workspace that is no workspace ID)"
	j.load(step, "open /oauth-callback?workspace=bad!slug", "/oauth-callback", 400,
		chromedp.Navigate(j.base+"/oauth-callback?workspace=bad!slug"))
	f := j.facts(step)
	j.errorPage(step, f, "400 Bad Request", "workspace must be a Bitbucket workspace ID")
	j.finish(step, "error-400", f, "")

	step = "404 page"
	j.load(step, "open /no/such/page", "/no/such/page", 404, chromedp.Navigate(j.base+"/no/such/page"))
	f = j.facts(step)
	j.errorPage(step, f, "404 Not Found", "There is no page at this address.")
	j.finish(step, "error-404", f, "")

	step = "405 page (a POST to /)"
	j.post(step, j.base+"/", 405)
	f = j.facts(step)
	j.errorPage(step, f, "405 Method Not Allowed", "This address answers only GET, HEAD.")
	j.finish(step, "error-405", f, "")
}

// errorPage checks what an error page shows.
func (j *journey) errorPage(step string, f pageFacts, h1, lead string) {
	j.t.Helper()
	if f.H1 != h1 {
		j.t.Errorf("%s: the h1 is %q, want %q", step, f.H1, h1)
	}
	j.contains(step, "the message", f.Lead, lead)
	if f.HomeButton == 0 {
		j.t.Errorf("%s: no way back to the start (a.button to /)", step)
	}
}

// tokenFailure opens the results page of the app whose Bitbucket refuses
// connections: the page answers 502 and shows the failed token request.
func (j *journey) tokenFailure(failing string) {
	t := j.t
	step := "failed token request"
	j.load(step, "open /authorize of the app with no Bitbucket", "/oauth-callback", 502, chromedp.Navigate(failing+"/authorize"))
	f := j.facts(step)
	j.contains(step, "the h1", f.H1, "Results of the client credentials flow")
	j.contains(step, "the mode banner", f.Banner, "Bitbucket mode.")
	if f.TokenOutcome != "" || f.TokenType != "" {
		t.Errorf("%s: the page shows a token (%q, type %q)", step, f.TokenOutcome, f.TokenType)
	}
	// Within bitbucket.FailureBackoff of a failure (the other width's load),
	// the page gets that failure again without a request, and says so.
	remembered, err := chromedp.Run(j.tab, chromedp.Evaluate[bool](`document.body.innerText.includes('so this page made no token request')`))
	if err != nil {
		t.Errorf("%s: read the page: %v", step, err)
	}
	if (f.FailedExchanges != 1 || f.Exchanges != 1) && !(remembered && f.Exchanges == 0) {
		t.Errorf("%s: %d HTTP exchanges, %d of them failed; want the one token request, failed, or a note that it failed moments ago", step, f.Exchanges, f.FailedExchanges)
	}
	j.finish(step, "results-token-failed", f, "failed with no answer")
}

// do runs actions in the tab within the step timeout.
func (j *journey) do(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// load runs the action (a navigation or a click, described by what), waits
// for the page to load, and checks that it ends on wantPath with the wanted
// HTTP status. The recorder takes that status of the document as no
// problem.
func (j *journey) load(step, what, wantPath string, wantStatus int64, action chromedp.Action[chromedp.Void]) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
	j.rec.expectDocument(wantStatus)
	resp, err := chromedp.RunResponse(ctx, action)
	if err != nil {
		j.t.Fatalf("%s: %s: %v", step, what, err)
	}
	if resp == nil {
		j.t.Fatalf("%s: %s: the browser reported no document response", step, what)
	}
	u, err := url.Parse(resp.URL)
	if err != nil || u.Path != wantPath {
		j.t.Errorf("%s: ended on %s, want path %s", step, resp.URL, wantPath)
	}
	if resp.Status != wantStatus {
		j.t.Errorf("%s: HTTP %d for %s, want %d", step, resp.Status, resp.URL, wantStatus)
	}
}

// post loads the page at pageURL with a POST. A navigation is a GET, so the
// Fetch domain pauses the document's request and continues it as a POST:
// the browser then shows the answer as it would after a form's POST.
func (j *journey) post(step, pageURL string, wantStatus int64) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	pattern := &fetch.RequestPattern{URLPattern: pageURL, ResourceType: network.ResourceTypeDocument, RequestStage: fetch.RequestStageRequest}
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{pattern}}); err != nil {
		j.t.Fatalf("%s: Fetch.enable: %v", step, err)
	}
	continued := make(chan error, 1)
	go func() {
		for ev, err := range paused {
			if err == nil {
				_, err = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID, Method: "POST"})
			}
			continued <- err
			return
		}
	}()
	j.load(step, "POST "+pageURL, "/", wantStatus, chromedp.Navigate(pageURL))
	select {
	case err := <-continued:
		if err != nil {
			j.t.Errorf("%s: continue the request as a POST: %v", step, err)
		}
	case <-time.After(5 * time.Second):
		j.t.Errorf("%s: the request was never paused to become a POST", step)
	}
	if _, err := chromedp.Call(ctx, fetch.Disable, cdp.Empty{}); err != nil {
		j.t.Errorf("%s: Fetch.disable: %v", step, err)
	}
}

// results checks what every results page of the demo shows when the flow
// worked: flowResults, and the Workspaces nav, which the demo always has.
func (j *journey) results(step string, f pageFacts, workspace, caption string, repos int) {
	j.t.Helper()
	j.flowResults(step, f, workspace, caption, repos)
	if f.CurrentWorkspace != workspace {
		j.t.Errorf("%s: the Workspaces nav marks %q as current, want %q", step, f.CurrentWorkspace, workspace)
	}
}

// flowResults checks what a results page shows when the flow worked: a
// token, the workspace, a page of repositories, and the HTTP exchanges.
func (j *journey) flowResults(step string, f pageFacts, workspace, caption string, repos int) {
	t := j.t
	t.Helper()
	j.contains(step, "the h1", f.H1, "Results of the client credentials flow")
	if f.TokenOutcome == "" {
		t.Errorf("%s: no successful token outcome (.outcome.ok) in step 2", step)
	}
	if f.TokenType != "Bearer" {
		t.Errorf("%s: token type %q, want Bearer", step, f.TokenType)
	}
	if !strings.Contains(f.TokenMasked, "…") {
		t.Errorf("%s: the access token is shown as %q, want it masked with …", step, f.TokenMasked)
	}
	if f.Workspace != workspace {
		t.Errorf("%s: the workspace heading names %q, want %q", step, f.Workspace, workspace)
	}
	if f.Caption != caption {
		t.Errorf("%s: the repositories table caption is %q, want %q", step, f.Caption, caption)
	}
	if len(f.Repos) != repos {
		t.Errorf("%s: %d repositories listed (%q), want %d", step, len(f.Repos), f.Repos, repos)
	}
	if f.Exchanges == 0 && f.NoExchanges == "" {
		t.Errorf("%s: step 5 shows neither HTTP exchanges nor says none was needed", step)
	}
	if f.FailedExchanges > 0 {
		t.Errorf("%s: %d HTTP exchanges are marked failed", step, f.FailedExchanges)
	}
}

// finish checks what every page must satisfy, saves its screenshot, audits
// it with axe-core, walks it with Tab, and fails the step on anything the
// browser reported. wantAlert is the text of the one failure the page must
// show, or "" when it must show none.
func (j *journey) finish(step, shot string, f pageFacts, wantAlert string) {
	t := j.t
	t.Helper()
	switch {
	case wantAlert == "" && len(f.Alerts) > 0:
		t.Errorf("%s: the page shows failures: %q", step, f.Alerts)
	case wantAlert != "" && (len(f.Alerts) != 1 || !strings.Contains(f.Alerts[0], wantAlert)):
		t.Errorf("%s: the page shows the failures %q, want one that says %q", step, f.Alerts, wantAlert)
	}
	if f.StyleRules == 0 {
		t.Errorf("%s: the stylesheet did not apply (no CSS rules loaded)", step)
	}
	if len(f.BrokenImages) > 0 {
		t.Errorf("%s: images that did not load: %q", step, f.BrokenImages)
	}
	if len(f.CSPViolations) > 0 {
		t.Errorf("%s: securitypolicyviolation events: %q", step, f.CSPViolations)
	}
	if f.CodeBlocks != f.CopyButtons {
		t.Errorf("%s: %d code blocks but %d copy buttons (static/copy.js)", step, f.CodeBlocks, f.CopyButtons)
	}
	j.edges(step, f, j.vp.width)
	if len(f.StuckPres) > 0 {
		t.Errorf("%s: code blocks that scroll sideways but cannot be reached with the keyboard (no tabindex): %q", step, f.StuckPres)
	}
	if f.ScrollingPres > 0 {
		t.Logf("%s: %d of %d code blocks scroll sideways inside themselves", step, f.ScrollingPres, f.CodeBlocks)
	}
	j.screenshot(step, shot)
	j.audit(step)
	j.focusWalk(step)
	j.checkBrowser(step)
}

// edges fails the step when anything outside a code block lies past the
// right edge of the viewport, or when the page or any box but a code block
// scrolls sideways. A code block (pre) must itself fit; the long lines in
// it scroll inside it.
func (j *journey) edges(step string, f pageFacts, width int64) {
	t := j.t
	t.Helper()
	if f.ScrollWidth > f.ClientWidth || int64(f.ClientWidth) > width {
		t.Errorf("%s: at %d px the page scrolls sideways: scrollWidth %d, clientWidth %d", step, width, f.ScrollWidth, f.ClientWidth)
	}
	if len(f.PastEdge) > 0 {
		t.Errorf("%s: at %d px, outside code blocks, these lie past the right edge (%d px):\n\t%s",
			step, width, f.ClientWidth, strings.Join(f.PastEdge, "\n\t"))
	}
	if len(f.Scrollers) > 0 {
		t.Errorf("%s: at %d px these scroll sideways, and only code blocks may:\n\t%s", step, width, strings.Join(f.Scrollers, "\n\t"))
	}
}

// contains checks that got contains want.
func (j *journey) contains(step, what, got, want string) {
	j.t.Helper()
	if !strings.Contains(got, want) {
		j.t.Errorf("%s: %s is %q, want it to contain %q", step, what, got, want)
	}
}

// query checks that the page URL carries the wanted query parameters.
func (j *journey) query(step, pageURL string, want url.Values) {
	j.t.Helper()
	u, err := url.Parse(pageURL)
	if err != nil {
		j.t.Errorf("%s: page URL %q: %v", step, pageURL, err)
		return
	}
	got := u.Query()
	for k := range want {
		if got.Get(k) != want.Get(k) {
			j.t.Errorf("%s: the page URL %s has %s=%q, want %q", step, pageURL, k, got.Get(k), want.Get(k))
		}
	}
}

// checkBrowser fails the step on every problem the browser reported since
// the last check, and logs its warnings.
func (j *journey) checkBrowser(step string) {
	j.t.Helper()
	for _, n := range j.rec.takeNotes() {
		j.t.Logf("%s: browser warning: %s", step, n)
	}
	if p := j.rec.takeProblems(); len(p) > 0 {
		j.t.Errorf("%s: the browser reported:\n\t%s", step, strings.Join(p, "\n\t"))
	}
}

// screenshot saves a full-page PNG as screenshots/<name>-<width>.png.
func (j *journey) screenshot(step, name string) {
	j.t.Helper()
	j.save(step, name, chromedp.FullScreenshot(100))
}

// save takes a screenshot with the action and saves it as
// screenshots/<name>-<width>.png.
func (j *journey) save(step, name string, shot chromedp.Action[[]byte]) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, shot)
	if err != nil {
		j.t.Errorf("%s: screenshot: %v", step, err)
		return
	}
	file := filepath.Join(screenshotDir, fmt.Sprintf("%s-%s.png", name, j.vp.name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		j.t.Errorf("%s: screenshot: %v", step, err)
		return
	}
	j.t.Logf("%s: saved %s", step, file)
}

// copyButtons checks the copy buttons of the code blocks: a click on the
// first puts its text on the clipboard and says "Copied"; so does Enter on
// the last, reached with the keyboard. It saves a screenshot of the last
// block with its button focused and the status shown.
func (j *journey) copyButtons(step string) {
	t := j.t
	t.Helper()
	step += ": copy buttons"
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
	// The clipboard API wants the permission and a focused page; a headless
	// tab is not always focused, so the focus is emulated.
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted, Origin: j.base,
		}); err != nil {
			t.Fatalf("%s: grant %s: %v", step, name, err)
		}
	}
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatalf("%s: emulate a focused page: %v", step, err)
	}
	texts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('.code-block')].filter(b => b.checkVisibility()).map(b => b.querySelector('pre > code').textContent)`))
	if err != nil {
		t.Fatalf("%s: read the code blocks: %v", step, err)
	}
	if len(texts) < 2 {
		t.Fatalf("%s: %d code blocks with a copy button, want the clone example and the curl commands", step, len(texts))
	}

	last := len(texts) - 1
	button := func(i int) chromedp.JSPath {
		return chromedp.JSPath(fmt.Sprintf(`[...document.querySelectorAll('.code-block')].filter(b => b.checkVisibility())[%d].querySelector('button.copy')`, i))
	}
	for _, c := range []struct {
		how    string
		i      int
		action chromedp.Action[chromedp.Void]
	}{
		{"click", 0, chromedp.Click(button(0))},
		{"keyboard focus and Enter", last, chromedp.Steps(chromedp.Focus(button(last)), chromedp.KeyEvent(kb.Enter))},
	} {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`navigator.clipboard.writeText('')`, chromedp.EvalAwaitPromise), c.action); err != nil {
			t.Errorf("%s: %s on copy button %d: %v", step, c.how, c.i+1, err)
			continue
		}
		status := j.waitStatus(ctx, c.i, "Copied")
		if status != "Copied" {
			t.Errorf("%s: after a %s on copy button %d its status says %q, want Copied", step, c.how, c.i+1, status)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Errorf("%s: read the clipboard: %v", step, err)
		} else if got != texts[c.i] {
			t.Errorf("%s: after a %s on copy button %d the clipboard holds %q, want the block's text %q", step, c.how, c.i+1, got, texts[c.i])
		}
	}
	// The button still has the keyboard focus: show it with its status,
	// and the mouse out of the way (no hover on another button).
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('.code-block')[`+fmt.Sprint(last)+`].scrollIntoView({block: 'center'})`),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1, 1),
	); err != nil {
		t.Errorf("%s: %v", step, err)
	}
	j.save(step, "results-copied", chromedp.CaptureScreenshot())
	j.checkBrowser(step)
}

// waitStatus waits up to 2 s for the status of copy button i to read want,
// and returns what it reads.
func (j *journey) waitStatus(ctx context.Context, i int, want string) string {
	var got string
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`[...document.querySelectorAll('.code-block')].filter(b => b.checkVisibility())[%d].querySelector('[role="status"]').textContent`, i)))
		if err != nil {
			return err.Error()
		}
		if got = s; got == want {
			break
		}
	}
	return got
}

// pageFacts is what the test reads from a page, in one evaluation.
type pageFacts struct {
	URL           string   `json:"url"`
	Title         string   `json:"title"`
	H1            string   `json:"h1"`
	Lead          string   `json:"lead"`
	Banner        string   `json:"banner"`
	StyleRules    int      `json:"styleRules"`
	Images        int      `json:"images"`
	BrokenImages  []string `json:"brokenImages"`
	Alerts        []string `json:"alerts"`
	CSPViolations []string `json:"cspViolations"`
	ScrollWidth   int      `json:"scrollWidth"`
	ClientWidth   int      `json:"clientWidth"`
	PastEdge      []string `json:"pastEdge"`
	Scrollers     []string `json:"scrollers"`
	CodeBlocks    int      `json:"codeBlocks"`
	CopyButtons   int      `json:"copyButtons"`
	ScrollingPres int      `json:"scrollingPres"`
	StuckPres     []string `json:"stuckPres"`

	AuthorizeLinks int `json:"authorizeLinks"`
	HomeButton     int `json:"homeButton"`

	TokenOutcome     string   `json:"tokenOutcome"`
	TokenType        string   `json:"tokenType"`
	TokenMasked      string   `json:"tokenMasked"`
	Workspace        string   `json:"workspace"`
	CurrentWorkspace string   `json:"currentWorkspace"`
	SwitchLinks      []string `json:"switchLinks"`
	Caption          string   `json:"caption"`
	Repos            []string `json:"repos"`
	NextText         string   `json:"nextText"`
	PrevText         string   `json:"prevText"`
	Exchanges        int      `json:"exchanges"`
	FailedExchanges  int      `json:"failedExchanges"`
	NoExchanges      string   `json:"noExchanges"`
}

// factsJS reads pageFacts. Text is whitespace-collapsed, as a reader sees
// it. The edge is the width of the viewport without its scroll bar.
//
// pastEdge lists the outermost elements, and the elements whose text, that
// reach past the edge, leaving out what is inside a pre (a code block
// scrolls inside itself; the pre itself must fit). scrollers lists the
// boxes other than a pre that scroll sideways: content that needs sideways
// scrolling even though it stays inside the edge.
const factsJS = `(() => {
  const norm = s => (s || '').replace(/\s+/g, ' ').trim();
  const text = sel => { const e = document.querySelector(sel); return e ? norm(e.textContent) : ''; };
  const texts = sel => [...document.querySelectorAll(sel)].map(e => norm(e.textContent));
  const dd = (dl, term) => {
    const dt = [...document.querySelectorAll(dl + ' dt')].find(d => norm(d.textContent) === term);
    return dt && dt.nextElementSibling ? norm(dt.nextElementSibling.textContent) : '';
  };
  let rules = 0;
  for (const s of document.styleSheets) { try { rules += s.cssRules.length; } catch (e) {} }

  const edge = document.documentElement.clientWidth;
  const describe = el => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).trim().replace(/\s+/g, '.') : '') +
    ' "' + norm(el.textContent).slice(0, 40) + '"';
  const inCode = el => el.tagName !== 'PRE' && el.closest('pre') !== null;
  const past = new Map();
  const scrollers = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (inCode(el)) continue;
    const r = el.getBoundingClientRect();
    if ((r.width > 0 || r.height > 0) && r.right > edge + 0.5) past.set(el, 'right=' + Math.round(r.right));
    const ox = getComputedStyle(el).overflowX;
    if (el.tagName !== 'PRE' && (ox === 'auto' || ox === 'scroll') && el.scrollWidth > el.clientWidth + 1) {
      scrollers.push(describe(el) + ' scrollWidth=' + el.scrollWidth + ' clientWidth=' + el.clientWidth);
    }
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.parentElement || n.parentElement.closest('pre') || !n.textContent.trim()) continue;
    range.selectNodeContents(n);
    for (const r of range.getClientRects()) {
      if (r.right > edge + 0.5 && !past.has(n.parentElement)) past.set(n.parentElement, 'its text reaches right=' + Math.round(r.right));
    }
  }
  const pastEdge = [...past].filter(([el]) => !past.has(el.parentElement)).slice(0, 12).map(([el, why]) => describe(el) + ' ' + why);

  const scrollingPres = [...document.querySelectorAll('pre')].filter(p => p.scrollWidth > p.clientWidth + 1);

  const wsHeading = [...document.querySelectorAll('main h3')].find(h => norm(h.textContent).startsWith('Workspace '));
  const nav = document.querySelector('nav[aria-label="Workspaces"]');
  const noEx = [...document.querySelectorAll('main p')].find(p => norm(p.textContent) === 'No HTTP exchange was needed.');
  return {
    url: location.href,
    title: document.title,
    h1: text('main h1'),
    lead: text('main .lead'),
    banner: text('header .banner'),
    styleRules: rules,
    images: document.images.length,
    brokenImages: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.currentSrc || i.src),
    alerts: texts('[role="alert"], .failure'),
    cspViolations: window.__cspViolations || ['the violation hook did not run'],
    scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
    clientWidth: edge,
    pastEdge: pastEdge,
    scrollers: scrollers,
    codeBlocks: document.querySelectorAll('pre > code').length,
    copyButtons: document.querySelectorAll('.code-block button.copy').length,
    scrollingPres: scrollingPres.length,
    stuckPres: scrollingPres.filter(p => p.tabIndex < 0).map(p => norm(p.textContent).slice(0, 40)),
    authorizeLinks: document.querySelectorAll('main a[href="/authorize"]').length,
    homeButton: document.querySelectorAll('main a.button[href="/"]').length,
    tokenOutcome: text('.outcome.ok'),
    tokenType: dd('dl.token', 'Type'),
    tokenMasked: dd('dl.token', 'Access token'),
    workspace: wsHeading && wsHeading.querySelector('code') ? norm(wsHeading.querySelector('code').textContent) : '',
    currentWorkspace: nav && nav.querySelector('[aria-current="page"]') ? norm(nav.querySelector('[aria-current="page"]').textContent) : '',
    switchLinks: nav ? [...nav.querySelectorAll('a')].map(a => norm(a.textContent)) : [],
    caption: text('table.repos caption'),
    repos: texts('table.repos tbody th[scope="row"]'),
    nextText: text('a[rel="next"]'),
    prevText: text('a[rel="prev"]'),
    exchanges: document.querySelectorAll('table.exchanges tbody tr').length,
    failedExchanges: document.querySelectorAll('table.exchanges tbody tr.failed').length,
    noExchanges: noEx ? norm(noEx.textContent) : '',
  };
})()`

// facts reads the page.
func (j *journey) facts(step string) pageFacts {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
	f, err := chromedp.Run(ctx, chromedp.Evaluate[pageFacts](factsJS))
	if err != nil {
		j.t.Fatalf("%s: read the page: %v", step, err)
	}
	return f
}

// testWidths loads the pages with tables and code blocks once and resizes
// the viewport through sweepWidths: at none of them may anything outside a
// code block lie past the right edge.
func testWidths(t *testing.T, browserCtx context.Context, base, failing string) {
	j := newJourney(t, browserCtx, viewports[0], base, "")
	for _, p := range []struct {
		step, url string
		status    int64
		path      string
	}{
		{"landing page", base + "/", 200, "/"},
		{"results page", base + "/oauth-callback", 200, "/oauth-callback"},
		{"failed token request", failing + "/oauth-callback", 502, "/oauth-callback"},
	} {
		j.resize(viewports[0].width, viewports[0].height, false)
		j.load(p.step, "open "+p.url, p.path, p.status, chromedp.Navigate(p.url))
		for _, w := range sweepWidths {
			j.resize(w, 800, w < 640)
			j.edges(p.step, j.facts(p.step), w)
		}
		j.checkBrowser(p.step)
	}
	if !t.Failed() {
		t.Logf("widths %v: nothing outside code blocks past the right edge", sweepWidths)
	}
}

// testCSPDetector makes sure the checks above can fail: it breaks the CSP
// on purpose (an inline style element) and expects the recorder to see it.
// Before that, it shows that axe-core, injected with Runtime.evaluate as
// audit does, runs under the page's CSP without a violation: the same
// recorder, which does see the inline style, sees nothing.
func testCSPDetector(t *testing.T, browserCtx context.Context, base, axe string) {
	j := newJourney(t, browserCtx, viewports[0], base, axe)
	rec := j.rec
	j.load("CSP detector", "open /", "/", 200, chromedp.Navigate(base+"/"))
	ok, err := chromedp.Run(j.tab, chromedp.Evaluate[bool](axe+"\n;typeof axe.run === 'function'"))
	if err != nil || !ok {
		t.Fatalf("CSP detector: axe-core through Runtime.evaluate: %v (defined: %v)", err, ok)
	}
	time.Sleep(300 * time.Millisecond)
	if p := rec.takeProblems(); len(p) > 0 {
		t.Fatalf("CSP detector: problems before the deliberate violation (after injecting axe-core):\n\t%s", strings.Join(p, "\n\t"))
	}
	inject := `(() => { const s = document.createElement('style'); s.textContent = 'body { color: red }'; document.head.append(s); return true; })()`
	if err := j.do(chromedp.Evaluate[chromedp.Void](inject)); err != nil {
		t.Fatalf("CSP detector: inject an inline style: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	var seen []string
	for time.Now().Before(deadline) {
		seen = append(seen, rec.takeProblems()...)
		if slices.ContainsFunc(seen, isCSP) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !slices.ContainsFunc(seen, isCSP) {
		t.Fatalf("CSP detector: an inline <style> broke the CSP but the browser events showed nothing about it (saw %q); the CSP checks of the journey cannot be trusted", seen)
	}
	f := j.facts("CSP detector")
	if len(f.CSPViolations) == 0 {
		t.Errorf("CSP detector: the securitypolicyviolation hook saw nothing")
	}
	t.Logf("CSP detector: axe-core injected with Runtime.evaluate raised no CSP report; a deliberate violation was reported as %q and %q", seen, f.CSPViolations)
}

func isCSP(problem string) bool {
	return strings.Contains(problem, "Content Security Policy") || strings.HasPrefix(problem, "CSP issue")
}
