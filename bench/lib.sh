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
  (cd "$ROOT" && cargo build --release --locked -q -p microshop)
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
