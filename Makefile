# The two commands a newcomer needs: `make run` and `make test`.
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
BENCH_COUNT ?= 3
LOAD_FLAGS ?=
COMPARE_FLAGS ?=

.PHONY: run standin test lint bench load compare e2e

## run: serve the app on http://localhost:3000 (demo mode without credentials)
run:
	@echo "Downloading modules (first run only, about a minute)..."
	@$(GO) mod download
	@echo "Compiling and starting the app (the first build takes a little while)..."
	$(GO) run .

## standin: serve the Bitbucket stand-in alone on http://127.0.0.1:3001 (STANDIN_PORT sets another port) and print four export lines that point the app, curl or any client at it; Ctrl+C stops it
# Built to a temporary directory and run from there, rather than with go run,
# so that its exit status (2 for a bad STANDIN_PORT) and its one-line errors
# reach the caller unchanged.
standin:
	@dir="$$(mktemp -d)" && trap 'rm -rf "$$dir"' EXIT INT TERM && \
	$(GO) build -o "$$dir/standin" ./internal/standin/cmd/standin && "$$dir/standin"

## test: go vet, a gofmt check, and the tests of the app's module and of bench/ (with the race detector where cgo and a C compiler are available)
# -race needs cgo, and cgo needs a C compiler. Without them Go's message
# ("-race requires cgo; enable cgo by setting CGO_ENABLED=1") points the wrong
# way, so the tests then run without -race (and with CGO_ENABLED=0, which the
# app does not need) and say so in one line.
test:
	@echo "Downloading modules (first run only, about a minute)..."
	@$(GO) mod download
	@set -- $$($(GO) env CC); race=-race; \
	if [ "$$($(GO) env CGO_ENABLED)" != 1 ]; then \
		race=; echo "race detector skipped: cgo is off (CGO_ENABLED=0); -race needs cgo and a C compiler"; \
	elif ! command -v "$${1:-cc}" >/dev/null 2>&1; then \
		race=; export CGO_ENABLED=0; echo "race detector skipped: no C compiler ($${1:-cc}, from go env CC) on PATH; -race needs one"; \
	fi; \
	echo "Running go vet (compiles every package: the first run takes a minute)..."; \
	echo "$(GO) vet ./..." && $(GO) vet ./... && \
	unformatted="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" && \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi && \
	echo "Running the tests (about a minute)..." && \
	echo "$(GO) test $${race:+$$race }./..." && $(GO) test $$race ./... && \
	echo "The bench/ module's own tests (its tools: compare, floor, the load tool):" && \
	echo "cd bench && $(GO) vet ./... && $(GO) test $${race:+$$race }./..." && \
	cd bench && $(GO) vet ./... && $(GO) test $$race ./...

## lint: staticcheck on the app's module, bench/ and e2e/, fetched through the Go module proxy (not a dependency of any)
lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	cd bench && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	cd e2e && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## bench: from the bench/ module, the built app's page latency against the floor of Bitbucket round trips (stand-in at 50 ms a request), and its start-up; about 20 s a count
bench:
	cd bench && $(GO) test -run '^$$' -bench . -benchtime 40x -count $(BENCH_COUNT) .

## load: from the bench/ module, the built app as its own process under concurrent page loads, then 10,000 mixed requests: p50/p99, token requests, new upstream connections, resident set
load:
	cd bench && $(GO) run ./cmd/loadtest $(LOAD_FLAGS)

## compare: the app against a Node/Express replica of the original sample and a bare Go floor (bench/cmd/floor: the same API calls, nothing else), all against one stand-in at 20 ms a request: CPU µs per request by route (wrk -t2 -c32 -d5s each), requests/s, errors, and the Bitbucket bytes a results page reads, as Markdown tables (installs wrk with apt-get when missing, the replica's express with npm ci in a temporary copy; COMPARE_FLAGS passes flags such as -d 10s)
compare:
	@GO=$(GO) bench/compare.sh $(COMPARE_FLAGS)

## e2e: the browser test: headless Chromium against the app, every page at 1280 and 375 px, with an axe-core audit (installs chromium with apt-get when missing, axe-core with npm ci)
e2e:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	command -v npm >/dev/null || (apt-get update && apt-get install -y npm)
	cd e2e && npm ci --ignore-scripts --no-audit --no-fund
	cd e2e && $(GO) test -count=1 -v ./...
