#!/usr/bin/env bash
# mDNS end to end: two network namespaces joined by a veth pair, each with its own D-Bus system
# bus and avahi-daemon. A Hive announces _rbee-hive._tcp in one; a Queen in the other finds it,
# subscribes over the veth link and receives its telemetry (a worker the Hive runs). Each
# avahi-daemon is then restarted: the Queen browses again without dropping the Hive, the Hive
# announces again. Then the Hive stops and the Queen must drop it on the goodbye. Nothing outside the two namespaces, the temp
# directory and the test's own cgroup subtree is touched; only processes started here are killed.
#
#   tests/mdns/mdns_test.sh BUILD_DIR        (root; ctest -L mdns)
set -euo pipefail

BUILD=$(cd "${1:?usage: mdns_test.sh BUILD_DIR}" && pwd)
HIVE_BIN=$BUILD/hive/rbee-hive
QUEEN_BIN=$BUILD/queen/rbee-queen
WORKER_BIN=$BUILD/tests/rbee-test-worker
T0=$(date +%s.%N)

fail() {
  echo "mdns test: FAIL: $*" >&2
  exit 1
}
step() { printf 'mdns test: [%5.1fs] %s\n' "$(echo "$(date +%s.%N) - $T0" | bc)" "$*"; }

[ "$(id -u)" -eq 0 ] || fail "needs root: it creates network namespaces, a veth pair and cgroups"
for b in "$HIVE_BIN" "$QUEEN_BIN" "$WORKER_BIN"; do [ -x "$b" ] || fail "$b is not built"; done

# avahi-daemon and dbus-daemon are Debian packages (scripts/setup.sh installs them too).
if ! command -v avahi-daemon >/dev/null || ! command -v dbus-daemon >/dev/null; then
  echo "mdns test: installing avahi-daemon dbus"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends avahi-daemon dbus \
    >/dev/null || fail "cannot install avahi-daemon and dbus"
fi
for t in avahi-daemon dbus-daemon busctl ip nsenter unshare curl jq findmnt bc; do
  command -v "$t" >/dev/null || fail "$t is missing"
done

ID=$$
NS_A=rbee-mdns-$ID-a
NS_B=rbee-mdns-$ID-b
ADDR_A=10.213.7.1
ADDR_B=10.213.7.2
HIVE_ID=mdns-hive-$ID
T=$(mktemp -d /tmp/rbee-mdns.XXXXXX)
CG_MOUNT=$(findmnt -n -t cgroup2 -o TARGET | head -1)
[ -n "$CG_MOUNT" ] || fail "no cgroup2 mount"
CG=$CG_MOUNT/rbee-test-mdns-$ID
PIDS=()
NAMESPACES=()

