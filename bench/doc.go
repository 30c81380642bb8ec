// Package bench measures the sample app from outside, as a process of its
// own. It lives in a module of its own, next to the app's, with the load
// tool (cmd/loadtest), their latency helper (internal/latency) and the
// side-by-side comparison with a Node/Express replica of the original
// sample and a bare Go floor (cmd/compare, run by compare.sh: make compare;
// the floor is cmd/floor, a server that makes the app's API calls and
// nothing else), so that the app's module holds only the sample and its
// tests.
//
// The benchmarks (bench_test.go) build the app from the repository root,
// start it in Bitbucket mode against the stand-in for Bitbucket
// (bitbucket-client-credentials-sample/internal/standin, reached through the
// replace directive in go.mod) answering after a fixed latency, and time
// page loads over HTTP. Run them with `make bench` from the repository root;
// plain `go test ./...` here runs only the helpers' tests. The figures
// measured on this project's machine are in ../docs/performance.md.
package bench
