#!/usr/bin/env bash
# Login storm: 20 clients logging in as fast as they can (argon2id on every request) while
# another client reads the gateway's /health/live at 200 req/s. Password hashing runs on a
# bounded blocking pool, so the async runtime — and /health/live — must not stall.
# Baseline: the same /health/live reader without the storm, in the same run.
# Usage: bench/login-storm.sh [duration_secs]   (writes bench/results/login-storm.md)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need oha "cargo install oha --locked"
DURATION=${1:-15}
build
start_stack
token stormuser "storm password 1" >/dev/null
LIVE="http://127.0.0.1:$GATEWAY_PORT/health/live"

p99() { python3 "$BENCH_DIR/oha_summary.py" "$1"; }

oha --no-tui --output-format json -z "${DURATION}s" -c 1 -q 200 "$LIVE" >"$WORK/quiet.json"
oha --no-tui --output-format json -z "$((DURATION + 2))s" -c 20 -m POST -H 'content-type: application/json' \
  -d '{"username":"stormuser","password":"storm password 1"}' \
  "http://127.0.0.1:$GATEWAY_PORT/auth/login" >"$WORK/storm.json" &
STORM=$!
sleep 1
oha --no-tui --output-format json -z "${DURATION}s" -c 1 -q 200 "$LIVE" >"$WORK/during.json"
wait $STORM

read -r q50 q99 _ _ < <(p99 "$WORK/quiet.json")
read -r d50 d99 _ _ < <(p99 "$WORK/during.json")
read -r l50 l99 lrps codes < <(p99 "$WORK/storm.json")
verdict=$(python3 -c "print('met' if $d99 < 5 else 'NOT met')")
cat >"$BENCH_DIR/results/login-storm.md" <<MD
# Login storm benchmark

Command: \`bench/login-storm.sh $DURATION\` (oha), $(date -u +%F), commit $(git -C "$ROOT" rev-parse --short HEAD), 2-core machine.

| measurement | p50 ms | p99 ms |
|---|---|---|
| gateway /health/live at 200 req/s, no storm (baseline) | $q50 | $q99 |
| gateway /health/live at 200 req/s, during the storm | $d50 | $d99 |
| the storm: POST /auth/login, 20 connections ($lrps logins/s, statuses $codes) | $l50 | $l99 |

**/health/live p99 during the storm: $d99 ms** (budget < 5 ms: $verdict; ratio to baseline $(python3 -c "print(f'{$d99/$q99:.2f}')")).
MD
cat "$BENCH_DIR/results/login-storm.md"
