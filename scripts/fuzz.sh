#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan into build-fuzz/, then
# runs each for SECONDS (default 60) from its seed corpus (tests/fuzz/corpus) into a temp corpus.
# Prints the executions per target; fails on any crash, leak, timeout or out-of-memory.
#   scripts/fuzz.sh            # 60 s per target
#   scripts/fuzz.sh 3600       # a long run
#   RBEE_FUZZ_TARGETS="ssh_config http_request" scripts/fuzz.sh 600   # some targets only
# Crashing inputs (crash-*, leak-*, timeout-*, oom-*) and the log of a failed target are written
# to $RBEE_FUZZ_ARTIFACTS/<target>/ (default build-fuzz/artifacts). The corpus a run grows lives in
# a temp dir and is dropped, unless RBEE_FUZZ_CORPUS=DIR keeps it (DIR/<target>/) for the next
# run; nothing is written into tests/fuzz/corpus.
# Replay one: build-fuzz/tests/fuzz/rbee-fuzz-<target> FILE
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-60}
BUILD_DIR=${RBEE_FUZZ_BUILD_DIR:-build-fuzz}
ARTIFACTS=${RBEE_FUZZ_ARTIFACTS:-$BUILD_DIR/artifacts}
TARGETS=${RBEE_FUZZ_TARGETS:-"ssh_config telemetry_decode api_requests http_request hive_config cgroup_files"}
JOBS=${RBEE_FUZZ_JOBS:-2}

command -v clang++ >/dev/null || {
  echo "fuzz.sh: clang++ not found (apt-get install clang, or scripts/setup.sh)" >&2
  exit 1
}

echo "== fuzz build ($BUILD_DIR)"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DRBEE_FUZZ=ON -DRBEE_BUILD_TESTS=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link -fno-omit-frame-pointer" \
  >/dev/null
nice cmake --build "$BUILD_DIR" -j "$JOBS" --target rbee-fuzz-all

export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Longest input per target: big enough for its real files, small enough to stay fast.
max_len() {
  case "$1" in
    ssh_config) echo 16384 ;;
    telemetry_decode | http_request) echo 65536 ;;
    *) echo 8192 ;;
  esac
}

work=$(mktemp -d "${TMPDIR:-/tmp}/rbee-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=()
summary=()
for t in $TARGETS; do
  bin="$BUILD_DIR/tests/fuzz/rbee-fuzz-$t"
  seeds="tests/fuzz/corpus/$t"
  [ -x "$bin" ] || { echo "fuzz.sh: no target $bin" >&2; exit 1; }
  corpus="${RBEE_FUZZ_CORPUS:-$work/corpus}/$t"
  crashes="$ARTIFACTS/$t"
  mkdir -p "$corpus" "$crashes"
  log="$work/$t.log"
  echo "== fuzz $t: ${SECONDS_PER_TARGET}s"
  rc=0
  # The new corpus dir comes first: libFuzzer writes new inputs there, not into the seeds.
  "$bin" "$corpus" "$seeds" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 \
    -timeout=10 -max_len="$(max_len "$t")" -print_final_stats=1 \
    -artifact_prefix="$crashes/" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  line=$(printf '%-18s %12s execs %8s/s  %s' "$t" "${execs:-?}" "${rate:-?}" "$cov")
  if [ "$rc" -ne 0 ]; then
    line="$line  FAILED (exit $rc)"
    failed+=("$t")
    grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY|Test unit written' \
      "$log" | head -20 >&2 || true
    cp "$log" "$crashes/fuzz.log"
  fi
  echo "$line"
  summary+=("$line")
done

echo "== fuzz summary (${SECONDS_PER_TARGET}s per target)"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz.sh: failed: ${failed[*]} (inputs and logs in $ARTIFACTS/<target>/)" >&2
  exit 1
fi
