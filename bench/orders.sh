#!/usr/bin/env bash
# Order throughput of the embedded stack: POST /orders through the gateway with valid tokens,
# payments decline rate 0, 32 connections; plus the time from each 201 to the notification on
# an open SSE stream (measured during the load), and the resident memory of the whole process.
# Baseline in the same run: the gateway's GET /products (a read through the same path).
# Usage: bench/orders.sh [duration_secs]   (writes bench/results/orders.md)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need oha "cargo install oha --locked"
DURATION=${1:-20}
build
export MICROSHOP_PAYMENTS_DECLINE_RATE=0
start_stack
PID=${PIDS[-1]}
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$PID/status"; }
RSS_START=$(rss)
order_load "$DURATION"
sleep 1
RSS_END=$(rss)
cat >"$BENCH_DIR/results/orders.md" <<MD
# Order benchmark (embedded mode)

Command: \`bench/orders.sh $DURATION\` (oha + bench/sse_latency.py), $(date -u +%F), commit $(git -C "$ROOT" rev-parse --short HEAD), 2-core machine, release build; load generator and stack share the cores.

| measurement | req/s | p50 ms | p99 ms | statuses |
|---|---|---|---|---|
| baseline: GET /products through the gateway, 32 connections | $rrps | $r50 | $r99 | $rcodes |
| POST /orders through the gateway, 32 connections, decline rate 0 | $orps | $o50 | $o99 | $ocodes |

Order → notification on an open SSE stream (100 orders placed one by one during the load; time
from the 201 to the \`order.paid\` notification): p50 $s50 ms, p99 $s99 ms, max $smax ms ($scount delivered, $smissing).

Resident memory of the whole stack (one process): $RSS_START MB after start, $RSS_END MB after the run.

Budgets: ≥ 500 orders/s: **$orps orders/s** ($(python3 -c "print('met' if $orps >= 500 else 'NOT met')")); SSE p99 ≤ 100 ms: **$s99 ms** ($(python3 -c "print('met' if float('$s99') <= 100 else 'NOT met')")); RSS after start ≤ 80 MB: **$RSS_START MB** ($(python3 -c "print('met' if $RSS_START <= 80 else 'NOT met')")). Orders per second relative to the read baseline: $(python3 -c "print(f'{$orps/$rrps:.2f}')").
MD
cat "$BENCH_DIR/results/orders.md"
