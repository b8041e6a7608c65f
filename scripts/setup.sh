#!/bin/sh
# Installs what Bulwark needs on a fresh clone, once: npm packages, then the Temporal CLI
# (unless TEMPORAL_ADDRESS points at a cluster), and with --lab the BGP lab's Debian packages.
# Runs before `npm start` and `npm test`.
# Progress goes to stderr so commands whose stdout is data (the admin CLI) stay clean.
set -eu
cd "$(dirname "$0")/.."
quiet=0
temporal=1
lab=0
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=1 ;;
    --no-temporal) temporal=0 ;;
    --lab) lab=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
say() { [ "$quiet" = 1 ] || echo "setup: $*" >&2; }

# npm writes node_modules/.package-lock.json on every install: older than the lock file
# means the dependencies changed since.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  # Not `npm ci`: registries that serve only this platform's native builds (rollup, swc)
  # leave the other platforms' optional packages out of the lock file, and `npm ci`
  # rejects such a lock as out of sync. `npm install --no-save` still installs exactly the
  # locked versions and never rewrites the lock file.
  npm install --no-save --no-audit --no-fund --loglevel=error >&2
fi

if [ "$temporal" = 1 ] && [ -z "${TEMPORAL_ADDRESS:-}" ]; then
  sh scripts/ensure-temporal.sh >/dev/null
fi

# The tests run real BGP speakers (ExaBGP, GoBGP) in a network namespace.
if [ "$lab" = 1 ]; then
  sh scripts/ensure-lab-packages.sh
fi
