#!/usr/bin/env bash
# The whole test suite: set-up and build (scripts/setup.sh, scripts/setup-browser.sh for the
# web pages' tests in Chromium, scripts/setup-prometheus.sh for the Prometheus test), the format
# check, every ctest label,
# then the unit, integration and gpu suites again under ASan+UBSan and under TSan.
# Integration tests need root: they make cgroups under the cgroup2 mount.
# RBEE_SANITIZERS=0 skips the sanitizer builds (they double the time).
set -euo pipefail
cd "$(dirname "$0")/.."
# The integration tests' workers run as rbee-worker and exec <build>/tests/rbee-test-worker:
# every directory above it must let others through. The checkout itself (a mktemp -d directory
# is 0700) is opened for traversal, not listing. Below a closed directory (a clone under /root,
# which is 0700) the builds go to a directory of /var/tmp named after the checkout instead.
# (nobody stands in for rbee-worker here: setup.sh, which creates that account, builds.)
runuser -u nobody -- test -x "$PWD" 2>/dev/null || chmod o+x "$PWD"
if [ -z "${BUILD_DIR:-}" ] && ! runuser -u nobody -- test -x "$PWD/scripts" 2>/dev/null; then
  BUILD_DIR=/var/tmp/rbee-build-$(echo "$PWD" | sha256sum | cut -c1-12)
  mkdir -p "$BUILD_DIR"
  chmod 0755 "$BUILD_DIR"
  echo "$PWD is closed to other users: building in $BUILD_DIR, which rbee-worker can reach"
fi
export BUILD_DIR=${BUILD_DIR:-build}
./scripts/setup.sh
./scripts/setup-browser.sh
./scripts/setup-prometheus.sh
./scripts/check-format.sh
if ! runuser -u rbee-worker -- test -x "$BUILD_DIR/tests" 2>/dev/null; then
  echo "rbee-worker cannot reach $BUILD_DIR/tests (a directory above it is closed to others):" \
    "the integration tests' workers could not start; set BUILD_DIR to a reachable directory" >&2
  exit 1
fi
# Unit tests in parallel; the rest one at a time, since they measure CPU shares and time.
ctest --test-dir "$BUILD_DIR" --output-on-failure -L unit -j "$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -LE unit --timeout 900

sanitized() {  # name flags
  local dir="$BUILD_DIR-$1"
  echo "== $1 build ($2)"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS="$2 -fno-omit-frame-pointer" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
  ctest --test-dir "$dir" --output-on-failure -L unit -j "$(nproc)"
  ctest --test-dir "$dir" --output-on-failure -L 'integration|gpu' --timeout 600
}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
if [ "${RBEE_SANITIZERS:-1}" != 0 ]; then
  sanitized asan "-fsanitize=address,undefined -fno-sanitize-recover=undefined"
  sanitized tsan "-fsanitize=thread"
fi

# libFuzzer targets (tests/fuzz) under ASan+UBSan, a bounded time each: scripts/fuzz.sh.
# RBEE_FUZZ=0 skips them; RBEE_FUZZ_SECONDS sets the time per target (default 45).
if [ "${RBEE_FUZZ:-1}" != 0 ]; then
  ./scripts/fuzz.sh "${RBEE_FUZZ_SECONDS:-45}"
fi
