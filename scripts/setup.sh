#!/usr/bin/env bash
# Installs the build dependencies (Debian 12 packages) and builds everything into build/.
# Safe to run again: installs only what is missing, rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache
  libsystemd-dev libboost1.81-dev libsimdjson-dev libcli11-dev libspdlog-dev
  catch2 libtomlplusplus-dev openssh-client iproute2 libbenchmark-dev
  clang libclang-rt-14-dev  # scripts/fuzz.sh: clang, libFuzzer and the sanitizer runtimes
  clang-format clang-tidy   # scripts/check-format.sh; .clang-tidy for editors and reviews
  avahi-daemon dbus dbus-daemon jq curl bc
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The account workers run as by default (hive.worker_user); the .deb makes it too.
if ! getent passwd rbee-worker >/dev/null; then
  ${SUDO:-} useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin rbee-worker
fi

BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
