#!/usr/bin/env bash
# The real GPU check: run on a node with an NVIDIA GPU, its driver and the CUDA toolkit (nvcc).
# It builds a tiny CUDA worker that cudaMallocs a known amount, starts a real rbee-hive (cgroupfs
# backend, its own cgroup subtree) with the system's libnvidia-ml.so.1, spawns the worker through
# the Hive's API and checks what the Hive reports: the worker's vram_bytes, gpu_indices and SM
# utilisation (the worker keeps the GPU busy), the memory of a CUDA process outside the Hive as the
# GPU's vram_other_bytes, power, the per-GPU series on /metrics, MIG when the GPU has it on, and
# NVML's state in /capabilities. Each check prints a "checked:" line. See docs/gpu.md.
#
# Usage (as root, or as a user to whom a cgroup2 subtree is delegated):
#   tests/gpu/run_gpu_check.sh [BUILD_DIR]        # default BUILD_DIR: build; built if missing
# Environment:
#   RBEE_GPU_CHECK_MIB     memory the worker allocates (default 1024)
#   RBEE_GPU_CHECK_GPU     GPU index to run on (default 0)
#   RBEE_GPU_CHECK_SLACK_MIB  allowed CUDA context overhead on top (default 1024)
#   RBEE_GPU_CHECK_OTHER_MIB  memory of the CUDA process run outside the Hive (default 256)
#   NVCC                   nvcc to use (default: nvcc on PATH, else /usr/local/cuda/bin/nvcc)
#   CGROUP_ROOT            cgroup2 mount (default: found from /proc/self/mounts)
# Exits 0 when every check passed; prints the Hive's log and the worker's log otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${1:-$repo/build}"
mib="${RBEE_GPU_CHECK_MIB:-1024}"
gpu="${RBEE_GPU_CHECK_GPU:-0}"
slack="${RBEE_GPU_CHECK_SLACK_MIB:-1024}"
other_mib="${RBEE_GPU_CHECK_OTHER_MIB:-256}"
nvcc="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"

