#!/usr/bin/env bash
# The main job: a Hive on this machine with a demo worker, showing its live telemetry.
# Usage: scripts/demo.sh [SECONDS]   (default 15; 0 = until Ctrl-C)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
SECONDS_TO_RUN=${1:-15}
HIVE="$PWD/$BUILD_DIR/hive/rbee-hive"
WORKER="$PWD/$BUILD_DIR/tests/rbee-test-worker"

work=$(mktemp -d /tmp/rbee-demo.XXXXXX)
port=${RBEE_DEMO_PORT:-7835}
cat >"$work/hive.toml" <<TOML
[hive]
listen = "127.0.0.1:$port"
hive_id = "demo-$(hostname)"
log_dir = "$work/logs"
interval_ms = 1000
retention_s = 30

# A stand-in for an inference server: listens on its port, burns 20% of a core, holds 64 MiB.
[services.demo]
command = ["$WORKER", "--port", "{port}", "--cpu", "0.2", "--memory-mb", "64", "--children", "1"]
base_port = 8080
restart = "on-failure"
TOML

"$HIVE" serve --config "$work/hive.toml" 2>"$work/hive.log" &
hive_pid=$!
cleanup() {
  "$HIVE" stop --hive "http://127.0.0.1:$port" "demo/$instance" >/dev/null 2>&1 || true
  kill "$hive_pid" 2>/dev/null || true
  wait "$hive_pid" 2>/dev/null || true
  rm -rf "$work"
}
instance=""
trap cleanup EXIT
for _ in $(seq 50); do
  grep -q "listening on" "$work/hive.log" && break
  kill -0 "$hive_pid" 2>/dev/null || { cat "$work/hive.log"; exit 1; }
  sleep 0.1
done
cat "$work/hive.log"

echo "== rbee-hive spawn demo"
out=$("$HIVE" spawn --hive "http://127.0.0.1:$port" demo)
echo "$out"
instance=$(echo "$out" | sed -n 's/.*"instance":"\([^"]*\)".*/\1/p')

echo "== live telemetry (rbee-hive ps --watch) for ${SECONDS_TO_RUN}s"
if [ "$SECONDS_TO_RUN" = 0 ]; then
  "$HIVE" ps --watch --hive "http://127.0.0.1:$port"
else
  timeout "$SECONDS_TO_RUN" "$HIVE" ps --watch --hive "http://127.0.0.1:$port" || true
fi
echo
echo "== rbee-hive ps"
"$HIVE" ps --hive "http://127.0.0.1:$port"
echo "== rbee-hive stop demo/$instance"
"$HIVE" stop --hive "http://127.0.0.1:$port" "demo/$instance"
