// Package e2e is the end-to-end browser test of the sample app. It lives in a
// module of its own, so that chromedp never becomes a dependency of the app.
//
// TestPages builds the app and starts it twice: in demo mode, and in
// Bitbucket mode against a Bitbucket that refuses connections. It drives
// headless Chromium, at 1280 and at 375 CSS pixels wide (a phone), through
// every page: the landing page; the results page (first page, next page of
// repositories, another workspace); /scopes with the token the flow got
// (what the token reaches, a search typed into its form, a search for a
// path, the longest query, and the 400 page of a longer one); the 400 page
// (bad query input), the 404 page and the 405 page (a POST, made by pausing
// the navigation with the Fetch domain and continuing it as a POST); and the
// results page of a failed token request (HTTP 502, a failure box). On every
// page it checks:
//
//   - what the page shows, and its HTTP status;
//   - no console error, no CSP violation (browser log, DevTools issues and a
//     securitypolicyviolation listener) and no failed request;
//   - an axe-core audit (WCAG 2.0 to 2.2, A and AA, and best practices) with
//     no finding of serious or critical impact;
//   - the focus ring of every element that Tab reaches: at least 2 px, and
//     3:1 or more against the colors on either side of it;
//   - that nothing outside a code block (pre) lies past the right edge, and
//     nothing but a code block scrolls sideways; a code block that scrolls
//     can be reached with Tab.
//
// On the results page it also clicks a copy button, and presses Enter on
// another, and reads the clipboard. A second check resizes the landing,
// results and failed-token pages through widths from 320 to 1024 px; a
// third breaks the CSP on purpose, to show that the CSP checks can fail. It
// saves a full-page screenshot of every page at both widths in
// screenshots/ (git-ignored), and one of a copy button after the copy.
//
// TestCrossSite checks that other websites cannot make the app call
// Bitbucket (issue 16). It runs the app twice in Bitbucket mode, each
// against a stand-in for Bitbucket (internal/standin, served with httptest)
// that counts the calls it gets, and plays the other website with an
// httptest server on another port:
//
//   - speculation rules on a page of another port (the same site) and of
//     another site ask Chromium to prefetch, and to prerender, the results
//     page at once, with no click. Chromium 156 does, with no flag, sending
//     Sec-Purpose: prefetch (or prefetch;prerender) and Sec-Fetch-Site: none.
//     The test waits for the app's refusal in its log, fails if no such
//     request comes, and checks that Bitbucket got no call. The page opens
//     in a tab that DevTools does not attach to: Chromium turns prerendering
//     off in tabs that chromedp attaches to (PrerenderingDisabledByDevTools);
//   - a click on another port's button opens the results page in a window,
//     and the page's script navigates that window 20 times more: at most one
//     page's worth of calls (the first navigation has the click's
//     activation), the window ends on the confirmation page, checked like
//     every page at both widths, and a click on its button runs the flow;
//   - with the app served as http://app.test (Chromium maps the name to
//     127.0.0.1 with --host-resolver-rules, and sends no Fetch Metadata to
//     a plain-http name that is not loopback), an <img>, a <script> and an
//     <iframe> on http://other.test load the results page and call nothing,
//     before and after a person's visit, and so does a script's navigation
//     to it; the person's click on Authorize runs the flow; the origin
//     cookie is SameSite=Strict and HttpOnly; http://0.0.0.0:port/ gets 421.
//
// axe-core comes from npm: package.json and package-lock.json pin it, and
// `npm ci` in this folder installs it in node_modules/ (git-ignored). The
// test reads node_modules/axe-core/axe.min.js and evaluates it in each page
// with Runtime.evaluate. The pages' Content-Security-Policy allows no
// inline script, but it governs the page's own scripts, not what DevTools
// evaluates, so the CSP stays as strict as it is (the CSP check shows that
// the injection raises no violation).
//
// Run it with `make e2e`, which installs Chromium (apt-get) and axe-core
// (npm ci) first, or with `go test -count=1 -v ./...` from this folder.
// Without Chromium or axe-core the tests skip, unless the variable CI is set:
// then it fails. E2E_CHROMIUM names another browser binary; E2E_AXE_REVIEW=1
// (with -v) lists, one a line, what axe-core left for a person to review.
package e2e
