#!/usr/bin/env bash
# Boots the systemd test VM (built and cached by build-image.sh) with SHARE_DIR shared
# at /mnt/share in the guest, where rbee-vm-run.service runs /mnt/share/run.sh.
#
# Usage: tests/vm/run-in-vm.sh SHARE_DIR [TIMEOUT_S]   (TIMEOUT_S default 600)
#
# Prints the guest's output.log and exits with run.sh's exit status. If the guest
# wrote none (timeout, kernel panic, boot failure), prints why and the tail of the
# serial console log, and exits 1. Left in SHARE_DIR afterwards: output.log,
# exit-code, journal.log (the guest's journal of this boot), console.log (serial).
#
# Environment: RBEE_VM_DIR (image cache, see build-image.sh), RBEE_VM_MEM (2G),
# RBEE_VM_CPUS (2), RBEE_VM_ACCEL (tcg,thread=multi: this host's /dev/kvm is a PVM
# variant that hangs stock kernels), RBEE_VM_APPEND (extra kernel command line).
set -euo pipefail

die() { echo "run-in-vm: error: $*" >&2; exit 1; }
if [ $# -lt 1 ] || [ $# -gt 2 ]; then die "usage: $0 SHARE_DIR [TIMEOUT_S]"; fi
[ -d "$1" ] || die "share directory $1 does not exist"
SHARE=$(cd "$1" && pwd)
TIMEOUT_S=${2:-600}
[[ $TIMEOUT_S =~ ^[0-9]+$ ]] || die "TIMEOUT_S must be a number of seconds, not '$TIMEOUT_S'"
[ -f "$SHARE/run.sh" ] || echo "run-in-vm: warning: no run.sh in $SHARE; the guest will report 127" >&2

HERE=$(cd "$(dirname "$0")" && pwd)
VM_DIR=$("$HERE/build-image.sh") || die "could not build the VM image"

rm -f "$SHARE/exit-code" "$SHARE/exit-code.tmp" "$SHARE/output.log" "$SHARE/journal.log"
CONSOLE="$SHARE/console.log"
: >"$CONSOLE"

APPEND="console=ttyS0 panic=-1 loglevel=4 mitigations=off systemd.unified_cgroup_hierarchy=1 ${RBEE_VM_APPEND:-}"
started=$(date +%s)
set +e
# -snapshot: the root image is never written; each run starts from the same state.
timeout --kill-after=10 "$TIMEOUT_S" qemu-system-x86_64 \
  -nodefaults -no-user-config -no-reboot -snapshot \
  -machine pc -accel "${RBEE_VM_ACCEL:-tcg,thread=multi}" -cpu max \
  -m "${RBEE_VM_MEM:-2G}" -smp "${RBEE_VM_CPUS:-2}" \
  -kernel "$VM_DIR/vmlinuz" -initrd "$VM_DIR/initrd.img" -append "$APPEND" \
  -drive "file=$VM_DIR/rootfs.img,format=raw,if=virtio" \
  -fsdev "local,id=share,path=$SHARE,security_model=none" \
  -device virtio-9p-pci,fsdev=share,mount_tag=share \
  -display none -monitor none -serial "file:$CONSOLE" </dev/null
qemu_rc=$?
set -e
elapsed=$(($(date +%s) - started))

if [ -f "$SHARE/output.log" ]; then
  cat "$SHARE/output.log"
fi
if [ -f "$SHARE/exit-code" ] && rc=$(cat "$SHARE/exit-code") && [[ $rc =~ ^[0-9]+$ ]]; then
  echo "run-in-vm: guest run.sh exited with $rc after ${elapsed} s" >&2
  exit "$rc"
fi

case $qemu_rc in
  124 | 137) why="timed out after ${TIMEOUT_S} s" ;;
  0) why="the guest stopped (panic, or power-off before run.sh finished) after ${elapsed} s" ;;
  *) why="qemu failed with exit status $qemu_rc after ${elapsed} s" ;;
esac
echo "run-in-vm: error: the guest wrote no exit code: $why" >&2
echo "run-in-vm: last lines of the serial console ($CONSOLE):" >&2
tail -n 40 "$CONSOLE" >&2
exit 1
