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

	"github.com/chromedp/chromedp"
)

const (
	// overallTimeout bounds the whole test: build, app, browser, journeys.
	overallTimeout = 2 * time.Minute
	// stepTimeout bounds one navigation, click or read of a page.
	stepTimeout = 20 * time.Second
	// screenshotDir is where the PNGs go (git-ignored).
	screenshotDir = "screenshots"
)

// viewport is one screen the journey runs on.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var viewports = []viewport{
	{name: "1280", width: 1280, height: 800},
	{name: "375", width: 375, height: 812, mobile: true},
}

// TestJourney walks the demo flow in a fresh tab at each width:
// landing page → Authorize → results → next page → the other workspace.
func TestJourney(t *testing.T) {
	browserPath := findBrowser(t)
	ctx, cancel := context.WithTimeout(context.Background(), overallTimeout)
	t.Cleanup(cancel) // the first cleanup registered runs last, after the browser and the app stop
	start := time.Now()

	base := startApp(ctx, t)
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(screenshotDir, "*.png"))
	for _, f := range old {
		os.Remove(f) //nolint:errcheck // a stale screenshot left over is harmless
	}
	browser := startBrowser(ctx, t, browserPath)

	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			tab, rec := openTab(browser, t)
			j := &journey{t: t, tab: tab, rec: rec, vp: vp, base: base}
			j.run()
		})
	}
	t.Run("csp-detector", func(t *testing.T) { testCSPDetector(t, browser, base) })
	t.Logf("done in %s (build, app, browser, journeys)", time.Since(start).Round(time.Millisecond))
}

// journey is one walk through the app in one tab at one viewport size.
type journey struct {
	t    *testing.T
	tab  context.Context
	rec  *recorder
	vp   viewport
	base string
}

func (j *journey) run() {
	t := j.t
	var opts []chromedp.EmulateViewportOption
	if j.vp.mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	if err := j.do(chromedp.EmulateViewport(j.vp.width, j.vp.height, opts...)); err != nil {
		t.Fatalf("set the viewport to %dx%d: %v", j.vp.width, j.vp.height, err)
	}

	// 1. The landing page.
	step := "landing page"
	j.load(step, "open /", "/", chromedp.Navigate(j.base+"/"))
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
	j.finish(step, f, "landing")

	// 2. Authorize: /authorize answers 303 and the browser lands on the results.
	step = "Authorize → results page"
	const authorize = `main a.button[href="/authorize"]`
	j.load(step, "click "+authorize, "/oauth-callback", chromedp.Click(chromedp.CSS(authorize)))
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
	j.finish(step, f, "results")
	page1 := f.Repos

	// 3. The next page of repositories.
	step = "next page of repositories"
	if f.NextText == "" {
		t.Fatalf("%s: no rel=next link to click", step)
	}
	const next = `a[rel="next"]`
	j.load(step, "click "+next, "/oauth-callback", chromedp.Click(chromedp.CSS(next)))
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
	j.finish(step, f, "results-page2")

	// 4. Another workspace, from the Workspaces nav.
	step = "switch to workspace demo-labs"
	if !slices.Contains(f.SwitchLinks, "demo-labs") {
		t.Fatalf("%s: the Workspaces nav has no link to demo-labs; its links: %q", step, f.SwitchLinks)
	}
	const demoLabs = `nav[aria-label="Workspaces"] a[href*="workspace=demo-labs"]`
	j.load(step, "click "+demoLabs, "/oauth-callback", chromedp.Click(chromedp.CSS(demoLabs)))
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
	j.finish(step, f, "results-demo-labs")

	// Late events (a CSP report is asynchronous) still count.
	time.Sleep(300 * time.Millisecond)
	j.checkBrowser("after the journey")
}

// do runs actions in the tab within the step timeout.
func (j *journey) do(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// load runs the action (a navigation or a click, described by what), waits
// for the page to load, and checks that it ends on wantPath with HTTP 200.
func (j *journey) load(step, what, wantPath string, action chromedp.Action[chromedp.Void]) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
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
	if resp.Status != 200 {
		j.t.Errorf("%s: HTTP %d for %s, want 200", step, resp.Status, resp.URL)
	}
}

