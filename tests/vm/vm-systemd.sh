#!/usr/bin/env bash
# ctest "vm:systemd": installs rbee (the .deb that `cpack -G DEB` builds, or the bare binaries
# when cpack is not there) in the systemd test VM, starts rbee-hive.service with the systemd
# backend and checks, end to end, what that backend promises: transient units
# rbee-<service>@<port>.service under rbee.slice/rbee-<service>.slice, cgroup memory figures,
# MemoryMax (oom) and TasksMax, re-adoption across `systemctl restart rbee-hive`, external units,
# journal logs (and the previous run's, after systemd restarted a unit), stop (children
# included), exit codes, sd_notify status and /capabilities; that a start job that never ends fails
# the spawn at its deadline, and that the Hive hears no other unit's PropertiesChanged. Least
# privilege: the worker's ids, groups, capabilities and NoNewPrivs, every sandbox property the
# backend sets, and a hostile worker that tries to write its cgroup's limits, read the Hive's
# token file (the Hive runs with token_file = /etc/rbee/token) and leave its cgroup.
#
# Usage: tests/vm/vm-systemd.sh [BUILD_DIR]   (default: <repo>/build)
# Environment: RBEE_VM_TIMEOUT (600), RBEE_VM_KEEP_SHARE=1 (keep the share with journal.log),
# RBEE_VM_NO_DEB=1 (copy the binaries instead of installing the .deb).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD_DIR=$(cd "${1:-$REPO/build}" && pwd)

die() { echo "vm-systemd: error: $*" >&2; exit 1; }
BINARIES=("$BUILD_DIR/hive/rbee-hive" "$BUILD_DIR/tests/rbee-test-worker")
for b in "${BINARIES[@]}"; do
  [ -x "$b" ] || die "$b is missing: build the project first (cmake --build $BUILD_DIR)"
done

