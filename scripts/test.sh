#!/usr/bin/env bash
# The whole test suite: set-up and build (scripts/setup.sh), then every ctest label.
# Integration tests need root: they make cgroups under the cgroup2 mount.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
# Unit tests in parallel; integration tests one at a time, since they measure CPU shares.
ctest --test-dir "$BUILD_DIR" --output-on-failure -L unit -j "$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -LE unit --timeout 300
