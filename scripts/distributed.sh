#!/usr/bin/env bash
# Runs microshop in distributed mode on this machine: one process per service, each service on
# its own PostgreSQL database, events through Kafka, the gateway's rate limits and the hit
# counter in Redis, and two instances of orders and of notifier behind the gateway. Ctrl-C (or
# SIGTERM) stops every process it started.
#
#   scripts/distributed.sh            # debug build
#   PROFILE=release scripts/distributed.sh
#
# Backends (defaults are the local servers):
#   PG_URL=postgres://postgres@127.0.0.1:5432   server where the databases $DB_PREFIX_<service>
#                                               (DB_PREFIX=microshop) are created when missing
#   PG_OPTIONS=sslmode=require                  connection options the services add to their
#                                               database URLs (default: sslmode=disable for a
#                                               server on this machine, none otherwise)
#   MICROSHOP_KAFKA_BROKERS=127.0.0.1:9092      any Kafka (or Kafka-compatible broker: tansu)
#   MICROSHOP_REDIS_URL=redis://127.0.0.1:6379
# Ports: gateway 8000, auth 8001, users 8002, orders 8003 and 8013, products 8004, payments 8005,
# notifier 8006 and 8016, cars 8007, agenda 8008, hits 8009 (BASE_PORT=9000 moves them all).
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE="${PROFILE:-debug}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
# A server on this machine is reached without TLS, as the compose deployment reaches its own:
# encryption over loopback protects nothing, and costs PostgreSQL and every service CPU on
# each statement (a tenth of the order benchmark's throughput on two cores). PG_OPTIONS=""
# leaves it to the driver (TLS when the server offers it).
pg_host=${PG_URL#*://}
pg_host=${pg_host#*@}
case "$pg_host" in
  \[*) pg_host="${pg_host%%]*}]" ;;
  *) pg_host=${pg_host%%[:/?]*} ;;
esac
case "$pg_host" in
  127.0.0.1 | localhost | "[::1]") PG_OPTIONS="${PG_OPTIONS-sslmode=disable}" ;;
  *) PG_OPTIONS="${PG_OPTIONS-}" ;;
esac
export MICROSHOP_KAFKA_BROKERS="${MICROSHOP_KAFKA_BROKERS:-127.0.0.1:9092}"
export MICROSHOP_REDIS_URL="${MICROSHOP_REDIS_URL:-redis://127.0.0.1:6379}"
export MICROSHOP_KAFKA_NAMESPACE="${MICROSHOP_KAFKA_NAMESPACE:-}"
BASE_PORT="${BASE_PORT:-8000}"
DATA_DIR="${DATA_DIR:-data/distributed}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/microshop-target}"

if [ "$PROFILE" = release ]; then
  cargo build --release -p microshop --locked --features kafka,otlp
else
  cargo build -p microshop --locked --features kafka,otlp
fi
BIN="$CARGO_TARGET_DIR/$PROFILE/microshop"

# One secret for the whole deployment, kept across runs so restarts of single services work.
mkdir -p "$DATA_DIR"
if [ ! -s "$DATA_DIR/internal-token" ]; then
  (umask 077; head -c 32 /dev/urandom | base64 | tr -d '\n=' > "$DATA_DIR/internal-token")
fi
export MICROSHOP_INTERNAL_TOKEN="$(cat "$DATA_DIR/internal-token")"
# The admin account's password (auth refuses a first distributed start without one).
if [ ! -s "$DATA_DIR/admin-password" ]; then
  (umask 077; head -c 18 /dev/urandom | base64 | tr -d '\n=/+' > "$DATA_DIR/admin-password")
fi
export MICROSHOP_AUTH_ADMIN_PASSWORD="${MICROSHOP_AUTH_ADMIN_PASSWORD:-$(cat "$DATA_DIR/admin-password")}"
export MICROSHOP_DATA_DIR="$DATA_DIR"

port() { echo $((BASE_PORT + $1)); }
url() { echo "http://127.0.0.1:$(port "$1")"; }
export MICROSHOP_AUTH_URL="$(url 1)" MICROSHOP_USERS_URL="$(url 2)" MICROSHOP_ORDERS_URL="$(url 3)"
export MICROSHOP_PRODUCTS_URL="$(url 4)" MICROSHOP_PAYMENTS_URL="$(url 5)" MICROSHOP_NOTIFIER_URL="$(url 6)"

for service in auth users orders products payments notifier cars agenda hits; do
  database="${DB_PREFIX:-microshop}_$service"
  if ! psql "$PG_URL/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
    psql "$PG_URL/postgres" -qc "CREATE DATABASE $database"
  fi
  upper=$(echo "$service" | tr a-z A-Z)
  export "MICROSHOP_${upper}_DATABASE_URL=$PG_URL/$database${PG_OPTIONS:+?$PG_OPTIONS}"
done

pids=()
stop() {
  trap - INT TERM EXIT
  echo "stopping ${#pids[@]} processes"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

start() { # start <service> <port offset> [flags...]
  local service=$1 offset=$2
  shift 2
  "$BIN" serve "$service" "--$service-port" "$(port "$offset")" "$@" &
  pids+=($!)
}

start auth 1
# Every service fetches auth's keys at start; let it come up first.
for _ in $(seq 1 50); do curl -sf "$(url 1)/health/ready" >/dev/null && break; sleep 0.2; done
start users 2
start products 4
start payments 5
start orders 3
start orders 13
start notifier 6
start notifier 16
start cars 7
start agenda 8
start hits 9
export MICROSHOP_GATEWAY_UPSTREAMS="auth=$(url 1);users=$(url 2);orders=$(url 3),$(url 13);products=$(url 4);payments=$(url 5);notifier=$(url 6),$(url 16);cars=$(url 7);agenda=$(url 8);hits=$(url 9)"
start gateway 0

for offset in 0 1 2 3 13 4 5 6 16 7 8 9; do
  for _ in $(seq 1 100); do curl -sf "$(url "$offset")/health/ready" >/dev/null && break; sleep 0.2; done
done
echo "microshop (distributed) is up: gateway $(url 0), admin password in $DATA_DIR/admin-password"
wait -n "${pids[@]}" || true
echo "a process exited; stopping the others"