SHARE=$(mktemp -d "${TMPDIR:-/tmp}/rbee-vm-systemd.XXXXXX")
cleanup() {
  if [ "${RBEE_VM_KEEP_SHARE:-0}" = 1 ]; then echo "vm-systemd: share kept in $SHARE" >&2; else rm -rf "$SHARE"; fi
}
trap cleanup EXIT
mkdir "$SHARE/bin" "$SHARE/units"
cp "${BINARIES[@]}" "$SHARE/bin/"
cp "$REPO"/units/*.service "$REPO"/units/*.slice "$SHARE/units/"
cp "$REPO/packaging/postinst" "$SHARE/postinst"

# The package, when cpack can build it (the build dir is configured with CPack).
if [ "${RBEE_VM_NO_DEB:-0}" != 1 ] && command -v cpack >/dev/null && [ -f "$BUILD_DIR/CPackConfig.cmake" ]; then
  if (cd "$BUILD_DIR" && cpack -G DEB -B "$SHARE/deb" >"$SHARE/cpack.log" 2>&1); then
    mv "$SHARE"/deb/rbee_*.deb "$SHARE/rbee.deb" && rm -rf "$SHARE/deb"
  else
    echo "vm-systemd: warning: cpack -G DEB failed (see below); installing the binaries instead" >&2
    tail -n 5 "$SHARE/cpack.log" >&2
  fi
fi

cat >"$SHARE/run.sh" <<'EOF'
#!/bin/bash
# Runs in the guest as root from rbee-vm-run.service; $RBEE_SHARE is the 9p share.
set -uo pipefail
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
not() { ! "$@"; }
t0=$(date +%s.%N)
since() { printf '%.1f' "$(echo "$(date +%s.%N) $t0" | awk '{print $1 - $2}')"; }

timeout 120 systemctl is-system-running --wait >/dev/null || true

# --- install ------------------------------------------------------------------------------
check "no rbee-worker account before the install" sh -c '! getent passwd rbee-worker >/dev/null'
if [ -f "$RBEE_SHARE/rbee.deb" ]; then
  if dpkg -i "$RBEE_SHARE/rbee.deb" >/tmp/dpkg.log 2>&1; then
    pass "dpkg -i rbee.deb"
  else
    # The host's shlibdeps may name packages the guest's release spells differently
    # (libspdlog1.10-fmt9 vs libspdlog1.10); the libraries themselves are there (ldd below).
    echo "note: dpkg -i failed on dependencies; installing with --force-depends:"
    grep -i 'depends\|not installed' /tmp/dpkg.log | head -5 | sed 's/^/  /'
    dpkg -i --force-depends "$RBEE_SHARE/rbee.deb" >/tmp/dpkg.log 2>&1 \
      && pass "dpkg -i --force-depends rbee.deb" || { fail "dpkg -i rbee.deb"; cat /tmp/dpkg.log; }
  fi
else
  echo "note: no .deb in the share; copying the binaries and units"
  install -m 755 "$RBEE_SHARE/bin/rbee-hive" /usr/bin/rbee-hive
  install -m 644 "$RBEE_SHARE"/units/* /etc/systemd/system/
  # What the package's postinst does (the account workers run as by default).
  sh "$RBEE_SHARE/postinst" configure && pass "postinst configure" || fail "postinst configure"
fi
check "the install created rbee-worker ($(getent passwd rbee-worker))" sh -c 'getent passwd rbee-worker >/dev/null'
install -m 755 "$RBEE_SHARE/bin/rbee-test-worker" /usr/bin/rbee-test-worker
missing=$(ldd /usr/bin/rbee-hive 2>&1 | grep 'not found')
check "rbee-hive: all shared libraries found ${missing}" [ -z "$missing" ]

mkdir -p /etc/rbee
cat >/etc/rbee/hive.toml <<'TOML'
[hive]
backend = "auto"
interval_ms = 500
stop_timeout_ms = 5000
token_file = "/etc/rbee/token"

[services.tw]
command = ["/usr/bin/rbee-test-worker", "--port", "{port}"]
base_port = 9000

[services.mem]
command = ["/usr/bin/rbee-test-worker", "--port", "{port}", "--memory-mb", "200"]
base_port = 9200
memory_max = "64M"

[services.pids]
command = ["/usr/bin/rbee-test-worker", "--port", "{port}", "--children", "2"]
base_port = 9300
pids_max = 4
restart = "no"
allow_args = true

[services.hello]
command = ["/bin/sh", "-c", "echo hello-from-worker; exec /usr/bin/rbee-test-worker --port $0", "{port}"]
base_port = 9400

# What a hostile worker tries first: write its own cgroup's limits, read the Hive's token, leave
# its cgroup. Each attempt prints one word; a target that is not there prints a MISSING word.
[services.probe]
command = ["/bin/sh", "-c", "cg=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup); echo CG=$cg; for f in pids.max:4242 memory.max:424200000; do n=${f%%:*}; if [ ! -f $cg/$n ]; then echo LIMIT-MISSING-$n; elif (echo ${f#*:} > $cg/$n) 2>/dev/null; then echo LIMIT-WRITTEN-$n; else echo LIMIT-DENIED-$n; fi; done; if [ ! -e /etc/rbee/token ]; then echo TOKEN-MISSING; elif cat /etc/rbee/token >/dev/null 2>&1; then echo TOKEN-READ; else echo TOKEN-DENIED; fi; echo $$ > /sys/fs/cgroup/cgroup.procs 2>/dev/null && echo ESCAPED || echo STAYED; exec /usr/bin/rbee-test-worker --port $0", "{port}"]
base_port = 9600

[services.fail]
command = ["/usr/bin/rbee-test-worker", "--port", "{port}", "--exit-after-ms", "1500", "--exit-code", "3"]
base_port = 9500
restart = "no"

[services.hang]
command = ["/usr/bin/rbee-test-worker", "--port", "{port}"]
base_port = 9700

# Fails once, then runs: systemd's Restart=on-failure starts it again. Its marker lives in /etc,
# which ProtectSystem=full makes read-only unless read_write_paths opens it.
[services.flap]
command = ["/bin/sh", "-c", "if [ -e /etc/rbee-flap/ran-$0 ]; then echo flap-second-run-$0; exec /usr/bin/rbee-test-worker --port $0; fi; touch /etc/rbee-flap/ran-$0 && echo flap-first-run-$0; exit 7", "{port}"]
base_port = 9800
restart = "on-failure"
read_write_paths = ["/etc/rbee-flap"]
TOML
# The Hive's token: 0600 root, what a worker must not read.
install -m 0600 /dev/null /etc/rbee/token
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >/etc/rbee/token
TOKEN=$(cat /etc/rbee/token)
install -d -m 0700 -o rbee-worker -g rbee-worker /etc/rbee-flap
# The Hive's client commands with its token (spawn, stop and logs need it; ps does not).
cat >/usr/local/bin/hive <<'SH'
#!/bin/sh
sub=$1; shift
exec rbee-hive "$sub" --token-file /etc/rbee/token "$@"
SH
chmod 755 /usr/local/bin/hive
# A slice whose start waits for a oneshot that takes minutes: a worker's start job in it never ends.
cat >/etc/systemd/system/rbee-hold.service <<'UNIT'
[Service]
Type=oneshot
ExecStart=/bin/sleep 600
TimeoutStartSec=infinity
UNIT
cat >/etc/systemd/system/rbee-hang.slice <<'UNIT'
[Unit]
Requires=rbee-hold.service
After=rbee-hold.service
UNIT
# Debug logging: each PropertiesChanged the Hive receives is a line "PropertiesChanged of UNIT".
mkdir -p /etc/systemd/system/rbee-hive.service.d
cat >/etc/systemd/system/rbee-hive.service.d/debug.conf <<'UNIT'
[Service]
ExecStart=
ExecStart=/usr/bin/rbee-hive serve --config /etc/rbee/hive.toml --log-level debug
UNIT
systemctl daemon-reload

# --- helpers --------------------------------------------------------------------------------
H=http://127.0.0.1:7835
ps_json() { rbee-hive ps --json 2>/dev/null | tr -d '\n'; }
# The worker object of SERVICE INSTANCE, or nothing, with its nested objects (pressure,
# memory_events) written as null so that `field` sees only its own members. Balanced braces by
# a recursive pattern: the guest has perl-base only, no JSON module.
worker() { ps_json | perl -ne 'my $o = qr/(\{(?:[^{}"]++|"(?:[^"\\]|\\.)*+"|(?-1))*+\})/; while (/(?=$o)/g) { my $w = $1; next unless $w =~ /^\{\s*"service"\s*:\s*"\Q'"$1"'\E"\s*,\s*"instance"\s*:\s*"\Q'"$2"'\E"/; $w =~ s/(?<=:)\s*$o/null/g; print "$w\n"; last }'; }
# A field's raw JSON value (string without quotes) from an object on stdin.
field() { perl -ne 'if (/"\Q'"$1"'\E"\s*:\s*("([^"]*)"|[^,}\]]+|\[[^\]]*\])/) { print defined $2 ? $2 : $1 }'; }
wfield() { worker "$1" "$2" | field "$3"; }
# wait_for SECONDS CMD...: polls CMD every 0.5 s until it succeeds.
wait_for() {
  local deadline=$(($(date +%s) + $1)); shift
  until "$@"; do [ "$(date +%s)" -ge "$deadline" ] && return 1; sleep 0.5; done
}
state_is() { [ "$(wfield "$1" "$2" state)" = "$3" ]; }
http_get() { # PATH [TOKEN] -> response, headers and body (HTTP/1.0 over bash /dev/tcp)
  exec 3<>/dev/tcp/127.0.0.1/7835 || return 1
  {
    printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n' "$1"
    [ -z "${2:-}" ] || printf 'Authorization: Bearer %s\r\n' "$2"
    printf 'Connection: close\r\n\r\n'
  } >&3
  cat <&3; exec 3<&-
}
body() { sed '1,/^\r\?$/d'; } # the body of a response on stdin
show() { echo "  $1: $(worker "$2" "$3")"; }

# --- the Hive --------------------------------------------------------------------------------
if systemctl start rbee-hive; then pass "systemctl start rbee-hive (t+$(since) s)"
else fail "systemctl start rbee-hive"; systemctl status rbee-hive --no-pager; journalctl -u rbee-hive --no-pager | tail -30; fi
check "rbee-hive answers ps" wait_for 20 rbee-hive ps
caps=$(http_get /capabilities | tail -n 1)
echo "  capabilities: ${caps:0:300}"
check "/capabilities says backend systemd" grep -q '"backend" *: *"systemd"' <<<"$caps"
check "/capabilities says auth bearer (token_file)" grep -q '"auth" *: *"bearer"' <<<"$caps"
# With a token, root on this machine needs it too: a spawn and a log read without it are refused.
rbee-hive spawn tw --port 9009 >/tmp/notoken.out 2>&1 && nt_rc=0 || nt_rc=$?
echo "  spawn without the token (rc $nt_rc): $(head -c 200 /tmp/notoken.out)"
check "spawn without the token is refused (401)" sh -c '[ "$0" != 0 ] && grep -q 401 /tmp/notoken.out' "$nt_rc"
check "no unit for the refused spawn" not systemctl is-active -q rbee-tw@9009.service
status_line=$(http_get /v1/workers/tw/9001/logs | head -n 1 | tr -d '\r')
check "GET /v1/workers/tw/9001/logs without the token: 401 [$status_line]" grep -q "^HTTP/1.[01] 401 " <<<"$status_line"

# --- spawn, cgroup, ready ----------------------------------------------------------------------
hive spawn tw --port 9001 || true
cg=/sys/fs/cgroup/rbee.slice/rbee-tw.slice/rbee-tw@9001.service
check "spawn tw/9001: unit rbee-tw@9001.service active" wait_for 20 systemctl is-active -q rbee-tw@9001.service
check "cgroup $cg exists" [ -d "$cg" ]
check "tw/9001 reaches ready (t+$(since) s)" wait_for 30 state_is tw 9001 ready
show tw/9001 tw 9001
check "tw/9001 unit field is rbee-tw@9001.service" [ "$(wfield tw 9001 unit)" = rbee-tw@9001.service ]
check "tw/9001 answers HTTP 200 on 127.0.0.1:9001" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9001 && head -1 <&3 | grep -q "200 OK"'
check "tw/9001 spawned_by hive" [ "$(wfield tw 9001 spawned_by)" = hive ]
check "tw/9001 mem_source cgroup" [ "$(wfield tw 9001 mem_source)" = cgroup ]
ws=$(wfield tw 9001 working_set_bytes)
check "tw/9001 working_set_bytes present ($ws)" [ -n "$ws" ]

# --- least privilege ---------------------------------------------------------------------------
pid=$(wfield tw 9001 main_pid)
uid=$(id -u rbee-worker)
gid=$(id -g rbee-worker)
# A field of /proc/PID/status: all its values, space separated (Uid: real effective saved fs).
st() { awk -v k="$1:" '$1 == k {$1 = ""; sub(/^[ \t]+/, ""); print}' "/proc/$pid/status"; }
echo "  tw/9001 (pid $pid): Uid $(st Uid) | Gid $(st Gid) | Groups $(st Groups) | CapInh $(st CapInh) CapPrm $(st CapPrm) CapEff $(st CapEff) CapBnd $(st CapBnd) CapAmb $(st CapAmb) | Umask $(st Umask)"
check "rbee-worker is not root (uid $uid, gid $gid)" [ -n "$uid" -a "$uid" != 0 -a -n "$gid" -a "$gid" != 0 ]
check "tw/9001 runs as rbee-worker: real, effective, saved and fs uid $uid" \
  [ "$(st Uid | tr -s '\t ' ' ')" = "$uid $uid $uid $uid" ]
check "tw/9001 runs in group rbee-worker: real, effective, saved and fs gid $gid" \
  [ "$(st Gid | tr -s '\t ' ' ')" = "$gid $gid $gid $gid" ]
check "tw/9001 supplementary groups are rbee-worker's own ($gid)" [ "$(st Groups)" = "$gid" ]
check "tw/9001 NoNewPrivs 1" [ "$(st NoNewPrivs)" = 1 ]
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
  check "tw/9001 $c 0000000000000000" [ "$(st $c)" = 0000000000000000 ]
done
check "tw/9001 Umask 0027" [ "$(st Umask)" = 0027 ]

# --- the unit's sandbox ----------------------------------------------------------------------
# Every property add_sandbox() (hive/systemd_backend.cpp) sets, as systemd reports it.
prop() { systemctl show -P "$2" "$1" 2>/dev/null; }
# VALUE is one of the rest.
one_of() { local v=$1; shift; for a; do [ "$v" = "$a" ] && return 0; done; return 1; }
for kv in User=$uid Group=$gid SupplementaryGroups=$gid; do
  v=$(prop rbee-tw@9001.service "${kv%%=*}")
  check "unit has $kv (rbee-worker) [$v]" one_of "$v" "${kv#*=}" rbee-worker
done
# Empty means no capability at all; a unit that does not set it shows the full list.
check "unit CapabilityBoundingSet empty [$(prop rbee-tw@9001.service CapabilityBoundingSet | head -c 60)]" \
  [ -z "$(prop rbee-tw@9001.service CapabilityBoundingSet)" ]
check "unit AmbientCapabilities empty" [ -z "$(prop rbee-tw@9001.service AmbientCapabilities)" ]
for kv in NoNewPrivileges=yes PrivateTmp=yes ProtectKernelTunables=yes ProtectKernelModules=yes \
    ProtectKernelLogs=yes ProtectControlGroups=yes ProtectClock=yes ProtectHostname=yes \
    RestrictSUIDSGID=yes LockPersonality=yes RestrictRealtime=yes ProtectSystem=full \
    ProtectHome=read-only UMask=0027 Type=exec CollectMode=inactive-or-failed; do
  v=$(prop rbee-tw@9001.service "${kv%%=*}")
  check "unit has $kv [$v]" [ "$v" = "${kv#*=}" ]
done
check "unit has no ReadWritePaths (its service names none) [$(prop rbee-tw@9001.service ReadWritePaths)]" \
  [ -z "$(prop rbee-tw@9001.service ReadWritePaths)" ]
# The sandbox in effect: /etc and /usr read-only, /tmp private, /home read-only.
# mountinfo: field 5 is the mount point, field 6 its options.
mounts() { awk '$5 ~ "^/(etc|usr|tmp|home)$" {print $5, $6}' "/proc/$1/mountinfo" | sort -u | tr '\n' ';'; }
ro_mounts() { awk '($5 == "/usr" || $5 == "/etc" || $5 == "/home") && $6 ~ /^ro(,|$)/ {print $5}' "/proc/$1/mountinfo" | sort -u | tr '\n' ' '; }
echo "  mounts of tw/9001: $(mounts "$pid")"
check "tw/9001 sees /etc, /home and /usr read-only [$(ro_mounts "$pid")]" [ "$(ro_mounts "$pid")" = "/etc /home /usr " ]
check "tw/9001 has a private /tmp" [ "$(stat -L -c %d:%i "/proc/$pid/root/tmp")" != "$(stat -c %d:%i /tmp)" ]

# --- a hostile worker --------------------------------------------------------------------------
hive spawn probe --port 9601 || true
check "probe/9601 reaches ready" wait_for 30 state_is probe 9601 ready
plog=$(hive logs probe/9601 2>&1)
echo "  probe log: $(tr '\n' ' ' <<<"$plog")"
pcg=/sys/fs/cgroup/rbee.slice/rbee-probe.slice/rbee-probe@9601.service
check "probe/9601 ran in its unit's cgroup (CG=$pcg)" grep -qx "CG=$pcg" <<<"$plog"
check "probe/9601 cannot write its cgroup's pids.max" grep -qx LIMIT-DENIED-pids.max <<<"$plog"
check "probe/9601 cannot write its cgroup's memory.max" grep -qx LIMIT-DENIED-memory.max <<<"$plog"
check "probe/9601 cgroup limits unchanged (pids.max $(cat $pcg/pids.max), memory.max $(cat $pcg/memory.max))" \
  [ "$(cat $pcg/pids.max)" != 4242 -a "$(cat $pcg/memory.max)" = max ]
check "the Hive's token file /etc/rbee/token is 0600 root" [ "$(stat -c %a:%U /etc/rbee/token)" = 600:root ]
check "probe/9601 cannot read the Hive's token file /etc/rbee/token" grep -qx TOKEN-DENIED <<<"$plog"
check "the token is not in probe/9601's log" not grep -qF -- "$TOKEN" <<<"$plog"
check "probe/9601 cannot leave its cgroup" grep -qx STAYED <<<"$plog"
check "probe/9601 still in its unit's cgroup" grep -q "rbee-probe@9601.service" "/proc/$(wfield probe 9601 main_pid)/cgroup"
hive stop probe/9601 >/dev/null 2>&1 || true

# --- MemoryMax -> oom ---------------------------------------------------------------------------
# The unit may be oom-killed and collected before systemctl asks: the spawn reply has what the
# Hive read from the unit's cgroup (memory.max) at once.
hive spawn mem --port 9201 >/tmp/mem.out 2>&1 || true
check "mem/9201 MemoryMax=64M on the unit (memory.max in the spawn reply)" \
  grep -q '"memory_max_bytes" *: *67108864' /tmp/mem.out
check "mem/9201 over its MemoryMax is reported oom" wait_for 40 state_is mem 9201 oom
show mem/9201 mem 9201
ok_kills=$(wfield mem 9201 oom_kills)
check "mem/9201 oom_kills >= 1 ($ok_kills)" [ "${ok_kills:-0}" -ge 1 ]

# --- TasksMax ------------------------------------------------------------------------------------
# 9301: 3 tasks under TasksMax=4, runs. 9302: --children 10 (the last flag wins): the 4th fork
# fails (EAGAIN), the test worker exits 2, reported failed, and its log says why.
hive spawn pids --port 9301 || true
check "pids/9301 TasksMax=4 on the unit" [ "$(systemctl show -P TasksMax rbee-pids@9301.service)" = 4 ]
check "pids.max in the unit's cgroup is 4" [ "$(cat /sys/fs/cgroup/rbee.slice/rbee-pids.slice/rbee-pids@9301.service/pids.max 2>/dev/null)" = 4 ]
check "pids/9301 reaches ready" wait_for 30 state_is pids 9301 ready
pc=$(wfield pids 9301 pid_count)
check "pids/9301 pid_count 3 <= 4 ($pc)" test "${pc:-99}" -eq 3

# --- stop with children ------------------------------------------------------------------------
# pids/9301 forked 2 children: stop ends all 3 processes and the unit's cgroup goes.
pcg9301=/sys/fs/cgroup/rbee.slice/rbee-pids.slice/rbee-pids@9301.service
procs=$(cat "$pcg9301/cgroup.procs" 2>/dev/null | tr '\n' ' ')
echo "  pids/9301 processes before the stop: $procs"
check "pids/9301 has 3 processes in its cgroup before the stop ($procs)" [ "$(wc -w <<<"$procs")" = 3 ]
hive stop pids/9301 >/tmp/stop9301.out 2>&1 && pass "rbee-hive stop pids/9301" || { fail "rbee-hive stop pids/9301"; cat /tmp/stop9301.out; }
all_gone() { for p in $procs; do [ -e "/proc/$p" ] && return 1; done; return 0; }
check "every process of pids/9301 is gone ($procs)" wait_for 10 all_gone
check "rbee-pids@9301.service is inactive" wait_for 10 not systemctl is-active -q rbee-pids@9301.service
check "the cgroup of pids/9301 is gone" wait_for 10 test ! -e "$pcg9301"
hive spawn pids --port 9302 -- --children 10 || true
check "pids/9302 (--children 10) over TasksMax=4 is reported failed" wait_for 30 state_is pids 9302 failed
show pids/9302 pids 9302
check "pids/9302 exit_code 2" [ "$(wfield pids 9302 exit_code)" = 2 ]
check "pids/9302 log says fork failed" sh -c 'hive logs pids/9302 | grep -q fork'
check "kernel: fork rejected by pids controller in rbee-pids@9302.service" \
  sh -c 'journalctl -k --no-pager -q | grep -q "fork rejected by pids controller in /rbee.slice/rbee-pids.slice/rbee-pids@9302.service"'

# --- journal logs --------------------------------------------------------------------------------
hive spawn hello --port 9401 || true
wait_for 30 state_is hello 9401 ready
check "rbee-hive logs hello/9401 has the worker's output" wait_for 10 sh -c 'hive logs hello/9401 | grep -q hello-from-worker'
echo "  logs: $(hive logs hello/9401 2>&1 | head -3 | tr '\n' '|')"

# --- previous run's log (journal, the invocation before the last) -------------------------------
# flap/9801 prints flap-first-run and exits 7, systemd starts it again (Restart=on-failure), the
# second run prints flap-second-run and stays. ?previous=1 is the first run, the plain log the second.
hive spawn flap --port 9801 || true
check "flap/9801 restarted by systemd once" wait_for 30 sh -c '[ "$(systemctl show -P NRestarts rbee-flap@9801.service)" = 1 ]'
check "flap/9801 reaches ready after its restart" wait_for 30 state_is flap 9801 ready
show flap/9801 flap 9801
check "flap/9801 spawned_by hive after systemd restarted it" [ "$(wfield flap 9801 spawned_by)" = hive ]
check "flap/9801 restarts 1" [ "$(wfield flap 9801 restarts)" = 1 ]
check "flap/9801 main_pid is the unit's MainPID ($(systemctl show -P MainPID rbee-flap@9801.service))" \
  [ "$(wfield flap 9801 main_pid)" = "$(systemctl show -P MainPID rbee-flap@9801.service)" ]
check "flap/9801 unit has ReadWritePaths=/etc/rbee-flap [$(prop rbee-flap@9801.service ReadWritePaths)]" \
  [ "$(prop rbee-flap@9801.service ReadWritePaths)" = /etc/rbee-flap ]
check "flap/9801 unit has Restart=on-failure" [ "$(prop rbee-flap@9801.service Restart)" = on-failure ]
check "flap/9801 first run wrote its marker in /etc/rbee-flap (read_write_paths)" test -e /etc/rbee-flap/ran-9801
flog=$(http_get "/v1/workers/flap/9801/logs" "$TOKEN")
fprev=$(http_get "/v1/workers/flap/9801/logs?previous=1" "$TOKEN")
echo "  logs: $(body <<<"$flog" | tr '\n' '|')"
echo "  journal of rbee-flap@9801 (its output and systemd's lines about it):"
journalctl -q --no-pager -o json --output-fields=MESSAGE,_SYSTEMD_INVOCATION_ID,INVOCATION_ID \
  _SYSTEMD_UNIT=rbee-flap@9801.service + UNIT=rbee-flap@9801.service _PID=1 |
  perl -ne 'my ($i) = /"(?:_SYSTEMD_)?INVOCATION_ID"\s*:\s*"(\w{8})/; my ($m) = /"MESSAGE"\s*:\s*"([^"]*)"/;
    printf "    %-8s %s\n", $i // "-", $m // "?"' | tail -n 12
echo "  logs?previous=1: $(head -n 1 <<<"$fprev" | tr -d '\r') $(body <<<"$fprev" | tr '\n' '|')"
check "flap/9801 logs: the second run's output" grep -qx flap-second-run-9801 < <(body <<<"$flog")
check "flap/9801 logs: not the first run's" not grep -q flap-first-run < <(body <<<"$flog")
check "flap/9801 logs?previous=1: 200" grep -q "^HTTP/1.[01] 200 " < <(head -n 1 <<<"$fprev")
check "flap/9801 logs?previous=1: the first run's output" grep -qx flap-first-run-9801 < <(body <<<"$fprev")
check "flap/9801 logs?previous=1: not the second run's" not grep -q flap-second-run < <(body <<<"$fprev")
check "hello/9401 (one run) logs?previous=1: 404" \
  grep -q "^HTTP/1.[01] 404 " < <(http_get "/v1/workers/hello/9401/logs?previous=1" "$TOKEN" | head -n 1)

# --- exit code ----------------------------------------------------------------------------------
hive spawn fail --port 9501 || true
check "fail/9501 exiting 3 is reported failed" wait_for 30 state_is fail 9501 failed
show fail/9501 fail 9501
check "fail/9501 exit_code 3" [ "$(wfield fail 9501 exit_code)" = 3 ]

# --- start deadline ----------------------------------------------------------------------------
# stop_timeout_ms = 5000 is the start's deadline: systemd queues the job (it waits for its slice)
# and no JobRemoved comes. The spawn fails naming the unit and the job, and the unit is stopped.
t_hang=$(date +%s)
hive spawn hang --port 9701 >/tmp/hang.out 2>&1 && hang_rc=0 || hang_rc=$?
t_hang=$(($(date +%s) - t_hang))
echo "  spawn hang/9701 (rc $hang_rc, ${t_hang} s): $(head -c 300 /tmp/hang.out)"
check "spawn hang/9701 fails" [ "$hang_rc" != 0 ]
check "its error names the unit and the job" grep -q 'did not start rbee-hang@9701.service within 5000 ms (job /org/freedesktop/systemd1/job/[0-9]* did not finish)' /tmp/hang.out
check "it failed at the deadline, not before (${t_hang} s)" [ "$t_hang" -ge 4 -a "$t_hang" -le 9 ]
check "rbee-hang@9701.service is not left starting" wait_for 10 sh -c '! systemctl is-active -q rbee-hang@9701.service && [ "$(systemctl show -P ActiveState rbee-hang@9701.service)" != activating ]'
check "rbee-hive still answers" sh -c 'rbee-hive ps >/dev/null'
systemctl stop rbee-hold.service 2>/dev/null || true

# --- only its own units' PropertiesChanged ---------------------------------------------------------
# A unit outside the layout and one named like a worker outside rbee.slice change state (start,
# exit, collected); neither reaches the Hive. Its own fail/9501 above did (the positive control).
systemd-run --quiet --unit=noise-probe /bin/sleep 1
systemd-run --quiet --unit=rbee-noise@9901 /bin/sleep 1
sleep 3
hive_log() { journalctl -u rbee-hive --no-pager -q -o cat; }
own=$(hive_log | grep -c 'PropertiesChanged of rbee-fail@9501.service')
other=$(hive_log | grep -c 'PropertiesChanged of noise-probe.service\|PropertiesChanged of rbee-noise@9901.service')
all=$(hive_log | grep -c 'PropertiesChanged of ')
check "the Hive heard PropertiesChanged of its own rbee-fail@9501 ($own)" [ "$own" -ge 1 ]
check "the Hive heard none of noise-probe and rbee-noise@9901 ($other)" [ "$other" = 0 ]
echo "  PropertiesChanged lines in the Hive's log: $all, of: $(hive_log | sed -n 's/.*PropertiesChanged of //p' | sort -u | tr '\n' ' ')"
check "every PropertiesChanged the Hive heard is of an rbee unit" sh -c '! journalctl -u rbee-hive --no-pager -q -o cat | grep "PropertiesChanged of " | grep -vq "PropertiesChanged of rbee-"'
# The bus itself: the Hive's match rules (dbus-daemon's Stats interface, where it is built in).
hive_pid=$(systemctl show -P MainPID rbee-hive)
hive_name=$(busctl list --no-legend 2>/dev/null | awk -v p="$hive_pid" '$1 ~ /^:/ && $2 == p {print $1; exit}')
if busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.Debug.Stats \
    GetAllMatchRules >/tmp/rules.txt 2>/dev/null && [ -n "$hive_name" ]; then
  # a{sas} N "NAME" COUNT "RULE"...: the Hive's rules, one a line.
  NAME=$hive_name perl -e 'local $/; $_ = <STDIN>; my @t = /("[^"]*"|\d+)/g; shift @t;
      while (@t) { my ($n, $c) = splice(@t, 0, 2); my @r = splice(@t, 0, $c);
        next unless $n eq "\"$ENV{NAME}\""; s/^"|"$//g for @r; print "$_\n" for @r }' \
    </tmp/rules.txt >/tmp/hive-rules.txt
  echo "  the Hive ($hive_name) has $(wc -l </tmp/hive-rules.txt) match rules; PropertiesChanged ones:"
  grep PropertiesChanged /tmp/hive-rules.txt | head -5 | sed 's/^/    /'
  check "the Hive has PropertiesChanged matches, each for one unit path" \
    sh -c 'grep -q PropertiesChanged /tmp/hive-rules.txt && ! grep PropertiesChanged /tmp/hive-rules.txt | grep -vq "path=.*/unit/rbee_2d"'
