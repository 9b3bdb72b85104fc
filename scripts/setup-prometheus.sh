#!/usr/bin/env bash
# What the Prometheus test (ctest -L prometheus) needs: Debian's prometheus binary. The test runs
# its own instance on a free loopback port with a temp config and storage; the package's service
# is not wanted, so one the install started is stopped and kept from starting again. Safe to run
# again.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -q "install ok installed"; then
  echo "installing: prometheus"
  $SUDO apt-get update -qq
  # policy-rc.d exit 101 keeps invoke-rc.d from starting the package's service where no init
  # system is running; under systemd the unit is stopped and disabled below.
  had_policy=1
  [ -e /usr/sbin/policy-rc.d ] || had_policy=0
  if [ "$had_policy" = 0 ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 0755 /usr/sbin/policy-rc.d
  fi
  status=0
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    prometheus || status=$?
  [ "$had_policy" = 1 ] || $SUDO rm -f /usr/sbin/policy-rc.d
  [ "$status" = 0 ] || exit "$status"
  if [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/prometheus ]; then
    $SUDO /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
fi
command -v prometheus >/dev/null || {
  echo "prometheus is not on PATH after the install" >&2
  exit 1
}
