module bitbucket-client-credentials-sample/bench

go 1.26.0

require bitbucket-client-credentials-sample v0.0.0

require golang.org/x/oauth2 v0.38.0 // indirect

// The app's module, from this repository: the load tool and the benchmarks
// use its stand-in for Bitbucket (internal/standin), which Go's internal
// rule allows because this module's path starts with the app's.
replace bitbucket-client-credentials-sample => ../
