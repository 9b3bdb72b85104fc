#!/usr/bin/env bash
# ctest "vm:bench": the sampler benchmark beside systemd-cgtop in the systemd test VM (pure
# cgroup v2, every controller), where systemd-cgtop sees CPU and memory of a v2 tree; on hybrid
# hosts it reads the v1 hierarchies instead. Prints the benchmark's output and its
# "ratio BM_HiveTick/BM_Cgtop" lines; fails when they are missing. The guest is emulated, so
# only the ratio (both measured in the same run) carries over to real hosts.
#
# Usage: tests/vm/vm-bench.sh [BUILD_DIR] [BENCH_ARGS...]
#   default args: --cgtop=10 --benchmark_min_time=0.1 (N = 10, 100, 1000)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD_DIR=$(cd "${1:-$REPO/build}" && pwd)
shift || true
ARGS=("$@")
[ ${#ARGS[@]} -gt 0 ] || ARGS=(--cgtop=10 --benchmark_min_time=0.1)

die() { echo "vm-bench: error: $*" >&2; exit 1; }
BENCH="$BUILD_DIR/tests/bench/rbee-bench-sampler"
[ -x "$BENCH" ] || die "$BENCH is missing: build the project first (cmake --build $BUILD_DIR)"

SHARE=$(mktemp -d "${TMPDIR:-/tmp}/rbee-vm-bench.XXXXXX")
trap 'rm -rf "$SHARE"' EXIT
mkdir "$SHARE/bin"
cp "$BENCH" "$SHARE/bin/"
printf '%q ' "${ARGS[@]}" >"$SHARE/args"

cat >"$SHARE/run.sh" <<'EOF'
#!/bin/bash
# Runs in the guest as root from rbee-vm-run.service; $RBEE_SHARE is the 9p share.
set -uo pipefail
timeout 120 systemctl is-system-running --wait >/dev/null || true
echo "guest: kernel $(uname -r), $(nproc) CPUs, $(systemctl --version | head -1)"
echo "cgroup controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
eval "args=($(cat "$RBEE_SHARE/args"))"
"$RBEE_SHARE/bin/rbee-bench-sampler" "${args[@]}" --benchmark_filter='BM_(HiveTick|Cgtop)/' 2>&1
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: rbee-bench-sampler exited with $rc"; exit 1; }
EOF
chmod 755 "$SHARE/run.sh"

"$HERE/run-in-vm.sh" "$SHARE" "${RBEE_VM_TIMEOUT:-900}" | tee "$SHARE/host.log"
grep -q '^ratio BM_HiveTick/BM_Cgtop' "$SHARE/host.log" \
  || die "no BM_HiveTick/BM_Cgtop ratio in the output"
