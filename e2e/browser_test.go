package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/audits"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// findBrowser returns the path of Chromium. Without it the test skips, or
// fails when the variable CI is set: CI must not pass by testing nothing.
func findBrowser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("E2E_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "Chromium not found: no chromium or chromium-browser on PATH and E2E_CHROMIUM not set. Install it with `apt-get install chromium`, or run `make e2e`, which does"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI is set, so a missing browser is a failure)")
	}
	t.Skip(msg + " (skipping; with CI set this fails)")
	return ""
}

// startBrowser starts headless Chromium with a fresh profile and the extra
// options, and returns a context for it; every chromedp.NewContext made from
// it is a new tab. Cancelling ctx stops the browser.
func startBrowser(ctx context.Context, t *testing.T, path string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		// Chromium's own temporary files (its profile lock) go where the
		// test cleans up.
		chromedp.Env("TMPDIR="+t.TempDir()),
		// As root (CI containers) Chromium refuses to start with its sandbox.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		// Chromium phones home unless told not to; the network here refuses
		// such connections, and they have nothing to do with the app.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for the browser process to end
	})
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	return browserCtx
}

// violationHook runs in every document before the page's own content. It
// records the securitypolicyviolation events, a second witness of CSP
// violations next to the browser log. Scripts that DevTools injects are not
// subject to the page's CSP.
const violationHook = `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber);
});`

// openTab opens a new tab, or attaches to the one the options name
// (chromedp.WithTargetID), with a recorder listening to it, the Audits domain
// enabled (for CSP issues) and the violation hook installed.
func openTab(browserCtx context.Context, t *testing.T, opts ...chromedp.ContextOption) (context.Context, *recorder) {
	t.Helper()
	tab, cancel := chromedp.NewContext(browserCtx, opts...)
	t.Cleanup(cancel)
	rec := newRecorder()
	if err := chromedp.Listen(tab, rec.handle); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	if _, err := chromedp.Call(tab, audits.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("open a tab: Audits.enable: %v", err)
	}
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: violationHook}); err != nil {
		t.Fatalf("open a tab: install the CSP violation hook: %v", err)
	}
	return tab, rec
}

// redirect is one HTTP redirect the browser followed.
type redirect struct {
	From, To string
	Status   int64
}

// recorder collects, from the events of one tab, everything that should
// fail the test: uncaught exceptions, console.error calls, error entries of
// the browser log (CSP violations are among them), CSP issues, failed
// requests and HTTP errors. It also notes the redirects. Its handle method
// runs in chromedp's event loop, so it only appends under a lock.
type recorder struct {
	mu        sync.Mutex
	urls      map[network.RequestID]string
	problems  []string
	notes     []string
	redirects []redirect

	// expectStatus is the status the page being loaded is meant to answer
	// with (a 404 page answers 404); expected holds the document URLs that
	// did. Their status and the browser's log line about it are no problem.
	expectStatus int64
	expected     map[string]bool
}

func newRecorder() *recorder {
	return &recorder{urls: map[network.RequestID]string{}, expected: map[string]bool{}}
}

// expectDocument says which status the next document is meant to have.
func (r *recorder) expectDocument(status int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expectStatus = status
	clear(r.expected)
}

func (r *recorder) handle(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		r.urls[ev.RequestID] = ev.Request.URL
		if rr := ev.RedirectResponse; rr != nil {
			r.redirects = append(r.redirects, redirect{From: rr.URL, To: ev.Request.URL, Status: rr.Status})
		}
	case *network.EventResponseReceived:
		if ev.Type == network.ResourceTypeDocument && ev.Response.Status == r.expectStatus {
			r.expected[ev.Response.URL] = true
			return
		}
		if ev.Response.Status >= 400 {
			r.problems = append(r.problems, fmt.Sprintf("HTTP %d for %s %s", ev.Response.Status, ev.Type, ev.Response.URL))
		}
	case *network.EventLoadingFailed:
		msg := fmt.Sprintf("request failed: %s %s: %s", ev.Type, r.urls[ev.RequestID], ev.ErrorText)
		if ev.BlockedReason != "" {
			msg += " (blocked: " + string(ev.BlockedReason) + ")"
		}
		if ev.Canceled {
			msg += " (canceled)"
		}
		r.problems = append(r.problems, msg)
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := "uncaught exception: " + d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		r.problems = append(r.problems, fmt.Sprintf("%s (%s:%d)", msg, d.URL, d.LineNumber+1))
	case *runtime.EventConsoleAPICalled:
		var args []string
		for _, a := range ev.Args {
			if a.Description != "" {
				args = append(args, a.Description)
			} else {
				args = append(args, string(a.Value))
			}
		}
		msg := fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
		switch ev.Type {
		case runtime.ConsoleAPICalledTypeError, runtime.ConsoleAPICalledTypeAssert:
			r.problems = append(r.problems, msg)
		case runtime.ConsoleAPICalledTypeWarning:
			r.notes = append(r.notes, msg)
		}
	case *log.EventEntryAdded:
		e := ev.Entry
		msg := fmt.Sprintf("browser log (%s, %s): %s", e.Source, e.Level, e.Text)
		if e.URL != "" {
			msg += " [" + e.URL + "]"
		}
		if e.Source == log.EntrySourceNetwork && r.expected[e.URL] &&
			strings.Contains(e.Text, fmt.Sprintf("status of %d ", r.expectStatus)) {
			return // the log line about the page's own, expected status
		}
		if e.Level == log.EntryLevelError || e.Source == log.EntrySourceSecurity ||
			strings.Contains(e.Text, "Content Security Policy") {
			r.problems = append(r.problems, msg)
		} else if e.Level == log.EntryLevelWarning {
			r.notes = append(r.notes, msg)
		}
	case *audits.EventIssueAdded:
		if ev.Issue == nil {
			return
		}
		if ev.Issue.Code == audits.InspectorIssueCodeContentSecurityPolicyIssue {
			msg := "CSP issue"
			if d := ev.Issue.Details; d != nil && d.ContentSecurityPolicyIssueDetails != nil {
				c := d.ContentSecurityPolicyIssueDetails
				msg = fmt.Sprintf("CSP issue: %s violated (%s) by %q", c.ViolatedDirective, c.ContentSecurityPolicyViolationType, c.BlockedURL)
			}
			r.problems = append(r.problems, msg)
		} else {
			note := "DevTools issue: " + string(ev.Issue.Code)
			if d := ev.Issue.Details; d != nil && d.GenericIssueDetails != nil {
				g := d.GenericIssueDetails
				note += fmt.Sprintf(" (%s", g.ErrorType)
				if g.ViolatingNodeAttribute != "" {
					note += ", attribute " + g.ViolatingNodeAttribute
				}
				if g.Request != nil && g.Request.RequestID != "" {
					note += ", request " + string(g.Request.RequestID)
				}
				note += ")"
			}
			r.notes = append(r.notes, note)
		}
	}
}

// takeProblems returns the problems recorded since the last call.
func (r *recorder) takeProblems() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.problems
	r.problems = nil
	return p
}

// takeNotes returns the warnings recorded since the last call.
func (r *recorder) takeNotes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.notes
	r.notes = nil
	return n
}

// redirectsSeen returns the redirects recorded so far.
func (r *recorder) redirectsSeen() []redirect {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]redirect(nil), r.redirects...)
}