cleanup() {
  local rc=$?
  set +e
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[i]}" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  if [ -d "$CG" ]; then
    [ -e "$CG/cgroup.kill" ] && echo 1 >"$CG/cgroup.kill"
    for _ in $(seq 50); do
      find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null
      [ -d "$CG" ] || break
      sleep 0.1
    done
  fi
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null; done
  if [ "$rc" -ne 0 ]; then
    for f in "$T"/*.log; do
      [ -f "$f" ] || continue
      echo "----- $(basename "$f") (last 30 lines)"
      tail -n 30 "$f"
    done
  fi
  rm -rf "$T"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the two namespaces and the link between them ---
for ns in "$NS_A" "$NS_B"; do
  if ! err=$(ip netns add "$ns" 2>&1); then
    fail "cannot create network namespace $ns ($err): this test needs root with CAP_SYS_ADMIN and network namespaces; it does not pass without them"
  fi
  NAMESPACES+=("$ns")
done
# Made inside namespace a with its peer moved straight to b: no host interface is involved.
ip -n "$NS_A" link add rbee-a type veth peer name rbee-b netns "$NS_B" ||
  fail "cannot create the veth pair between $NS_A and $NS_B"
ip -n "$NS_A" addr add "$ADDR_A/24" dev rbee-a
ip -n "$NS_B" addr add "$ADDR_B/24" dev rbee-b
for pair in "$NS_A rbee-a" "$NS_B rbee-b"; do
  set -- $pair
  ip -n "$1" link set lo up
  ip -n "$1" link set "$2" up
done
step "namespaces $NS_A ($ADDR_A) and $NS_B ($ADDR_B) joined by a veth pair"

in_ns() {  # in_ns NS cmd...: only the network namespace changes (cgroupfs stays visible)
  local ns=$1
  shift
  nsenter --net="/run/netns/$ns" "$@"
}
bg_in_ns() {  # as in_ns, in the background; $! is the command itself (exec), so PIDS can stop it
  local ns=$1
  shift
  (exec nsenter --net="/run/netns/$ns" "$@") &
}

# --- a private system bus and an avahi-daemon in each namespace ---
declare -A AVAHI_PID
forget_pid() {  # an ended process leaves PIDS: its number may be reused by someone else's
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}
start_bus_and_avahi() {  # side(a|b) ns iface
  local side=$1 ns=$2 iface=$3 dir=$T/$1
  mkdir -p "$dir"
  cat >"$dir/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$dir/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
CONF
  bg_in_ns "$ns" dbus-daemon --config-file="$dir/bus.conf" --nofork --nopidfile \
    >"$T/dbus-$side.log" 2>&1
  PIDS+=($!)
  for _ in $(seq 100); do [ -S "$dir/system_bus_socket" ] && break; sleep 0.05; done
  [ -S "$dir/system_bus_socket" ] || fail "the D-Bus daemon in $ns did not start"
  start_avahi "$@"
}
start_avahi() {  # side(a|b) ns iface
  local side=$1 ns=$2 iface=$3 dir=$T/$1
  cat >"$dir/avahi.conf" <<CONF
[server]
host-name=rbee-mdns-$side
use-ipv4=yes
use-ipv6=no
allow-interfaces=$iface
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
CONF
  # avahi-daemon keeps its pid file and socket in /run/avahi-daemon: a private tmpfs on /run in
  # its own mount namespace keeps the two daemons (and any host daemon) apart.
  DBUS_SYSTEM_BUS_ADDRESS=unix:path=$dir/system_bus_socket \
    bg_in_ns "$ns" unshare -m --propagation private sh -c \
    'mount -t tmpfs rbee-mdns /run && mkdir -p /run/avahi-daemon && exec avahi-daemon --no-chroot --no-drop-root --no-rlimits -f "$0"' \
    "$dir/avahi.conf" >>"$T/avahi-$side.log" 2>&1
  PIDS+=($!)
  AVAHI_PID[$side]=$!
  local state=""
  for _ in $(seq 200); do
    state=$(busctl --address="unix:path=$dir/system_bus_socket" call org.freedesktop.Avahi / \
      org.freedesktop.Avahi.Server GetState 2>/dev/null || true)
    [ "$state" = "i 2" ] && break
    sleep 0.05
  done
  [ "$state" = "i 2" ] || fail "avahi-daemon in $ns is not running (state: '${state:-no answer}')"
}
stop_avahi() {  # side(a|b): SIGTERM, as systemctl stop does; Avahi sends its goodbyes
  local pid=${AVAHI_PID[$1]}
  kill -TERM "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$pid" 2>/dev/null && fail "avahi-daemon ($1) did not exit on SIGTERM"
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}
start_bus_and_avahi a "$NS_A" rbee-a
start_bus_and_avahi b "$NS_B" rbee-b
step "a D-Bus system bus and avahi-daemon running in each namespace"

# --- the Hive in a, the Queen in b ---
head -c 24 /dev/urandom | base64 >"$T/token"
chmod 600 "$T/token"
TOKEN=$(cat "$T/token")
mkdir -p "$CG" "$T/logs"
: >"$T/ssh_config"
cat >"$T/hive.toml" <<CONF
[hive]
listen = "$ADDR_A:7835"
hive_id = "$HIVE_ID"
token_file = "$T/token"
backend = "cgroupfs"
cgroup_root = "$CG"
log_dir = "$T/logs"
interval_ms = 500
mdns = true

[services.sleeper]
command = ["$WORKER_BIN", "--port", "{port}"]
base_port = 8400
CONF
cat >"$T/queen.toml" <<CONF
[queen]
listen = "$ADDR_B:7833"
token_file = "$T/token"
ssh_config = "$T/ssh_config"
include = ["$HIVE_ID"]
mdns = true
CONF

DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/b/system_bus_socket \
  bg_in_ns "$NS_B" "$QUEEN_BIN" serve --config "$T/queen.toml" --log-level debug >"$T/queen.log" 2>&1
QUEEN_PID=$!
PIDS+=($QUEEN_PID)
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/a/system_bus_socket \
  bg_in_ns "$NS_A" "$HIVE_BIN" serve --config "$T/hive.toml" >"$T/hive.log" 2>&1
HIVE_PID=$!
PIDS+=($HIVE_PID)

QUEEN=http://$ADDR_B:7833
hive_json() {
  in_ns "$NS_B" curl -sf --max-time 2 "$QUEEN/v1/hives" 2>/dev/null |
    jq -c --arg id "$HIVE_ID" '.hives[] | select(.id == $id or .alias == $id)' 2>/dev/null || true
}
wait_for() {  # wait_for SECONDS what cmd...: until cmd succeeds
  local secs=$1 what=$2
  shift 2
  local deadline=$(($(date +%s) + secs))
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "$what (waited ${secs}s)"
    sleep 0.2
  done
}

hive_is_mdns() {
  local h
  h=$(hive_json)
  [ -n "$h" ] && [ "$(jq -r .source <<<"$h")" = mdns ] && [ "$(jq -r .id <<<"$h")" = "$HIVE_ID" ]
}
wait_for 30 "the Queen did not list $HIVE_ID with source mdns" hive_is_mdns
h=$(hive_json)
[ "$(jq -r .address <<<"$h")" = "http://$ADDR_A:7835" ] || fail "address is not the Hive's veth address: $h"
step "the Queen found the Hive over mDNS: $(jq -c '{id, alias, source, address, status}' <<<"$h")"

snapshots_flow() {
  local h
  h=$(hive_json)
  [ -n "$h" ] && [ "$(jq -r .status <<<"$h")" = healthy ] && [ "$(jq -r .snapshots <<<"$h")" -ge 2 ] &&
    [ "$(jq -r .pushed_from <<<"$h")" = "$ADDR_A" ]
}
wait_for 20 "no telemetry from $HIVE_ID reached the Queen over the veth link" snapshots_flow

in_ns "$NS_A" env RBEE_TOKEN="$TOKEN" "$HIVE_BIN" spawn sleeper --hive "http://$ADDR_A:7835" \
  >"$T/spawn.log" 2>&1 || fail "spawn on the Hive failed: $(cat "$T/spawn.log")"
worker_at_queen() {
  in_ns "$NS_B" curl -sf --max-time 2 "$QUEEN/v1/workers?hive=$HIVE_ID&state=ready" 2>/dev/null |
    jq -e '.workers[] | select(.service == "sleeper" and .port == 8400)' >/dev/null 2>&1
}
wait_for 20 "the worker the Hive runs did not reach the Queen as ready" worker_at_queen
step "telemetry flows: healthy, pushed from $ADDR_A, worker sleeper/8400 ready at the Queen"

# --- Avahi restarts ---
hive_gone() { [ -z "$(hive_json)" ]; }
count() { grep -c -- "$1" "$2" || true; }
more_than() { [ "$(count "$1" "$2")" -gt "$3" ]; }
FOUND_LINE="mDNS: $HIVE_ID at $ADDR_A"
FOUND_BEFORE=$(count "$FOUND_LINE" "$T/queen.log")
stop_avahi b
start_avahi b "$NS_B" rbee-b
wait_for 15 "the Queen did not find $HIVE_ID again after its own avahi-daemon restarted" \
  more_than "$FOUND_LINE" "$T/queen.log" "$FOUND_BEFORE"
sleep 2 # past the new browser's first full answer (AllForNow), when stale items are dropped
hive_is_mdns || fail "the Queen lost $HIVE_ID when its own avahi-daemon restarted: $(hive_json)"
grep -q "hive $HIVE_ID left mDNS" "$T/queen.log" &&
  fail "the Queen dropped $HIVE_ID when its own avahi-daemon restarted"
step "the Queen's avahi-daemon restarted: it browses again, found $HIVE_ID again, never dropped it"

ANNOUNCED_LINE="mDNS: announcing _rbee-hive._tcp $HIVE_ID"
ANNOUNCED_BEFORE=$(count "$ANNOUNCED_LINE" "$T/hive.log")
stop_avahi a
# The stopping daemon says goodbye for what it announced: the Queen drops the Hive.
wait_for 10 "the Queen still lists $HIVE_ID after the Hive's avahi-daemon stopped" hive_gone
start_avahi a "$NS_A" rbee-a
wait_for 15 "the Hive did not announce again after its avahi-daemon restarted" \
  more_than "$ANNOUNCED_LINE" "$T/hive.log" "$ANNOUNCED_BEFORE"
wait_for 20 "the Queen did not find $HIVE_ID again after the Hive announced again" hive_is_mdns
wait_for 20 "no telemetry from $HIVE_ID after it was found again" snapshots_flow
step "the Hive's avahi-daemon restarted: dropped on its goodbye, announced again, found again"

# --- the goodbye ---
LEFT_BEFORE=$(count "hive $HIVE_ID left mDNS" "$T/queen.log")
in_ns "$NS_A" env RBEE_TOKEN="$TOKEN" "$HIVE_BIN" stop sleeper/8400 --hive "http://$ADDR_A:7835" \
  >/dev/null 2>&1 || true
kill -TERM "$HIVE_PID"
for _ in $(seq 100); do kill -0 "$HIVE_PID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$HIVE_PID" 2>/dev/null && fail "the Hive did not exit on SIGTERM"
T_STOP=$(date +%s.%N)
step "Hive stopped (SIGTERM)"
# The Hive would only turn degraded after 1.5 s and down after 5 s without pushes; the goodbye
# removes it outright, so it must be gone (not merely down) well before a TTL could expire.
wait_for 10 "the Queen still lists $HIVE_ID after the Hive's goodbye" hive_gone
GONE_S=$(echo "$(date +%s.%N) - $T_STOP" | bc)
more_than "hive $HIVE_ID left mDNS" "$T/queen.log" "$LEFT_BEFORE" ||
  fail "the Queen did not log the mDNS removal"
step "the Queen dropped the Hive ${GONE_S}s after its goodbye"
echo "mdns test: PASS"
