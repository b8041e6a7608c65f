#!/bin/sh
# Prints the path of a Temporal CLI, building it from Go modules the first time when none
# is on PATH. The version is pinned in package.json ("config.temporalCli"); the build is
# cached under ${BULWARK_CACHE_DIR:-~/.cache/bulwark}, so later runs reuse it.
set -eu
cd "$(dirname "$0")/.."
version="${npm_package_config_temporalCli:-$(node -p "require('./package.json').config.temporalCli")}"

if [ -n "${TEMPORAL_CLI:-}" ]; then echo "$TEMPORAL_CLI"; exit 0; fi
if command -v temporal >/dev/null 2>&1; then command -v temporal; exit 0; fi

cache="${BULWARK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bulwark}/bin/temporal-$version"
if [ -x "$cache/temporal" ]; then echo "$cache/temporal"; exit 0; fi

go_bin="$(command -v go 2>/dev/null || true)"
[ -n "$go_bin" ] || { [ -x /usr/local/go/bin/go ] && go_bin=/usr/local/go/bin/go; } || true
if [ -z "$go_bin" ]; then
  cat >&2 <<MSG
error: no Temporal CLI found, and Go is not installed to build one.
  Do one of:
  - install Go >= 1.25 (then run this again: it builds temporal $version from Go modules), or
  - put a 'temporal' binary (Temporal CLI $version) on PATH, or set TEMPORAL_CLI=/path/to/temporal, or
  - set TEMPORAL_ADDRESS=host:7233 to use an existing Temporal server.
MSG
  exit 1
fi

echo "setup: building Temporal CLI $version from Go modules into $cache (once; several minutes on 2 cores)..." >&2
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.build.XXXXXX")"
if ! GOBIN="$tmp" GOFLAGS=-trimpath "$go_bin" install "github.com/temporalio/cli/cmd/temporal@$version" >&2; then
  rm -rf "$tmp"
  echo "error: building the Temporal CLI failed (needs Go >= 1.25 and the Go module proxy)" >&2
  exit 1
fi
mv "$tmp/temporal" "$cache/temporal"
rm -rf "$tmp"
echo "setup: Temporal CLI ready at $cache/temporal" >&2
echo "$cache/temporal"
