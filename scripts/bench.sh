#!/usr/bin/env bash
# Every benchmark with the settings docs/performance.md reports, one after another; output in
# bench-results/<name>.txt. Needs root (real cgroups). Builds what it runs (scripts/setup.sh).
#
# Usage: scripts/bench.sh [--quick] [--no-vm]
#   --quick  short runs (a minute or two in all), for trying the command
#   --no-vm  skip systemd-cgtop side by side in the systemd VM (tests/vm; ~3 min cold)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0 vm=1
for a in "$@"; do
  case $a in
    --quick) quick=1 ;;
    --no-vm) vm=0 ;;
    *) echo "usage: $0 [--quick] [--no-vm]" >&2; exit 2 ;;
  esac
done
./scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
B="$BUILD_DIR/tests/bench"
OUT=bench-results
mkdir -p "$OUT"
run() {  # name command...
  local name=$1; shift
  echo "== $name: $*"
  "$@" 2>&1 | tee "$OUT/$name.txt"
}
if ((quick)); then
  reps=(--benchmark_min_time=0.05) events=40 workers=0,100 cgtop=3 ingest=(--smoke)
else
  reps=(--benchmark_min_time=0.5 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true)
  events=300 workers=0,100,1000 cgtop=10 ingest=()
fi
run json "$B/rbee-bench-json" "${reps[@]}"
run sampler "$B/rbee-bench-sampler" "${reps[@]}"
run hive-footprint "$B/rbee-bench-hive-footprint" --workers "$workers" --window-ticks 10
run event-latency "$B/rbee-bench-event-latency" --events "$events"
run event-latency-spawn "$B/rbee-bench-event-latency" --events "$events" --mode spawn
if [ -x "$B/rbee-bench-queen-ingest" ]; then
  run queen-ingest "$B/rbee-bench-queen-ingest" "${ingest[@]}"
fi
if ((vm)); then
  run sampler-vm-cgtop tests/vm/vm-bench.sh "$BUILD_DIR" --cgtop="$cgtop" "${reps[0]}"
fi
echo "results in $OUT/"