else
  echo "  note: no Stats interface on this dbus-daemon (or no Hive connection found); rules not listed"
fi

# --- external unit --------------------------------------------------------------------------------
systemd-run --quiet --slice=rbee-ext.slice --unit=rbee-ext@9100 /usr/bin/rbee-test-worker --port 9100
check "external rbee-ext@9100 is listed" wait_for 15 sh -c "rbee-hive ps --json | grep -q '\"service\" *: *\"ext\"'"
show ext/9100 ext 9100
check "ext/9100 spawned_by external" [ "$(wfield ext 9100 spawned_by)" = external ]

# --- sd_notify status -------------------------------------------------------------------------
show_hive=$(systemctl show -p ActiveState,StatusText rbee-hive)
echo "  $(tr '\n' ' ' <<<"$show_hive")"
check "rbee-hive ActiveState=active" grep -qx 'ActiveState=active' <<<"$show_hive"
check "rbee-hive StatusText mentions workers" grep -q '^StatusText=.*workers' <<<"$show_hive"

# --- restart re-adopts ----------------------------------------------------------------------------
pid_before=$(wfield tw 9001 main_pid)
systemctl restart rbee-hive && pass "systemctl restart rbee-hive" || fail "systemctl restart rbee-hive"
check "tw/9001 unit still active after the restart" systemctl is-active -q rbee-tw@9001.service
check "rbee-hive answers after the restart" wait_for 20 rbee-hive ps
check "tw/9001 re-adopted, ready" wait_for 20 state_is tw 9001 ready
pid_after=$(wfield tw 9001 main_pid)
show tw/9001 tw 9001
check "tw/9001 same main_pid ($pid_before -> $pid_after)" test -n "$pid_before" -a "$pid_before" = "$pid_after"
check "tw/9001 spawned_by hive after the restart" [ "$(wfield tw 9001 spawned_by)" = hive ]

