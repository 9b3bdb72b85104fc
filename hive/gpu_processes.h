#pragma once
// Pure logic behind the Hive's GPU telemetry, tested without a GPU: reading NVML process buffers
// of either layout, the plausibility check that catches the R535 stride mix-up, filtering
// per-process utilisation samples, and attributing per-process GPU memory and utilisation to
// workers by PID.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/telemetry.h"
#include "hive/nvml_api.h"

namespace rbee::hive {

// One process NVML listed on one GPU (compute and graphics lists alike). NVML gives host PIDs.
struct GpuProcess {
  uint32_t gpu_index = 0;
  int32_t pid = 0;
  std::optional<uint64_t> used_bytes;  // absent: NVML_VALUE_NOT_AVAILABLE
  std::optional<uint32_t> mig_index;   // listed on this MIG device of the GPU
  bool operator==(const GpuProcess&) const = default;
};

// A process's SM utilisation on one GPU, from nvmlDeviceGetProcessUtilization.
struct GpuUtilSample {
  uint32_t gpu_index = 0;
  int32_t pid = 0;
  uint64_t timestamp_us = 0;
  uint32_t sm_pct = 0;
  bool operator==(const GpuUtilSample&) const = default;
};

// One NVML reading of the whole node.
struct GpuSample {
  std::vector<telemetry::Gpu> gpus;
  std::vector<GpuProcess> processes;
  std::vector<uint32_t> listed_gpus;  // GPUs whose every process list was read this time
  std::vector<GpuUtilSample> util;    // new since the previous reading: the newest per process
  std::vector<uint32_t> util_gpus;    // GPUs whose per-process utilisation was read
  bool operator==(const GpuSample&) const = default;
};

// PID_MAX_LIMIT on 64-bit Linux: no PID is ever larger.
inline constexpr uint32_t kPidMaxLimit = 4194304;
// MIG GPU and compute instance ids are small; anything above this is not one.
inline constexpr uint32_t kMaxInstanceId = 4096;

// nvmlProcessInfo_v1_t (16 bytes) or nvmlProcessInfo_v2_t, also what `_v3` takes (24 bytes).
enum class ProcessLayout { v1, v2 };
std::size_t stride_of(ProcessLayout layout);

// Entry i of a buffer of process infos, read with `stride` bytes per entry. Fields past the
// stride (instance ids of a v1 entry) read as kInvalidInstanceId.
struct RawProcessInfo {
  uint32_t pid = 0;
  uint64_t used = 0;
  uint32_t gpu_instance = 0xFFFFFFFFu;
  uint32_t compute_instance = 0xFFFFFFFFu;
};
RawProcessInfo read_process_info(const std::byte* buf, std::size_t i, std::size_t stride);

// True when every one of `count` entries, read with `stride`, could be a real process: PID in
// 1..kPidMaxLimit, used memory not above the GPU's total (or NVML_VALUE_NOT_AVAILABLE), and, for
// strides of 24 and more, instance ids that are "invalid" or small.
bool plausible_process_infos(const std::byte* buf, std::size_t count, std::size_t stride,
                             std::optional<uint64_t> memory_total);

enum class StrideCheck {
  ok,           // the 24-byte reading is plausible: use it
  bad_stride,   // implausible at 24 bytes, plausible at 32: an R535.43-R535.98 driver
  implausible,  // neither: do not trust this buffer
};
// The check applied to what a `_v3` call returned.
StrideCheck check_v3_stride(const std::byte* buf, std::size_t count,
                            std::optional<uint64_t> memory_total);

// The entries as GpuProcess values of one GPU.
std::vector<GpuProcess> decode_process_infos(const std::byte* buf, std::size_t count,
                                             ProcessLayout layout, uint32_t gpu_index);

// Sets vram_bytes and gpu_indices on every worker that still has processes: vram_bytes is the sum,
// over its PIDs and GPUs, of the memory NVML lists for them (0 when none uses a GPU; absent when
// NVML could not tell the amount for one of them), gpu_indices the sorted GPUs they use. A
// process listed twice on one GPU (compute and graphics) counts once. Processes of no worker are
// ignored here; they stay in the GPUs' totals.
void attribute_gpu_memory(const std::vector<GpuProcess>& processes,
                          std::vector<telemetry::Worker>& workers);

// NVML returns per-process samples from a buffer it keeps; a driver may also hand back ones the
// caller has seen. Of `count` raw samples read from GPU `gpu_index`: those newer than
// `last_seen`, the newest per PID, without implausible ones (PID out of range, smUtil above 100,
// a timestamp more than a minute after `now_us`, which would hide every later sample).
// `last_seen` moves to the newest timestamp kept; it never goes back.
std::vector<GpuUtilSample> new_util_samples(const nvml::ProcessUtilizationSample* raw,
                                            std::size_t count, uint32_t gpu_index,
                                            uint64_t& last_seen, uint64_t now_us);

// Sets gpu_util_pct on every worker that still has processes, when the per-process utilisation
// of some GPU was read: the sum of sm_pct over the samples of its PIDs on every GPU (0 when there
// is none). Absent when one of its processes is on a GPU whose utilisation could not be read.
void attribute_gpu_util(const GpuSample& sample, std::vector<telemetry::Worker>& workers);

// Sets vram_other_bytes on each GPU whose process lists were all read: the memory of the
// processes listed on it (on any of its MIG devices) that belong to no worker still running.
// Absent when NVML could not tell the amount for one of them.
void attribute_other_memory(const GpuSample& sample, const std::vector<telemetry::Worker>& workers,
                            std::vector<telemetry::Gpu>& gpus);

}  // namespace rbee::hive
