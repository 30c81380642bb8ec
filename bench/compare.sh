#!/usr/bin/env bash
# compare.sh: the app against a Node/Express replica of the original sample
# and against a bare Go floor (bench/cmd/floor: the app's API calls and page
# sizes, nothing else), side by side, against the same stand-in for
# Bitbucket, on loopback; prints one Markdown table (CPU per request by
# route, requests/s, errors) and the Bitbucket bytes a results page reads.
# `make compare` runs it from the repository root; arguments go to the Go
# program (bench/cmd/compare), such as -d 10s -c 64 -latency 50ms; -h lists
# them.
#
# It needs wrk (installed with apt-get when missing), Go, node and npm. It
# copies the replica to a temporary directory and runs npm ci there, so the
# replica's directory stays untouched. The replica is EXPRESS_DIR if set,
# else ../shared/peers/express from the repository root (from the main
# checkout's root when this is a git worktree elsewhere).
#
# Everything it starts stops when it ends, also on Ctrl+C.
set -euo pipefail

die() { echo "compare.sh: $*" >&2; exit 1; }

bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)

# wrk, from Debian's packages.
if ! command -v wrk >/dev/null 2>&1; then
	echo "wrk is missing: installing it with apt-get" >&2
	sudo=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null 2>&1 || die "wrk is missing and this user cannot run apt-get: install it with apt-get install -y wrk"
		sudo=sudo
	fi
	{ $sudo apt-get update && $sudo apt-get install -y wrk; } >&2 || die "wrk is missing and apt-get install -y wrk failed"
	command -v wrk >/dev/null 2>&1 || die "wrk is still missing after apt-get install -y wrk"
fi
GO=${GO:-go}
for tool in "$GO" node npm; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is missing: install it (node and npm: apt-get install -y nodejs npm; Go 1.26: https://go.dev/dl/)"
done

# The replica.
express=${EXPRESS_DIR:-}
if [ -z "$express" ]; then
	express=$root/../shared/peers/express
	if [ ! -f "$express/app.js" ]; then
		# A git worktree lives apart from the main checkout, next to which
		# ../shared is.
		common=$(git -C "$root" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
		[ -n "$common" ] && express=$(dirname "$common")/../shared/peers/express
	fi
fi
[ -f "$express/app.js" ] && [ -f "$express/package-lock.json" ] ||
	die "no Express replica (app.js and package-lock.json) in $express: set EXPRESS_DIR to its directory"
express=$(cd "$express" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/compare.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
# On Ctrl+C or SIGTERM, pass SIGTERM on to the Go program, which stops
# the app, node, the floor, wrk and the stand-in, then exit.
trap 'trap - INT TERM; echo "compare.sh: interrupted, stopping" >&2; exit 130' INT TERM

echo "npm ci in a copy of $express" >&2
cp -R "$express" "$tmp/express"
chmod -R u+w "$tmp/express"
(cd "$tmp/express" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2) ||
	die "npm ci failed in the copy of $express"

echo "building bench/cmd/compare" >&2
(cd "$bench" && "$GO" build -o "$tmp/compare" ./cmd/compare) || die "go build ./cmd/compare failed"

cmdline=bench/compare.sh
[ $# -eq 0 ] || cmdline="$cmdline$(printf ' %q' "$@")"
# From bench/, so that the Go program finds the app's source above it and
# builds the floor from this module. In the background, so that the traps
# run as soon as a signal comes.
(cd "$bench" && exec "$tmp/compare" -express "$tmp/express" -express-from "$express" -cmdline "$cmdline" "$@") &
pid=$!
status=0
wait "$pid" || status=$?
pid=
exit "$status"
