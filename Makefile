# The two commands a newcomer needs: `make run` and `make test`.
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
BENCH_COUNT ?= 3
LOAD_FLAGS ?=

.PHONY: run test lint bench load e2e

## run: serve the app on http://localhost:3000 (demo mode without credentials)
run:
	$(GO) run .

## test: go vet, a gofmt check, and the tests with the race detector
test:
	$(GO) vet ./...
	@unformatted="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) test -race ./...

## lint: staticcheck, fetched through the Go module proxy (not a dependency of the app)
lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## bench: from the bench/ module, the built app's page latency against the floor of Bitbucket round trips (stand-in at 50 ms a request), and its start-up; about 20 s a count
bench:
	cd bench && $(GO) test -run '^$$' -bench . -benchtime 40x -count $(BENCH_COUNT) .

## load: from the bench/ module, the built app as its own process under concurrent page loads, then 10,000 mixed requests: p50/p99, token requests, new upstream connections, resident set
load:
	cd bench && $(GO) run ./cmd/loadtest $(LOAD_FLAGS)

## e2e: the browser test: headless Chromium against the app, every page at 1280 and 375 px, with an axe-core audit (installs chromium with apt-get when missing, axe-core with npm ci)
e2e:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	command -v npm >/dev/null || (apt-get update && apt-get install -y npm)
	cd e2e && npm ci --ignore-scripts --no-audit --no-fund
	cd e2e && $(GO) test -count=1 -v ./...