// results checks what every results page shows when the flow worked.
func (j *journey) results(step string, f pageFacts, workspace, caption string, repos int) {
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
	if f.CurrentWorkspace != workspace {
		t.Errorf("%s: the Workspaces nav marks %q as current, want %q", step, f.CurrentWorkspace, workspace)
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

// finish checks what every page must satisfy, saves its screenshot, and
// fails the step on anything the browser reported.
func (j *journey) finish(step string, f pageFacts, shot string) {
	t := j.t
	t.Helper()
	if len(f.Alerts) > 0 {
		t.Errorf("%s: the page shows failures: %q", step, f.Alerts)
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
	if f.ScrollWidth > f.InnerWidth || int64(f.ScrollWidth) > j.vp.width {
		t.Errorf("%s: the page is wider than the %d px viewport, so it scrolls sideways: scrollWidth %d, innerWidth %d; sticking out: %q",
			step, j.vp.width, f.ScrollWidth, f.InnerWidth, f.Overflowing)
	}
	j.screenshot(step, shot)
	j.checkBrowser(step)
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
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
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

// pageFacts is what the test reads from a page, in one evaluation.
type pageFacts struct {
	URL           string   `json:"url"`
	Title         string   `json:"title"`
	H1            string   `json:"h1"`
	Banner        string   `json:"banner"`
	StyleRules    int      `json:"styleRules"`
	Images        int      `json:"images"`
	BrokenImages  []string `json:"brokenImages"`
	Alerts        []string `json:"alerts"`
	CSPViolations []string `json:"cspViolations"`
	ScrollWidth   int      `json:"scrollWidth"`
	InnerWidth    int      `json:"innerWidth"`
	Overflowing   []string `json:"overflowing"`

	AuthorizeLinks int `json:"authorizeLinks"`

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

// factsJS is a function of the viewport width that reads pageFacts. Text is
// whitespace-collapsed, as a reader sees it. Overflowing lists the outermost
// elements that stick out past the right edge without a scrolling box
// around them: the culprits when the page scrolls sideways.
const factsJS = `(width => {
  const norm = s => (s || '').replace(/\s+/g, ' ').trim();
  const text = sel => { const e = document.querySelector(sel); return e ? norm(e.textContent) : ''; };
  const texts = sel => [...document.querySelectorAll(sel)].map(e => norm(e.textContent));
  const dd = (dl, term) => {
    const dt = [...document.querySelectorAll(dl + ' dt')].find(d => norm(d.textContent) === term);
    return dt && dt.nextElementSibling ? norm(dt.nextElementSibling.textContent) : '';
  };
  let rules = 0;
  for (const s of document.styleSheets) { try { rules += s.cssRules.length; } catch (e) {} }
  const scrolls = el => { for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) { if (getComputedStyle(a).overflowX !== 'visible') return true; } return false; };
  const out = new Set([...document.body.querySelectorAll('*')]
    .filter(el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.right > width + 0.5 && !scrolls(el); }));
  const overflowing = [...out].filter(el => !out.has(el.parentElement)).slice(0, 8)
    .map(el => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).trim().replace(/\s+/g, '.') : '') + ' "' + norm(el.textContent).slice(0, 40) + '" right=' + Math.round(el.getBoundingClientRect().right));
  const wsHeading = [...document.querySelectorAll('main h3')].find(h => norm(h.textContent).startsWith('Workspace '));
  const nav = document.querySelector('nav[aria-label="Workspaces"]');
  const noEx = [...document.querySelectorAll('main p')].find(p => norm(p.textContent) === 'No HTTP exchange was needed.');
  return {
    url: location.href,
    title: document.title,
    h1: text('main h1'),
    banner: text('header .banner'),
    styleRules: rules,
    images: document.images.length,
    brokenImages: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.currentSrc || i.src),
    alerts: texts('[role="alert"], .failure'),
    cspViolations: window.__cspViolations || ['the violation hook did not run'],
    scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
    innerWidth: window.innerWidth,
    overflowing: overflowing,
    authorizeLinks: document.querySelectorAll('main a[href="/authorize"]').length,
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
})`

// facts reads the page.
func (j *journey) facts(step string) pageFacts {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
	f, err := chromedp.Run(ctx, chromedp.Evaluate[pageFacts](fmt.Sprintf("(%s)(%d)", factsJS, j.vp.width)))
	if err != nil {
		j.t.Fatalf("%s: read the page: %v", step, err)
	}
	return f
}

// testCSPDetector makes sure the checks above can fail: it breaks the CSP
// on purpose (an inline style element) and expects the recorder to see it.
func testCSPDetector(t *testing.T, browser context.Context, base string) {
	tab, rec := openTab(browser, t)
	j := &journey{t: t, tab: tab, rec: rec, vp: viewports[0], base: base}
	j.load("CSP detector", "open /", "/", chromedp.Navigate(base+"/"))
	if p := rec.takeProblems(); len(p) > 0 {
		t.Fatalf("CSP detector: problems before the deliberate violation:\n\t%s", strings.Join(p, "\n\t"))
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
	t.Logf("CSP detector: a deliberate violation was reported as %q and %q", seen, f.CSPViolations)
}

func isCSP(problem string) bool {
	return strings.Contains(problem, "Content Security Policy") || strings.HasPrefix(problem, "CSP issue")
}
