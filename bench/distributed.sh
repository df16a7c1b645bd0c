#!/usr/bin/env bash
# Order throughput of the distributed mode: scripts/distributed.sh (release build) runs one
# process per service on PostgreSQL, Kafka (any broker at MICROSHOP_KAFKA_BROKERS, default
# 127.0.0.1:9092: start tansu or Kafka first) and Redis, with two orders and two notifier
# instances behind the gateway. Same load as bench/orders.sh: POST /orders through the gateway,
# 32 connections, decline rate 0; the time from each 201 to its notification on an open SSE
# stream during the load; baseline in the same run: GET /products through the same gateway.
# Usage: bench/distributed.sh [duration_secs]   (writes bench/results/distributed.md)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need oha "cargo install oha --locked"
DURATION=${1:-20}
build
RUN="bench$(date +%s)"
export PROFILE=release DB_PREFIX="$RUN" MICROSHOP_KAFKA_NAMESPACE="$RUN." DATA_DIR="$WORK/data"
export BASE_PORT=$((20000 + RANDOM % 20000)) MICROSHOP_PAYMENTS_DECLINE_RATE=0 MICROSHOP_LOG=warn
# One client drives the load: the limiter stays in the path (its cost is measured) but never refuses.
export MICROSHOP_GATEWAY_RATE_LIMIT_PER_IP=1000000 MICROSHOP_GATEWAY_RATE_LIMIT_PER_USER=1000000
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
drop_databases() {
  for service in auth users orders products payments notifier cars agenda hits; do
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS ${RUN}_$service WITH (FORCE)" >/dev/null 2>&1 || true
  done
}
trap 'cleanup; drop_databases' EXIT
"$ROOT/scripts/distributed.sh" >"$WORK/stack.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 600); do grep -q "(distributed) is up" "$WORK/stack.log" && break; sleep 0.1; done
grep -q "(distributed) is up" "$WORK/stack.log" || { cat "$WORK/stack.log"; exit 1; }
GATEWAY_PORT=$BASE_PORT
ADMIN_PASSWORD=$(cat "$WORK/data/admin-password")
order_load "$DURATION"
cat >"$BENCH_DIR/results/distributed.md" <<MD
# Order benchmark (distributed mode)

Command: \`bench/distributed.sh $DURATION\` (oha + bench/sse_latency.py), $(date -u +%F), commit $(git -C "$ROOT" rev-parse --short HEAD), 2-core machine, release build. One process per service (two orders, two notifier instances) on PostgreSQL 15, Kafka protocol through tansu (in memory), Redis; the load generator, the broker, PostgreSQL and all twelve processes share the two cores.

| measurement | req/s | p50 ms | p99 ms | statuses |
|---|---|---|---|---|
| baseline: GET /products through the gateway, 32 connections | $rrps | $r50 | $r99 | $rcodes |
| POST /orders through the gateway, 32 connections, decline rate 0 | $orps | $o50 | $o99 | $ocodes |

Order → notification on an open SSE stream (100 orders placed one by one during the load; time
from the 201 to the \`order.paid\` notification, through the outbox, Kafka, a notifier instance
and PostgreSQL's NOTIFY to the instance holding the stream): p50 $s50 ms, p99 $s99 ms, max $smax ms ($scount delivered, $smissing).

Budgets: ≥ 300 orders/s: **$orps orders/s** ($(python3 -c "print('met' if $orps >= 300 else 'NOT met')")); notification p99 ≤ 500 ms: **$s99 ms** ($(python3 -c "print('met' if float('$s99') <= 500 else 'NOT met')")). Orders per second relative to the read baseline: $(python3 -c "print(f'{$orps/$rrps:.2f}')").
MD
cat "$BENCH_DIR/results/distributed.md"
