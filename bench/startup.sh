#!/usr/bin/env bash
# Start-up time of `microshop up` (release): from exec to every service's /health/ready
# answering 200. First start (fresh data folder: keys and admin account are created) and
# restart (existing data). Baseline: starting `true`, timed the same way, in the same run.
# Usage: bench/startup.sh [runs]   (writes bench/results/startup.md)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RUNS=${1:-10}
build
PORTS=""
for service in $SERVICES; do
  port=$(free_port); export "MICROSHOP_${service^^}_PORT=$port"; PORTS="$PORTS $port"
done

python3 - "$BIN" "$WORK" "$RUNS" $PORTS >"$WORK/startup.tsv" <<'PY'
import os, subprocess, sys, time, urllib.request, shutil, statistics
bin_, work, runs, ports = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
urls = [f"http://127.0.0.1:{p}/health/ready" for p in ports]
def ready(url):
    try:
        return urllib.request.urlopen(url, timeout=0.2).status == 200
    except Exception:
        return False
def once(fresh):
    data = os.path.join(work, "data")
    if fresh and os.path.exists(data):
        shutil.rmtree(data)
    env = dict(os.environ, MICROSHOP_DATA_DIR=data, MICROSHOP_LOG="warn")
    start = time.perf_counter()
    p = subprocess.Popen([bin_, "up"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pending = list(urls)
    while pending:
        pending = [u for u in pending if not ready(u)]
        if pending:
            time.sleep(0.002)
        if time.perf_counter() - start > 10:
            raise SystemExit("not ready in 10 s")
    elapsed = time.perf_counter() - start
    p.terminate(); p.wait()
    return elapsed
def baseline():
    start = time.perf_counter(); subprocess.run(["true"]); return time.perf_counter() - start
rows = {"true (baseline)": [baseline() for _ in range(runs)],
        "first start (fresh data)": [once(True) for _ in range(runs)],
        "restart (existing data)": [once(False) for _ in range(runs)]}
for name, xs in rows.items():
    print(f"{name}\t{statistics.median(xs)*1000:.1f}\t{max(xs)*1000:.1f}")
PY
worst=$(awk -F'\t' 'NR>1 {print $3}' "$WORK/startup.tsv" | sort -n | tail -1)
{
  echo "# Start-up benchmark"
  echo
  echo "Command: \`bench/startup.sh $RUNS\`, $(date -u +%F), commit $(git -C "$ROOT" rev-parse --short HEAD), 2-core machine, release build."
  echo "Time from exec of \`microshop up\` to every service's \`/health/ready\` answering 200 (polled every 2 ms)."
  echo
  echo "| case | median ms | worst ms |"
  echo "|---|---|---|"
  awk -F'\t' '{print "| " $1 " | " $2 " | " $3 " |"}' "$WORK/startup.tsv"
  echo
  echo "**Worst start-up: $worst ms** (budget < 1000 ms: $(python3 -c "print('met' if $worst < 1000 else 'NOT met')"))."
} >"$BENCH_DIR/results/startup.md"
cat "$BENCH_DIR/results/startup.md"
