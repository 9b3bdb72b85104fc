#!/usr/bin/env bash
# ctest "vm:smoke": boots the systemd test VM and checks what the Hive's systemd backend
# relies on: systemd is PID 1 and the boot finished, pure cgroup v2 with the memory and
# pids controllers, D-Bus and the journal work, systemd-run puts a transient unit at
# rbee.slice/rbee-llm.slice/rbee-llm@8080.service, and our binaries run in the guest.
#
# Usage: tests/vm/vm-smoke.sh [BUILD_DIR]   (default: <repo>/build)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD_DIR=${1:-$REPO/build}

die() { echo "vm-smoke: error: $*" >&2; exit 1; }
BINARIES=("$BUILD_DIR/hive/rbee-hive" "$BUILD_DIR/queen/rbee-queen" "$BUILD_DIR/tests/rbee-test-worker")
for b in "${BINARIES[@]}"; do
  [ -x "$b" ] || die "$b is missing: build the project first (cmake --build $BUILD_DIR)"
done

SHARE=$(mktemp -d "${TMPDIR:-/tmp}/rbee-vm-smoke.XXXXXX")
cleanup() {
  if [ "${RBEE_VM_KEEP_SHARE:-0}" = 1 ]; then echo "vm-smoke: share kept in $SHARE" >&2; else rm -rf "$SHARE"; fi
}
trap cleanup EXIT
mkdir "$SHARE/bin"
cp "${BINARIES[@]}" "$SHARE/bin/"

cat >"$SHARE/run.sh" <<'EOF'
#!/bin/bash
# Runs in the guest as root from rbee-vm-run.service; $RBEE_SHARE is the 9p share.
set -uo pipefail
failures=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

exe=$(readlink /proc/1/exe)
comm=$(ps -p 1 -o comm=)
if [ "${exe##*/}" = systemd ] && [ "$comm" = systemd ]; then ok "PID 1 is systemd ($exe)"
else fail "PID 1 is not systemd: exe=$exe comm=$comm"; fi

state=$(timeout 120 systemctl is-system-running --wait)
case $state in
  running) ok "system state: running" ;;
  degraded) ok "system state: degraded"; systemctl --failed --no-legend | sed 's/^/  failed unit: /' ;;
  *) fail "system state is '$state', wanted running or degraded"; systemctl --failed --no-legend ;;
esac

fstype=$(stat -fc %T /sys/fs/cgroup)
[ "$fstype" = cgroup2fs ] && ok "cgroup2 mounted at /sys/fs/cgroup" \
  || fail "/sys/fs/cgroup is $fstype, wanted cgroup2fs (pure cgroup v2)"
if awk '$3 == "cgroup" {found = 1} END {exit !found}' /proc/mounts; then
  fail "cgroup v1 hierarchies are mounted: $(awk '$3 == "cgroup" {print $2}' /proc/mounts | xargs)"
else ok "no cgroup v1 hierarchy mounted"; fi
controllers=$(cat /sys/fs/cgroup/cgroup.controllers)
subtree=$(cat /sys/fs/cgroup/cgroup.subtree_control)
for c in memory pids; do
  if [[ " $subtree " == *" $c "* ]]; then ok "controller $c enabled at the root"
  else fail "controller $c not enabled at the root (available: $controllers; enabled: $subtree)"; fi
done

busctl --system list --no-pager >/dev/null 2>&1 && ok "system D-Bus answers" || fail "busctl --system list failed"
echo "rbee-smoke-marker" | systemd-cat -t rbee-smoke
sleep 0.5
journalctl -t rbee-smoke --no-pager -q | grep -q rbee-smoke-marker && ok "journal works" || fail "journalctl did not show a systemd-cat line"

cg=/sys/fs/cgroup/rbee.slice/rbee-llm.slice/rbee-llm@8080.service
if systemd-run --quiet --slice=rbee-llm.slice --unit=rbee-llm@8080 sleep 60; then
  for _ in $(seq 50); do grep -qx 'populated 1' "$cg/cgroup.events" 2>/dev/null && break; sleep 0.1; done
  if grep -qx 'populated 1' "$cg/cgroup.events" 2>/dev/null; then
    ok "systemd-run made $cg (populated, pids: $(xargs <"$cg/cgroup.procs"))"
    for f in memory.current pids.current; do
      [ -f "$cg/$f" ] && ok "$f in the unit's cgroup: $(cat "$cg/$f")" || fail "no $f in $cg"
    done
  else
    fail "$cg is missing or not populated; the unit is in $(systemctl show -P ControlGroup rbee-llm@8080.service)"
  fi
  systemctl stop rbee-llm@8080.service
  [ ! -e "$cg" ] && ok "systemctl stop removed the cgroup" || fail "$cg still exists after systemctl stop"
else
  fail "systemd-run --slice=rbee-llm.slice --unit=rbee-llm@8080 failed"
fi

for b in "$RBEE_SHARE"/bin/*; do
  missing=$(ldd "$b" 2>&1 | grep 'not found')
  [ -z "$missing" ] && ok "${b##*/}: all shared libraries found" \
    || fail "${b##*/} lacks shared libraries in the guest (add their packages to tests/vm/build-image.sh): $missing"
done
if version=$("$RBEE_SHARE/bin/rbee-hive" --version 2>&1); then ok "rbee-hive --version: $version"
else fail "rbee-hive --version failed: $version"; fi

echo "kernel $(uname -r), $(systemctl --version | head -1)"
if ((failures)); then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
EOF
chmod 755 "$SHARE/run.sh"

"$HERE/run-in-vm.sh" "$SHARE" "${RBEE_VM_TIMEOUT:-600}"
