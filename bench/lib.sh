# Shared helpers for the benchmark scripts: build once, start the stack on free ports, clean up.
# Sourced, not run.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/microshop-target}"
BIN="$CARGO_TARGET_DIR/release/microshop"
WORK=$(mktemp -d)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

need() {
  command -v "$1" >/dev/null || { echo "missing tool: $1 ($2)" >&2; exit 1; }
}

build() {
  (cd "$ROOT" && cargo build --release --locked -q -p microshop "$@")
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

SERVICES="gateway auth users orders products payments notifier cars agenda hits"

# start_stack: runs `microshop up` with every service on a free port; sets GATEWAY_PORT,
# AUTH_PORT, ADMIN_PASSWORD.
start_stack() {
  for service in $SERVICES; do
    export "MICROSHOP_${service^^}_PORT=$(free_port)"
  done
  GATEWAY_PORT=$MICROSHOP_GATEWAY_PORT; AUTH_PORT=$MICROSHOP_AUTH_PORT
  # One address and one account drive far more than a shop's rate limits: keep the limiter on
  # the path (its cost is measured) but out of the way.
  export MICROSHOP_GATEWAY_RATE_LIMIT_PER_IP=1000000 MICROSHOP_GATEWAY_RATE_LIMIT_PER_USER=1000000
  MICROSHOP_LOG=warn MICROSHOP_DATA_DIR="$WORK/data" "$BIN" up >"$WORK/stack.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 200); do
    curl -sf "http://127.0.0.1:$GATEWAY_PORT/health" >/dev/null && break
    sleep 0.05
  done
  ADMIN_PASSWORD=$(cat "$WORK/data/admin-password")
}

# token USER PASSWORD: registers (ignoring "taken") and prints an access token.
token() {
  curl -s -X POST "http://127.0.0.1:$GATEWAY_PORT/auth/register" -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$2\"}" >/dev/null
  curl -s -X POST "http://127.0.0.1:$GATEWAY_PORT/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$2\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# order_load DURATION: the order benchmark's load against the gateway at $GATEWAY_PORT (needs
# $ADMIN_PASSWORD): a product with plenty of stock, a read baseline (GET /products, 32
# connections, 5 s), then POST /orders for DURATION seconds on 32 connections while
# sse_latency.py places 100 orders one by one and times each 201 → SSE notification. Sets
# r50 r99 rrps rcodes (reads), o50 o99 orps ocodes (orders), s50 s99 smax scount smissing (SSE).
order_load() {
  local duration=$1 g="http://127.0.0.1:$GATEWAY_PORT" admin product buyer watcher body sse
  admin=$(curl -s -X POST "$g/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  product=$(curl -s -X POST "$g/products" -H "authorization: Bearer $admin" -H 'content-type: application/json' \
    -d '{"name":"Benchmark widget","description":"plenty of stock","price_cents":1250,"stock":1000000}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  buyer=$(token benchbuyer "bench password 1")
  watcher=$(token ssewatcher "bench password 2")
  body="{\"items\":[{\"product_id\":$product,\"quantity\":1}],\"shipping_address\":\"1 rue du Banc\"}"
  oha --no-tui --output-format json -z 5s -c 32 "$g/products" -H "authorization: Bearer $buyer" >"$WORK/reads.json"
  oha --no-tui -n 200 -c 8 -m POST -H "authorization: Bearer $buyer" -H 'content-type: application/json' -d "$body" "$g/orders" >/dev/null # warm-up
  # A script may define orders_load_started / orders_load_finished to observe the load.
  if declare -F orders_load_started >/dev/null; then orders_load_started; fi
  oha --no-tui --output-format json -z "${duration}s" -c 32 -m POST -H "authorization: Bearer $buyer" \
    -H 'content-type: application/json' -d "$body" "$g/orders" >"$WORK/orders.json" &
  local load=$!
  sleep 3
  sse=$(python3 "$BENCH_DIR/sse_latency.py" "$g" "$watcher" "$product" 100)
  wait $load
  if declare -F orders_load_finished >/dev/null; then orders_load_finished; fi
  read -r r50 r99 rrps rcodes < <(python3 "$BENCH_DIR/oha_summary.py" "$WORK/reads.json")
  read -r o50 o99 orps ocodes < <(python3 "$BENCH_DIR/oha_summary.py" "$WORK/orders.json")
  read -r s50 s99 smax scount smissing <<<"$sse"
}
