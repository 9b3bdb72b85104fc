#!/usr/bin/env bash
# Builds the systemd test VM: a Debian 12 kernel (vmlinuz), a busybox initrd that
# loads the virtio/ext4/9p modules, and an ext4 root filesystem image with systemd
# as PID 1 and the rbee-vm-run.service test runner (see README.md beside this file).
#
# Usage: tests/vm/build-image.sh            (prints the image directory on stdout)
# Environment:
#   RBEE_VM_DIR              where the artefacts are cached (default: <repo>/build/vm)
#   RBEE_VM_MIRROR           Debian mirror for the root filesystem (default: deb.debian.org)
#   RBEE_VM_EXTRA_PACKAGES   more guest packages, space separated (part of the cache key)
#   RBEE_VM_REBUILD=1        ignore the cache
#
# Idempotent: when vmlinuz, initrd.img and rootfs.img exist and were built from the
# same inputs (this script, the package list, the mirror), it only prints the directory.
# Needs root (mmdebstrap --mode=root, mkfs.ext4 -d keeping file owners).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VM_DIR=${RBEE_VM_DIR:-$REPO/build/vm}
SUITE=bookworm
MIRROR=${RBEE_VM_MIRROR:-http://deb.debian.org/debian}

# What the guest needs: systemd as PID 1 with D-Bus and udev, the tools the tests use
# (ps, ss, modprobe), and the shared libraries our binaries link (check with
# `ldd build/hive/rbee-hive`; add new ones here or in RBEE_VM_EXTRA_PACKAGES).
GUEST_PACKAGES=(
  systemd systemd-sysv dbus udev kmod procps iproute2
  libsystemd0 libstdc++6 libgcc-s1 libspdlog1.10 libfmt9 libsimdjson14 libtomlplusplus3
  libbenchmark1debian
)
# shellcheck disable=SC2206  # word splitting is the point
GUEST_PACKAGES+=(${RBEE_VM_EXTRA_PACKAGES:-})
HOST_PACKAGES=(qemu-system-x86 mmdebstrap e2fsprogs kmod cpio gzip util-linux)
# The modules the initrd loads, in this order (dependencies are added from modules.dep).
# ext4 needs a crc32c implementation (a soft dependency), so crc32c_generic comes first.
# tcp_diag (and inet_diag) answer the sock_diag dumps the Hive uses to see a worker listening; the
# guest has no /lib/modules, so the kernel cannot load them on demand as it would on a real host.
INITRD_MODULES=(crc32c_generic virtio_pci virtio_blk ext4 9pnet_virtio 9p tcp_diag)

log() { echo "build-image: $*" >&2; }
die() { echo "build-image: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap --mode=root and mkfs.ext4 -d keep file owners)"

# --- host packages ------------------------------------------------------------------
apt_updated=0
apt_update_once() {
  ((apt_updated)) && return 0
  log "apt-get update"
  apt-get update -qq >&2 || die "apt-get update failed: is the Debian mirror reachable?"
  apt_updated=1
}
missing=()
for p in "${HOST_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt_update_once
  log "installing host packages: ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/tmp/rbee-vm-apt.log 2>&1; then
    tail -n 20 /tmp/rbee-vm-apt.log >&2
    die "apt-get install ${missing[*]} failed (log above): is the Debian mirror reachable?"
  fi
fi

# --- cache check ----------------------------------------------------------------------
mkdir -p "$VM_DIR"
exec 9>"$VM_DIR/.lock"
flock 9 # one build at a time; a second caller waits and then finds the cache
key=$( { cat "$0"; echo "$SUITE $MIRROR"; echo "${GUEST_PACKAGES[*]}"; } | sha256sum | cut -d' ' -f1)
if [ "${RBEE_VM_REBUILD:-0}" != 1 ] && [ -f "$VM_DIR/vmlinuz" ] && [ -f "$VM_DIR/initrd.img" ] \
  && [ -f "$VM_DIR/rootfs.img" ] && [ "$(cat "$VM_DIR/key" 2>/dev/null)" = "$key" ]; then
  log "cached image is up to date in $VM_DIR"
  echo "$VM_DIR"
  exit 0
fi

started=$(date +%s)
rm -f "$VM_DIR/key" "$VM_DIR/vmlinuz" "$VM_DIR/initrd.img" "$VM_DIR/rootfs.img"
WORK=$(mktemp -d "$VM_DIR/work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
log "building in $WORK (cold build: a few minutes)"

# --- kernel and initrd (run in the background while the rootfs is bootstrapped) --------
build_kernel_and_initrd() {
  set -euo pipefail
  if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
    apt-get update -qq || { echo "apt-get update failed: is the Debian mirror reachable?"; return 1; }
  fi
  local kpkg
  kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$kpkg" ] || { echo "cannot find the kernel package that linux-image-amd64 depends on"; return 1; }
  mkdir -p "$WORK/debs" "$WORK/kernel" "$WORK/busybox"
  (cd "$WORK/debs" && apt-get download -q -o APT::Sandbox::User=root "$kpkg" busybox-static) \
    || { echo "apt-get download $kpkg busybox-static failed: is the Debian mirror reachable?"; return 1; }
  # Only the kernel and the module folders the initrd draws from: the whole package is
  # 4000 modules, slow to unpack and, on these disks, slower still to delete.
  dpkg-deb --fsys-tarfile "$WORK"/debs/linux-image-*.deb | tar -x -C "$WORK/kernel" --wildcards \
    './boot/vmlinuz-*' './lib/modules/*/modules.*' './lib/modules/*/kernel/drivers/virtio/*' \
    './lib/modules/*/kernel/drivers/block/virtio_blk.ko' './lib/modules/*/kernel/fs/*' \
    './lib/modules/*/kernel/net/9p/*' './lib/modules/*/kernel/net/ipv4/*' './lib/modules/*/kernel/lib/*' './lib/modules/*/kernel/crypto/*'
  dpkg-deb -x "$WORK"/debs/busybox-static_*.deb "$WORK/busybox"
  local kver
  kver=$(ls "$WORK/kernel/lib/modules")
  cp "$WORK/kernel/boot/vmlinuz-$kver" "$WORK/vmlinuz"
  echo "$kver" >"$WORK/kernel-version"
  depmod -b "$WORK/kernel" "$kver"

  # Dependencies first, each module once.
  local moddir="$WORK/kernel/lib/modules/$kver" order=() seen=" "
  add_module() {
    local line deps d
    line=$(grep -E "/$1\.ko(\.[a-z]+)?:" "$moddir/modules.dep") || { echo "no module $1 in $kver"; return 1; }
    deps=${line#*:}
    for d in $(echo "$deps" | tr ' ' '\n' | tac); do
      d=$(basename "$d"); d=${d%%.ko*}
      add_module "$d"
    done
    case "$seen" in *" $1 "*) ;; *) seen+="$1 "; order+=("${line%%:*}") ;; esac
  }
  local m
  for m in "${INITRD_MODULES[@]}"; do add_module "$m"; done

  local ird="$WORK/initrd"
  mkdir -p "$ird"/{bin,dev,proc,sys,newroot,modules}
  cp "$WORK/busybox/bin/busybox" "$ird/bin/busybox"
  ln -s busybox "$ird/bin/sh"
  : >"$ird/modules/order"
  for m in "${order[@]}"; do
    cp "$moddir/$m" "$ird/modules/"
    basename "$m" >>"$ird/modules/order"
  done
  cat >"$ird/init" <<'EOF'
#!/bin/sh
# rbee test VM initrd: load the virtio, ext4 and 9p modules, mount /dev/vda, start systemd.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fail() { echo "rbee-initrd: $*" >/dev/console; sleep 1; poweroff -f; }
while read -r m; do
  insmod "/modules/$m" || echo "rbee-initrd: insmod $m failed" >/dev/console
done </modules/order
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/vda ] || fail "no /dev/vda: is the root image attached as a virtio disk?"
mount -t ext4 -o rw /dev/vda /newroot || fail "cannot mount /dev/vda"
[ -x /newroot/lib/systemd/systemd ] || fail "no /lib/systemd/systemd in the root filesystem"
umount /sys /proc
mount --move /dev /newroot/dev
exec switch_root /newroot /lib/systemd/systemd
EOF
  chmod 755 "$ird/init"
  (cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1 >"$WORK/initrd.img")
}
build_kernel_and_initrd >"$WORK/kernel.log" 2>&1 &
kernel_pid=$!

# --- root filesystem ----------------------------------------------------------------
ROOTFS="$WORK/rootfs"
include=$(IFS=,; echo "${GUEST_PACKAGES[*]}")
log "mmdebstrap $SUITE ($include)"
if ! mmdebstrap --mode=root --variant=essential --include="$include" \
  --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/mmdebstrap.log" 2>&1; then
  tail -n 30 "$WORK/mmdebstrap.log" >&2
  die "mmdebstrap failed (log above): is the Debian mirror $MIRROR reachable?"
fi

# Configure the guest.
echo rbee-vm >"$ROOTFS/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 rbee-vm\n::1 localhost\n' >"$ROOTFS/etc/hosts"
echo "# the initrd mounts / read-write; nothing else to mount" >"$ROOTFS/etc/fstab"
# A fixed machine id: no "first boot" (systemd-firstboot would prompt on the console).
echo 72626565766d00000000000000000001 >"$ROOTFS/etc/machine-id"
sed -i 's/^root:[^:]*:/root::/' "$ROOTFS/etc/shadow" # passwordless root on the serial console, for debugging
mkdir -p "$ROOTFS/etc/systemd/journald.conf.d" "$ROOTFS/mnt/share"
printf '[Journal]\nStorage=volatile\n' >"$ROOTFS/etc/systemd/journald.conf.d/rbee-vm.conf"
# Nothing periodic or interactive during a test run.
for u in systemd-firstboot.service fstrim.timer dpkg-db-backup.timer getty@tty1.service \
  systemd-networkd-wait-online.service; do
  ln -sf /dev/null "$ROOTFS/etc/systemd/system/$u"
done
rm -f "$ROOTFS/etc/systemd/system/getty.target.wants/getty@tty1.service"

cat >"$ROOTFS/usr/local/sbin/rbee-vm-run" <<'EOF'
#!/bin/bash
# Runs /mnt/share/run.sh once, output to /mnt/share/output.log, its exit status to
# /mnt/share/exit-code, the boot's journal to /mnt/share/journal.log, then powers off.
share=/mnt/share
say() { echo "rbee-vm-run: $*" >/dev/console; }
mkdir -p "$share"
if ! mountpoint -q "$share" &&
  ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 share "$share"; then
  say "cannot mount the 9p share (tag 'share') at $share"
  systemctl poweroff --no-block
  exit 1
fi
say "running $share/run.sh"
if [ -f "$share/run.sh" ]; then
  if [ -x "$share/run.sh" ]; then
    (cd "$share" && RBEE_VM=1 RBEE_SHARE="$share" "$share/run.sh") >"$share/output.log" 2>&1
  else
    (cd "$share" && RBEE_VM=1 RBEE_SHARE="$share" bash "$share/run.sh") >"$share/output.log" 2>&1
  fi
  rc=$?
else
  echo "rbee-vm-run: no run.sh in the share" >"$share/output.log"
  rc=127
fi
say "run.sh exited with $rc"
journalctl -b --no-pager -o short-monotonic >"$share/journal.log" 2>&1
echo "$rc" >"$share/exit-code.tmp" && mv "$share/exit-code.tmp" "$share/exit-code"
sync
# --force: no orderly stop of every unit (saves ~10 s under TCG); the root image is a
# throw-away snapshot and everything in the share is already written.
systemctl poweroff --force
EOF
chmod 755 "$ROOTFS/usr/local/sbin/rbee-vm-run"
# Type=exec, not oneshot: a oneshot's start job would keep the boot "starting" until
# run.sh ends, and `systemctl is-system-running --wait` inside run.sh would never return.
cat >"$ROOTFS/etc/systemd/system/rbee-vm-run.service" <<'EOF'
[Unit]
Description=rbee VM test runner (/mnt/share/run.sh)
After=multi-user.target

[Service]
Type=exec
ExecStart=/usr/local/sbin/rbee-vm-run
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/rbee-vm-run.service \
  "$ROOTFS/etc/systemd/system/multi-user.target.wants/rbee-vm-run.service"

wait "$kernel_pid" || { cat "$WORK/kernel.log" >&2; die "kernel/initrd build failed (log above)"; }

# ext4 image: the files plus 512 MiB for what the tests write (sparse file).
size_mb=$(($(du -sm "$ROOTFS" | cut -f1) * 12 / 10 + 512))
mkfs.ext4 -q -F -L rbee-root -d "$ROOTFS" "$WORK/rootfs.img" "${size_mb}M" >/dev/null \
  || die "mkfs.ext4 -d failed"

mv "$WORK/vmlinuz" "$WORK/initrd.img" "$WORK/rootfs.img" "$WORK/kernel-version" "$VM_DIR/"
rm -rf "$WORK"
echo "$key" >"$VM_DIR/key"
log "built in $(($(date +%s) - started)) s: kernel $(cat "$VM_DIR/kernel-version"), rootfs ${size_mb} MiB ($(du -sm "$VM_DIR/rootfs.img" | cut -f1) MiB used)"
echo "$VM_DIR"
