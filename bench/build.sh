#!/usr/bin/env bash
# Clean release builds of the microshop binary, timed: what a newcomer's first
# `cargo run --release` costs, against the build of the Docker image (Kafka and OTLP on), and,
# with BASE=<git revision>, against that revision's default build, all in one run on one machine.
#
#   bench/build.sh                 # default and full features
#   BASE=bb9c770 bench/build.sh    # and the default build of an older commit, the baseline
#
# Each build starts from an empty target folder (the crates are fetched first, so the network is
# not measured) with `cargo build --release --timings`; the result is written to
# results/build.md with the wall and CPU times, the binary's size and the slowest compile units
# (from cargo's timings report). Run it on an otherwise idle machine: the budget is wall time.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export CARGO_TERM_COLOR=never

(cd "$ROOT" && cargo fetch --locked -q)

# build <label> <source dir> [cargo args...]: one clean build; appends a row to $WORK/rows and
# keeps the timings report.
build() {
  local label=$1 src=$2
  shift 2
  local target="$WORK/target-$label"
  echo "== $label: cargo build --release --locked $*" >&2
  local start end
  start=$(date +%s.%N)
  # CPU time of cargo and everything it starts (rustc, build scripts, cc, make).
  /usr/bin/time -f '%U %S' -o "$WORK/cpu-$label" \
    env CARGO_TARGET_DIR="$target" cargo build --release --locked --timings -q \
    --manifest-path "$src/Cargo.toml" -p microshop "$@"
  end=$(date +%s.%N)
  local bin="$target/release/microshop"
  strip -o "$WORK/stripped" "$bin"
  cp "$target"/cargo-timings/cargo-timing.html "$WORK/timing-$label.html"
  python3 - "$label" "$start" "$end" "$WORK/cpu-$label" "$bin" "$WORK/stripped" \
    "$WORK/timing-$label.html" >>"$WORK/rows" <<'EOF'
import json, os, re, sys
label, start, end, cpu, binary, stripped, timing = sys.argv[1:]
user, system = map(float, open(cpu).read().split()[-2:])
html = open(timing).read()
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", html, re.S).group(1))
slowest = sorted(units, key=lambda u: -u["duration"])[:6]
print(json.dumps({
    "label": label,
    "wall": float(end) - float(start),
    "cpu": user + system,
    "size": os.path.getsize(binary),
    "stripped": os.path.getsize(stripped),
    "units": len(units),
    "slowest": [f'{u["name"]} {u["version"]}{" (build script)" if u.get("mode") == "run-custom-build" else ""}: {u["duration"]:.0f} s' for u in slowest],
}))
EOF
}

build default "$ROOT"
# The default binary refuses what needs a feature it lacks, at start, saying which (exit 64).
refuses() {
  local status=0 output
  output=$(timeout 20 env "$1" "$WORK/target-default/release/microshop" --data-dir "$WORK/data" 2>&1) || status=$?
  if [ "$status" != 64 ] || ! grep -q -- "--features $2" <<<"$output"; then
    echo "the default binary did not refuse $1 (exit $status): $output" >&2
    exit 1
  fi
  echo "$1: refused, exit 64: $output" >>"$WORK/refusals"
}
refuses MICROSHOP_KAFKA_BROKERS=127.0.0.1:9 kafka
refuses OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9 otlp
build full "$ROOT" --features kafka,otlp
if [ -n "${BASE:-}" ]; then
  git -C "$ROOT" worktree add -q --detach "$WORK/base" "$BASE"
  build "base-$BASE" "$WORK/base"
  git -C "$ROOT" worktree remove --force "$WORK/base"
fi

mkdir -p "$BENCH_DIR/results"
python3 - "$WORK/rows" "$(git -C "$ROOT" rev-parse --short HEAD)" "$(date -u +%F)" \
  "${BASE:-}" "$WORK/refusals" >"$BENCH_DIR/results/build.md" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
commit, day, base, refusals = sys.argv[2:]
default = rows[0]
mib = lambda n: f"{n / 1048576:.0f} MiB"
mins = lambda s: f"{s / 60:.1f} min"
print("# Clean release build\n")
print(f"Command: `{'BASE=' + base + ' ' if base else ''}bench/build.sh`, {day}, commit {commit}, "
      "2-core machine, crates fetched beforehand, empty target folder for each build.\n")
print("| build | wall | CPU | wall / default | binary | stripped | units |")
print("|---|---|---|---|---|---|---|")
names = {"default": "`cargo build --release` (what `cargo run --release` builds)",
         "full": "`--features kafka,otlp` (Docker image, distributed mode)"}
for row in rows:
    name = names.get(row["label"], f"`{row['label']}`: default build of that commit (baseline)")
    print(f"| {name} | {mins(row['wall'])} | {mins(row['cpu'])} | "
          f"{row['wall'] / default['wall']:.2f} | {mib(row['size'])} | {mib(row['stripped'])} | {row['units']} |")
print("\nBudget (issue 13): the default clean build at most 6 min of wall time.\n")
for row in rows:
    print(f"Slowest units, {row['label']}: " + "; ".join(row["slowest"]) + ".\n")
print("The default binary, started with a setting that needs a feature it lacks:\n")
for line in open(refusals):
    print(f"- {line.strip()}")
EOF
cat "$BENCH_DIR/results/build.md"
