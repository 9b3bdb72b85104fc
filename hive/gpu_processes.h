#pragma once
// Pure logic behind the Hive's GPU telemetry, tested without a GPU: reading NVML process buffers
// of either layout, the plausibility check that catches the R535 stride mix-up, and attributing
// per-process GPU memory to workers by PID.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/telemetry.h"

namespace rbee::hive {

// One process NVML listed on one GPU (compute and graphics lists alike). NVML gives host PIDs.
struct GpuProcess {
  uint32_t gpu_index = 0;
  int32_t pid = 0;
  std::optional<uint64_t> used_bytes;  // absent: NVML_VALUE_NOT_AVAILABLE
  bool operator==(const GpuProcess&) const = default;
};

// One NVML reading of the whole node.
struct GpuSample {
  std::vector<telemetry::Gpu> gpus;
  std::vector<GpuProcess> processes;
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

}  // namespace rbee::hive