fail() { echo "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "$1 is needed"; }
need curl
need python3
[ -x "$nvcc" ] || fail "nvcc not found (set NVCC)"
command -v nvidia-smi >/dev/null && nvidia-smi -L || echo "(no nvidia-smi; going on)"

if [ ! -x "$build/hive/rbee-hive" ]; then
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
  ninja -C "$build" rbee-hive
fi
hive_bin="$build/hive/rbee-hive"

work="$(mktemp -d /tmp/rbee-gpu-check.XXXXXX)"
root="${CGROUP_ROOT:-$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)}"
[ -n "$root" ] || fail "no cgroup2 mount"
subtree="$root/rbee-gpu-check-$$"
hive_pid=""
other_pid=""
cleanup() {
  set +e
  [ -n "$other_pid" ] && kill "$other_pid" 2>/dev/null && wait "$other_pid" 2>/dev/null
  [ -n "$hive_pid" ] && kill "$hive_pid" 2>/dev/null && wait "$hive_pid" 2>/dev/null
  if [ -d "$subtree" ]; then
    find "$subtree" -name cgroup.kill -exec sh -c 'echo 1 > "$1"' _ {} \; 2>/dev/null
    sleep 0.5
    find "$subtree" -depth -type d -exec rmdir {} \; 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$subtree"

echo "== building the CUDA worker"
"$nvcc" -O2 -o "$work/cuda_alloc" "$here/cuda_alloc.cu"

# With MIG on, CUDA sees MIG devices, not the GPU: the worker is pointed at the GPU's first one.
mig="$(nvidia-smi --query-gpu=mig.mode.current --format=csv,noheader -i "$gpu" 2>/dev/null || true)"
if [ "$mig" = "Enabled" ]; then
  mig_uuid="$(nvidia-smi -L | awk -v g="GPU $gpu:" 'index($0, g) == 1 { on = 1; next }
    /^GPU / { on = 0 } on && /MIG/ { sub(/.*UUID: /, ""); sub(/\).*/, ""); print; exit }')"
  [ -n "$mig_uuid" ] || fail "MIG is on for GPU $gpu but it has no MIG device (create one)"
  echo "GPU $gpu has MIG on; the worker runs on $mig_uuid"
  placement="env = { CUDA_VISIBLE_DEVICES = \"$mig_uuid\" }"
  other_env="$mig_uuid"
else
  mig=""
  placement="gpus = [$gpu]
env = { CUDA_DEVICE_ORDER = \"PCI_BUS_ID\" }"
  other_env="$gpu"
fi

port=$((20000 + RANDOM % 20000))
cat > "$work/hive.toml" <<TOML
[hive]
listen = "127.0.0.1:0"
hive_id = "gpu-check"
cgroup_root = "$subtree"
log_dir = "$work/logs"
interval_ms = 500
nvml_library = "libnvidia-ml.so.1"

[services.cudaalloc]
command = ["$work/cuda_alloc", "--port", "{port}", "--mib", "$mib", "--busy", "1"]
base_port = $port
$placement
TOML

echo "== starting rbee-hive"
"$hive_bin" serve --config "$work/hive.toml" --log-level debug > "$work/hive.log" 2>&1 &
hive_pid=$!
url=""
for _ in $(seq 100); do
  url="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/hive.log" | head -1)"
  [ -n "$url" ] && break
  kill -0 "$hive_pid" 2>/dev/null || { cat "$work/hive.log"; fail "rbee-hive exited"; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$work/hive.log"; fail "rbee-hive did not start"; }
echo "hive at $url"

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
report() { echo "--- hive log"; tail -50 "$work/hive.log"; echo "--- worker logs"; cat "$work"/logs/*/* 2>/dev/null | tail -20; }

echo "== NVML in /capabilities"
caps=""
for _ in $(seq 50); do
  caps="$(curl -sf "$url/capabilities")"
  [ "$(echo "$caps" | json 'd["nvml"].get("error", "")')" != "loading" ] && break
  sleep 0.2
done
echo "$caps" | python3 -m json.tool | sed -n '/"nvml"/,/}/p'
[ "$(echo "$caps" | json 'd["nvml"]["loaded"]')" = "True" ] || { report; fail "NVML did not load"; }
[ "$(echo "$caps" | json 'd["gpus"]')" -ge 1 ] || { report; fail "no GPU reported"; }

echo "== spawning a worker that allocates $mib MiB on GPU $gpu"
resp="$(curl -sf -X POST "$url/v1/workers" -H 'Content-Type: application/json' -d '{"service":"cudaalloc"}')" \
  || { report; fail "spawn failed"; }
inst="$(echo "$resp" | json 'd["worker"]["instance"]')"
echo "instance $inst"

want=$((mib * 1048576))
max=$(((mib + slack) * 1048576))
vram=""
for _ in $(seq 60); do
  w="$(curl -sf "$url/v1/workers/cudaalloc/$inst")" || true
  vram="$(echo "$w" | json 'd.get("vram_bytes", "")' 2>/dev/null || true)"
  [ -n "$vram" ] && [ "$vram" -ge "$want" ] && break
  sleep 0.5
done
echo "worker: $w"
[ -n "$vram" ] || { report; fail "no vram_bytes for the worker"; }
[ "$vram" -ge "$want" ] || { report; fail "vram_bytes $vram < $want (the $mib MiB allocated)"; }
[ "$vram" -le "$max" ] || { report; fail "vram_bytes $vram > $max (allocation + ${slack} MiB context)"; }
indices="$(echo "$w" | json 'd.get("gpu_indices", [])')"
[ "$indices" = "[$gpu]" ] || { report; fail "gpu_indices $indices, expected [$gpu]"; }
echo "checked: vram_bytes $vram within [$want, $max], gpu_indices [$gpu]${mig:+ (through the MIG device lists)}"

echo "== the worker's SM utilisation (it keeps the GPU busy)"
util=""
for _ in $(seq 30); do
  util="$(curl -sf "$url/v1/workers/cudaalloc/$inst" | json 'd.get("gpu_util_pct", "")' || true)"
  [ -n "$util" ] && python3 -c "import sys; sys.exit(0 if float('$util') > 0 else 1)" && break
  sleep 0.5
done
if [ -n "$mig" ]; then
  [ -z "$util" ] || fail "gpu_util_pct $util with MIG on (NVML has no per-process utilisation there)"
  echo "checked: gpu_util_pct absent with MIG on"
elif [ -z "$util" ]; then
  echo "checked: gpu_util_pct absent: this GPU does not report per-process utilisation"
else
  python3 -c "import sys; u=float('$util'); sys.exit(0 if 0 < u <= 100 else 1)" \
    || { report; fail "gpu_util_pct $util: expected above 0 and at most 100 for a busy worker"; }
  echo "checked: gpu_util_pct $util for the busy worker"
fi

echo "== a CUDA process outside the Hive: the GPU's vram_other_bytes"
CUDA_VISIBLE_DEVICES="$other_env" CUDA_DEVICE_ORDER=PCI_BUS_ID \
  "$work/cuda_alloc" --port $((port + 1000)) --mib "$other_mib" > "$work/other.log" 2>&1 &
other_pid=$!
other_want=$((other_mib * 1048576))
other=""
for _ in $(seq 60); do
  other="$(curl -sf "$url/v1/telemetry" | json "[g for g in d['gpus'] if g['index'] == $gpu][0].get('vram_other_bytes', '')" || true)"
  [ -n "$other" ] && [ "$other" -ge "$other_want" ] && break
  kill -0 "$other_pid" 2>/dev/null || { cat "$work/other.log"; fail "the outside CUDA process exited"; }
  sleep 0.5
done
[ -n "$other" ] || { report; fail "no vram_other_bytes for GPU $gpu"; }
[ "$other" -ge "$other_want" ] || { report; fail "vram_other_bytes $other < $other_want (the outside process's $other_mib MiB)"; }
echo "checked: vram_other_bytes $other >= the outside process's $other_want"

echo "== GPU list"
snap="$(curl -sf "$url/v1/telemetry")"
echo "$snap" | json 'd["gpus"]'
[ "$(echo "$snap" | json 'd.get("gpus_stale", False)')" = "False" ] || fail "GPU data is stale"
used="$(echo "$snap" | json "[g for g in d['gpus'] if g['index'] == $gpu][0]['memory_used_bytes']")"
[ "$used" -ge "$vram" ] || fail "GPU $gpu memory_used_bytes $used < the worker's $vram"
other="$(echo "$snap" | json "[g for g in d['gpus'] if g['index'] == $gpu][0].get('vram_other_bytes', 0)")"
[ "$used" -ge $((vram + other)) ] || fail "GPU $gpu memory_used_bytes $used < workers' $vram + other $other"
echo "checked: memory_used_bytes $used covers the worker's and the other processes' memory"
power="$(echo "$snap" | json "[g for g in d['gpus'] if g['index'] == $gpu][0].get('power_w', '')")"
if [ -n "$power" ]; then
  python3 -c "import sys; p=float('$power'); sys.exit(0 if 0 < p < 5000 else 1)" \
    || fail "power_w $power out of (0, 5000) W"
  echo "checked: power_w $power W"
else
  echo "checked: power_w absent: this GPU does not report its power draw"
fi

echo "== /metrics"
uuid="$(echo "$snap" | json "[g for g in d['gpus'] if g['index'] == $gpu][0]['uuid']")"
metrics="$(curl -sf "$url/metrics")" || fail "GET /metrics failed"
labels="{gpu=\"$gpu\",uuid=\"$uuid\"}"
for series in rbee_gpu_memory_used_bytes rbee_gpu_memory_total_bytes rbee_gpu_memory_other_bytes; do
  echo "$metrics" | grep -qF "$series$labels " || fail "/metrics lacks $series$labels"
done
if [ -n "$power" ]; then
  echo "$metrics" | grep -qF "rbee_gpu_power_watts$labels " || fail "/metrics lacks rbee_gpu_power_watts$labels"
fi
if [ -n "$util" ]; then
  echo "$metrics" | grep -qF "rbee_worker_gpu_utilization_percent{service=\"cudaalloc\",instance=\"$inst\"} " \
    || fail "/metrics lacks rbee_worker_gpu_utilization_percent for the worker"
fi
echo "$metrics" | grep -F "$labels"
echo "checked: the per-GPU series on /metrics, labelled gpu and uuid"

echo "== stopping the worker"
curl -sf -X DELETE "$url/v1/workers/cudaalloc/$inst" >/dev/null || fail "stop failed"

echo "PASS: worker $inst uses $vram bytes of VRAM on GPU $indices (allocated $want), SM ${util:-n/a} %;" \
  "other processes $other bytes; power ${power:-n/a} W${mig:+; MIG on}"
