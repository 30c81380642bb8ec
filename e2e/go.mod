module bitbucket-client-credentials-sample/e2e

go 1.26.0

require (
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
)

require github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect

require bitbucket-client-credentials-sample v0.0.0

// The app's module, from this repository: the test reads the app's
// "Serving on" line with its internal/serving package.
replace bitbucket-client-credentials-sample => ../
