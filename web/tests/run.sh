#!/usr/bin/env bash
# The browser tests of the web front-end, as CI runs them: Debian's Chromium (installed if
# missing), playwright-core from npm (installed when missing or when the lock file changed), the
# debug binary built from this checkout, then node's test runner. Exits non-zero on any failure;
# the tests stop every process they start, failed or not.
#
# `bash web/tests/run.sh screenshots` runs web/tests/screenshots.js instead, which retakes the
# README's screenshots (docs/screenshots/) on a stack holding demo data.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/microshop-target}"

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

cd "$here"
stamp=node_modules/.package-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "== npm ci (web/tests)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

# With the features CI tests with, so CI reuses what its test run compiled.
echo "== cargo build -p microshop --all-features"
(cd "$root" && cargo build -p microshop --locked --all-features)

export MICROSHOP_BINARY="$CARGO_TARGET_DIR/debug/microshop"
# Ignore the downloads playwright would offer: the browser is Debian's.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ "${1:-}" = screenshots ]; then
  echo "== screenshots (docs/screenshots)"
  exec node "$here/screenshots.js"
fi
echo "== browser tests"
node --test --test-concurrency=1 --test-timeout=300000 "$here"/*.test.js
