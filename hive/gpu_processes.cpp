#include "hive/gpu_processes.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

#include "hive/nvml_api.h"

namespace rbee::hive {

std::size_t stride_of(ProcessLayout layout) {
  return layout == ProcessLayout::v1 ? sizeof(nvml::ProcessInfoV1) : sizeof(nvml::ProcessInfoV2);
}

RawProcessInfo read_process_info(const std::byte* buf, std::size_t i, std::size_t stride) {
  RawProcessInfo r;
  const std::byte* e = buf + i * stride;
  std::memcpy(&r.pid, e + offsetof(nvml::ProcessInfoV2, pid), sizeof r.pid);
  std::memcpy(&r.used, e + offsetof(nvml::ProcessInfoV2, usedGpuMemory), sizeof r.used);
  if (stride >= sizeof(nvml::ProcessInfoV2)) {
    std::memcpy(&r.gpu_instance, e + offsetof(nvml::ProcessInfoV2, gpuInstanceId),
                sizeof r.gpu_instance);
    std::memcpy(&r.compute_instance, e + offsetof(nvml::ProcessInfoV2, computeInstanceId),
                sizeof r.compute_instance);
  }
  return r;
}

namespace {

bool plausible_instance(uint32_t id) {
  return id == nvml::kInvalidInstanceId || id < kMaxInstanceId;
}

}  // namespace

bool plausible_process_infos(const std::byte* buf, std::size_t count, std::size_t stride,
                             std::optional<uint64_t> memory_total) {
  for (std::size_t i = 0; i < count; ++i) {
    const auto e = read_process_info(buf, i, stride);
    if (e.pid == 0 || e.pid > kPidMaxLimit) return false;
    if (e.used != nvml::kValueNotAvailable) {
      // Without a known total, a PiB bounds what a GPU can hold for a long while yet.
      const uint64_t limit = memory_total.value_or(uint64_t{1} << 50);
      if (e.used > limit) return false;
    }
    if (!plausible_instance(e.gpu_instance) || !plausible_instance(e.compute_instance))
      return false;
  }
  return true;
}

StrideCheck check_v3_stride(const std::byte* buf, std::size_t count,
                            std::optional<uint64_t> memory_total) {
  if (plausible_process_infos(buf, count, sizeof(nvml::ProcessInfoV2), memory_total))
    return StrideCheck::ok;
  if (plausible_process_infos(buf, count, sizeof(nvml::ProcessInfoR535), memory_total))
    return StrideCheck::bad_stride;
  return StrideCheck::implausible;
}

std::vector<GpuProcess> decode_process_infos(const std::byte* buf, std::size_t count,
                                             ProcessLayout layout, uint32_t gpu_index) {
  std::vector<GpuProcess> out;
  out.reserve(count);
  const auto stride = stride_of(layout);
  for (std::size_t i = 0; i < count; ++i) {
    const auto e = read_process_info(buf, i, stride);
    GpuProcess p;
    p.gpu_index = gpu_index;
    p.pid = static_cast<int32_t>(e.pid);
    if (e.used != nvml::kValueNotAvailable) p.used_bytes = e.used;
    out.push_back(p);
  }
  return out;
}

void attribute_gpu_memory(const std::vector<GpuProcess>& processes,
                          std::vector<telemetry::Worker>& workers) {
  std::unordered_map<int32_t, std::size_t> owner;
  for (std::size_t i = 0; i < workers.size(); ++i) {
    auto& w = workers[i];
    if (telemetry::is_terminal(w.state)) continue;
    w.vram_bytes = 0;
    w.gpu_indices.clear();
    for (int32_t pid : w.pids) owner.emplace(pid, i);
  }
  // (gpu, pid) -> bytes: a process in both the compute and the graphics list of a GPU is one
  // process with one amount of memory on it.
  std::map<std::pair<uint32_t, int32_t>, std::optional<uint64_t>> per_process;
  for (const auto& p : processes) {
    if (!owner.count(p.pid)) continue;
    auto [it, fresh] = per_process.try_emplace({p.gpu_index, p.pid}, p.used_bytes);
    if (!fresh && p.used_bytes && (!it->second || *p.used_bytes > *it->second))
      it->second = p.used_bytes;
  }
  std::map<std::size_t, std::set<uint32_t>> gpus_of;
  std::set<std::size_t> unknown;
  for (const auto& [key, bytes] : per_process) {
    const auto i = owner.at(key.second);
    gpus_of[i].insert(key.first);
    if (bytes)
      *workers[i].vram_bytes += *bytes;
    else
      unknown.insert(i);
  }
  for (auto& [i, gpus] : gpus_of) workers[i].gpu_indices.assign(gpus.begin(), gpus.end());
  for (auto i : unknown) workers[i].vram_bytes.reset();
}

}  // namespace rbee::hive
