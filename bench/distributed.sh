#!/usr/bin/env bash
# Order throughput of the distributed mode: scripts/distributed.sh (release build) runs one
# process per service on PostgreSQL, Kafka (any broker at MICROSHOP_KAFKA_BROKERS, default
# 127.0.0.1:9092: start tansu or Kafka first) and Redis, with two orders and two notifier
# instances behind the gateway. Same load as bench/orders.sh: POST /orders through the gateway,
# 32 connections, decline rate 0; the time from each 201 to its notification on an open SSE
# stream during the load; baseline in the same run: GET /products through the same gateway.
# Usage: bench/distributed.sh [duration_secs]   (writes bench/results/distributed.md)
#        KEEP_DATABASES=1 bench/distributed.sh ...   (keeps the run's databases to inspect)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need oha "cargo install oha --locked"
DURATION=${1:-20}
build --features kafka,otlp
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
# KEEP_DATABASES=1 leaves the run's databases (named ${RUN}_<service>) for inspection.
if [ "${KEEP_DATABASES:-0}" = 1 ]; then
  trap 'cleanup; echo "databases kept: ${RUN}_<service>"' EXIT
else
  trap 'cleanup; drop_databases' EXIT
fi
"$ROOT/scripts/distributed.sh" >"$WORK/stack.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 600); do grep -q "(distributed) is up" "$WORK/stack.log" && break; sleep 0.1; done
grep -q "(distributed) is up" "$WORK/stack.log" || { cat "$WORK/stack.log"; exit 1; }
GATEWAY_PORT=$BASE_PORT
ADMIN_PASSWORD=$(cat "$WORK/data/admin-password")
# CPU time of every process of the stack around the POST /orders load.
orders_load_started() {
  python3 "$BENCH_DIR/cpu_snapshot.py" take "$RUN" "$BASE_PORT" "$WORK/cpu-before.json"
  load_started=$(date +%s.%N)
}
orders_load_finished() {
  load_seconds=$(python3 -c "import time; print(time.time() - $load_started)")
  python3 "$BENCH_DIR/cpu_snapshot.py" take "$RUN" "$BASE_PORT" "$WORK/cpu-after.json"
}
order_load "$DURATION"
orders_total=$(python3 -c "import sys; print(sum(int(c.split('x')[1]) for c in sys.argv[1].split(',') if 'x' in c))" "$ocodes")
cpu_table=$(python3 "$BENCH_DIR/cpu_snapshot.py" report "$WORK/cpu-before.json" "$WORK/cpu-after.json" "$load_seconds" "$orders_total")
read -r relay50 relay99 consume50 consume99 pipeline_events < <(python3 "$BENCH_DIR/pipeline_latency.py" "$PG_URL" "$RUN")
cat >"$BENCH_DIR/results/distributed.md" <<MD
# Order benchmark (distributed mode)

Command: \`bench/distributed.sh $DURATION\` (oha + bench/sse_latency.py), $(date -u +%F), commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- . ":(exclude)bench/results" 2>/dev/null || echo " with uncommitted changes"), 2-core machine, release build. One process per service (two orders, two notifier instances) on PostgreSQL 15 (database connection options: ${PG_OPTIONS-sslmode=disable, the default of scripts/distributed.sh for a server on this machine}), Kafka protocol through tansu (in memory), Redis; the load generator, the broker, PostgreSQL and all twelve processes share the two cores.

| measurement | req/s | p50 ms | p99 ms | statuses |
|---|---|---|---|---|
| baseline: GET /products through the gateway, 32 connections | $rrps | $r50 | $r99 | $rcodes |
| POST /orders through the gateway, 32 connections, decline rate 0 | $orps | $o50 | $o99 | $ocodes |

Order → notification on an open SSE stream (100 orders placed one by one during the load; time
from the 201 to the \`order.paid\` notification, through the outbox, Kafka, a notifier instance
and PostgreSQL's NOTIFY to the instance holding the stream): p50 $s50 ms, p99 $s99 ms, max $smax ms ($scount delivered, $smissing).

Where the notification time goes (from the databases, over the events the outbox still keeps:
$pipeline_events): committed with the order → published to Kafka and acknowledged (the outbox
relay) p50 $relay50 ms, p99 $relay99 ms; published → notification stored by a notifier
(consumer fetch, handler, one transaction per batch) p50 $consume50 ms, p99 $consume99 ms. The
rest is PostgreSQL's NOTIFY to the instance holding the stream, and the stream itself.

Where the CPU goes during the POST /orders load ($orders_total requests in $(printf %.1f "$load_seconds") s; the Kafka
broker and Redis may also serve other clients of the machine):

$cpu_table

Budgets: ≥ 300 orders/s: **$orps orders/s** ($(python3 -c "print('met' if $orps >= 300 else 'NOT met')")); notification p99 ≤ 500 ms: **$s99 ms** ($(python3 -c "print('met' if float('$s99') <= 500 else 'NOT met')")). Orders per second relative to the read baseline: $(python3 -c "print(f'{$orps/$rrps:.2f}')").
MD
cat "$BENCH_DIR/results/distributed.md"
