// Package e2e is the end-to-end browser test of the sample app. It lives in a
// module of its own, so that chromedp never becomes a dependency of the app.
//
// The test builds the app, starts it in demo mode, and drives headless
// Chromium through the flow: the landing page, Authorize, the results page,
// the next page of repositories, and another workspace, at 1280 and 375 CSS
// pixels wide. It checks what each page shows, that the browser reports no
// console error, no CSP violation and no failed request, and that no page
// scrolls sideways. It saves full-page screenshots in screenshots/.
//
// Run it with `make e2e`, or with `go test -count=1 -v ./...` from this
// folder. Without Chromium (Debian: apt-get install chromium) the test skips,
// unless the variable CI is set: then it fails. E2E_CHROMIUM names another
// browser binary.
package e2e