# --- stop ---------------------------------------------------------------------------------------------
hive stop tw/9001 >/tmp/stop.out 2>&1
echo "  stop: $(head -c 300 /tmp/stop.out)"
check "rbee-hive stop tw/9001 reports exited" grep -q '"state" *: *"exited"\|exited' /tmp/stop.out
check "rbee-tw@9001.service is gone" wait_for 10 sh -c '! systemctl is-active -q rbee-tw@9001.service'
check "its cgroup is gone" wait_for 10 test ! -e "$cg"
# The restarted Hive followed the unit it adopted: its PropertiesChanged reached the new process.
new_pid=$(systemctl show -P MainPID rbee-hive)
check "the restarted Hive heard the re-adopted rbee-tw@9001 stop" \
  wait_for 10 sh -c "journalctl _PID=$new_pid -q -o cat | grep -q 'PropertiesChanged of rbee-tw@9001.service'"

echo "--- rbee-hive ps"; rbee-hive ps 2>&1 | head -20
journalctl -u rbee-hive --no-pager -o short-monotonic >"$RBEE_SHARE/hive-journal.log" 2>&1
echo "guest checks took $(since) s; kernel $(uname -r), $(systemctl --version | head -1)"
if ((failures)); then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
EOF
chmod 755 "$SHARE/run.sh"

"$HERE/run-in-vm.sh" "$SHARE" "${RBEE_VM_TIMEOUT:-600}"
