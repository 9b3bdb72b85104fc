#!/usr/bin/env bash
# The main job: a Queen and a Hive on this machine, a demo worker, discovered end to end.
# The Queen finds the Hive through an SSH config of the demo's own, subscribes, and shows the
# worker from the telemetry the Hive pushes.
# Usage: scripts/demo.sh [SECONDS]   (default 15; 0 = until Ctrl-C)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
SECONDS_TO_RUN=${1:-15}
HIVE="$PWD/$BUILD_DIR/hive/rbee-hive"
QUEEN="$PWD/$BUILD_DIR/queen/rbee-queen"
WORKER="$PWD/$BUILD_DIR/tests/rbee-test-worker"
HIVE_PORT=${RBEE_DEMO_HIVE_PORT:-7835}
QUEEN_PORT=${RBEE_DEMO_QUEEN_PORT:-7833}
HIVE_URL="http://127.0.0.1:$HIVE_PORT"
QUEEN_URL="http://127.0.0.1:$QUEEN_PORT"

work=$(mktemp -d /tmp/rbee-demo.XXXXXX)
# The worker runs as rbee-worker, which may not reach the checkout (a clone under /root, which
# is 0700). Its binary gets a directory of its own that others can enter: under /var/lib, since
# under the systemd backend a worker's /tmp and /var/tmp are private.
bin=$(mktemp -d /var/lib/rbee-demo.XXXXXX)
chmod 0755 "$bin"
install -m 0755 "$WORKER" "$bin/rbee-test-worker"
cat >"$work/hive.toml" <<TOML
[hive]
listen = "127.0.0.1:$HIVE_PORT"
hive_id = "demo-$(hostname)"
log_dir = "$work/logs"
interval_ms = 1000
retention_s = 30

# A stand-in for an inference server: listens on its port, burns 20% of a core, holds 64 MiB.
[services.demo]
command = ["$bin/rbee-test-worker", "--port", "{port}", "--cpu", "0.2", "--memory-mb", "64", "--children", "1"]
base_port = 8080
restart = "on-failure"
TOML
# The operator's SSH config would list the GPU nodes; here one Host is this machine.
cat >"$work/ssh_config" <<SSH
Host demo-node
    HostName 127.0.0.1
Host github.com
    User git
SSH
cat >"$work/queen.toml" <<TOML
[queen]
listen = "127.0.0.1:$QUEEN_PORT"
ssh_config = "$work/ssh_config"
exclude = ["github.com"]
[hives.demo-node]
port = $HIVE_PORT
TOML

pids=()
instance=""
cleanup() {
  [ -n "$instance" ] && "$HIVE" stop --hive "$HIVE_URL" "demo/$instance" >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  # The stopped demo worker's empty cgroup would otherwise wait for the next Hive's retention.
  local root
  root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
  rmdir "$root"/rbee.slice/demo/* "$root"/rbee.slice/demo 2>/dev/null || true
  rm -rf "$work" "$bin"
}
trap cleanup EXIT
wait_for_log() {  # file pid
  for _ in $(seq 100); do
    grep -q "listening on" "$1" && return 0
    kill -0 "$2" 2>/dev/null || { cat "$1"; exit 1; }
    sleep 0.1
  done
  cat "$1"; exit 1
}

echo "== rbee-queen discover (what the Queen will contact)"
"$QUEEN" discover --config "$work/queen.toml"

"$QUEEN" serve --config "$work/queen.toml" 2>"$work/queen.log" &
pids+=($!)
wait_for_log "$work/queen.log" "${pids[-1]}"
"$HIVE" serve --config "$work/hive.toml" 2>"$work/hive.log" &
pids+=($!)
wait_for_log "$work/hive.log" "${pids[-1]}"
cat "$work/queen.log" "$work/hive.log"

echo "== rbee-hive spawn demo"
out=$("$HIVE" spawn --hive "$HIVE_URL" demo)
echo "$out"
instance=$(echo "$out" | sed -n 's/.*"instance":"\([^"]*\)".*/\1/p')

echo "== the worker's account (never root unless its service says so)"
main_pid=""
for _ in $(seq 50); do
  main_pid=$("$HIVE" ps --json --hive "$HIVE_URL" |
    grep -o "\"instance\":\"$instance\"[^}]*\"main_pid\":[0-9]*" | grep -o '[0-9]*$' || true)
  [ -n "$main_pid" ] && break
  sleep 0.1
done
if [ -n "$main_pid" ] && uid=$(awk '/^Uid:/ { print $2 }' "/proc/$main_pid/status"); then
  echo "demo/$instance: pid $main_pid runs as uid $uid ($(id -nu "$uid" 2>/dev/null || echo "no name"))"
else
  echo "demo/$instance: no main pid yet"
fi

echo "== the Queen's view, from the Hive's pushed telemetry"
for _ in $(seq 50); do
  "$QUEEN" workers --queen "$QUEEN_URL" --state ready 2>/dev/null | grep -q "demo" && break
  sleep 0.2
done
"$QUEEN" hives --queen "$QUEEN_URL"
"$QUEEN" workers --watch --count 2 --queen "$QUEEN_URL"

echo "== the web pages, live while the demo runs"
echo "Hive page:  $HIVE_URL/   (the Hive's workers, spawn, stop, logs)"
echo "Queen page: $QUEEN_URL/   (the cluster: Hives, their workers, events)"

echo "== live telemetry on the Hive (rbee-hive ps --watch) for ${SECONDS_TO_RUN}s"
if [ "$SECONDS_TO_RUN" = 0 ]; then
  "$HIVE" ps --watch --hive "$HIVE_URL"
else
  timeout "$SECONDS_TO_RUN" "$HIVE" ps --watch --hive "$HIVE_URL" || true
fi
echo
echo "== rbee-queen workers"
"$QUEEN" workers --watch --count 2 --queen "$QUEEN_URL"
echo "== rbee-hive stop demo/$instance"
"$HIVE" stop --hive "$HIVE_URL" "demo/$instance"
instance=""
