#!/usr/bin/env bash
# Gateway overhead against nginx, same upstream, same run.
#   (a) auth's GET /auth/me directly
#   (b) the same route through the microshop gateway, which verifies the token first
#   (c) the same route through nginx as a plain reverse proxy with upstream keep-alive
# Then: p99 at a fixed moderate rate, so the added latency is not hidden by queueing.
# Usage: bench/gateway.sh [duration_secs]   (writes bench/results/gateway.md)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need oha "cargo install oha --locked"
need nginx "apt-get install nginx-light"
DURATION=${1:-15}
CONNECTIONS=50
build
start_stack
TOKEN=$(token benchuser "bench password 1")

NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx/logs"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream auth { server 127.0.0.1:$AUTH_PORT; keepalive 128; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://auth;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
CONF
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
sleep 0.5

run() { # name url extra-args...
  local name=$1 url=$2; shift 2
  oha --no-tui --output-format json -z "${DURATION}s" -c "$CONNECTIONS" "$@" -H "authorization: Bearer $TOKEN" "$url" >"$WORK/$name.json"
  echo "$name $(python3 "$BENCH_DIR/oha_summary.py" "$WORK/$name.json")" | tr ' ' '\t'
}

for url in "http://127.0.0.1:$AUTH_PORT/auth/me" "http://127.0.0.1:$GATEWAY_PORT/auth/me" "http://127.0.0.1:$NGINX_PORT/auth/me"; do
  oha --no-tui -n 2000 -c 10 -H "authorization: Bearer $TOKEN" "$url" >/dev/null # warm up
done

{
  echo "name	p50_ms	p99_ms	req/s	statuses"
  run a_direct "http://127.0.0.1:$AUTH_PORT/auth/me"
  run b_gateway "http://127.0.0.1:$GATEWAY_PORT/auth/me"
  run c_nginx "http://127.0.0.1:$NGINX_PORT/auth/me"
  # Added latency at a rate all three sustain easily (no queueing).
  run a_direct_at_2000rps "http://127.0.0.1:$AUTH_PORT/auth/me" -q 2000
  run b_gateway_at_2000rps "http://127.0.0.1:$GATEWAY_PORT/auth/me" -q 2000
  run c_nginx_at_2000rps "http://127.0.0.1:$NGINX_PORT/auth/me" -q 2000
} | tee "$WORK/table.tsv"

python3 - "$WORK/table.tsv" "$DURATION" "$CONNECTIONS" >"$BENCH_DIR/results/gateway.md" <<'PY'
import sys, datetime, subprocess
rows = {}
lines = open(sys.argv[1]).read().strip().splitlines()[1:]
for line in lines:
    name, p50, p99, rps, codes = line.split("\t")
    rows[name] = (float(rps), float(p50), float(p99), codes)
a, b, c = rows["a_direct"], rows["b_gateway"], rows["c_nginx"]
qa, qb, qc = rows["a_direct_at_2000rps"], rows["b_gateway_at_2000rps"], rows["c_nginx_at_2000rps"]
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print("# Gateway benchmark\n")
print(f"Command: `bench/gateway.sh {sys.argv[2]}` (oha, {sys.argv[3]} connections, {sys.argv[2]} s per run), "
      f"{datetime.date.today()}, commit {commit}, 2-core machine; load generator, proxies and upstream share the cores.\n")
print("Upstream: auth's `GET /auth/me` with a valid token. (a) direct, (b) microshop gateway "
      "(verifies the token, then proxies), (c) nginx reverse proxy with upstream keep-alive.\n")
print("| run | req/s | p50 ms | p99 ms | statuses |\n|---|---|---|---|---|")
for name in rows:
    r = rows[name]
    print(f"| {name} | {r[0]:.0f} | {r[1]:.3f} | {r[2]:.3f} | {r[3]} |")
ratio = b[0] / c[0]
added = qb[2] - qa[2]
print(f"\n**Throughput ratio gateway/nginx (b)/(c): {ratio:.2f}** (budget ≥ 0.70: {'met' if ratio >= 0.7 else 'NOT met'})\n")
print(f"**Gateway p99 added latency at 2000 req/s, 50 connections: {added:.3f} ms** "
      f"(p99 gateway {qb[2]:.3f} − direct {qa[2]:.3f}; nginx adds {qc[2]-qa[2]:.3f} ms; budget ≤ 1 ms: {'met' if added <= 1.0 else 'NOT met'})\n")
print(f"Saturated p99 added latency (50 connections, open loop): gateway {b[2]-a[2]:.3f} ms, nginx {c[2]-a[2]:.3f} ms.")
PY
cat "$BENCH_DIR/results/gateway.md"
