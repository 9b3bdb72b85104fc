#include "hive/gpu_processes.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>

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

// PID -> index in `workers` of each worker that still has processes.
std::unordered_map<int32_t, std::size_t> owners(const std::vector<telemetry::Worker>& workers) {
  std::unordered_map<int32_t, std::size_t> owner;
  for (std::size_t i = 0; i < workers.size(); ++i) {
    if (telemetry::is_terminal(workers[i].state)) continue;
    for (int32_t pid : workers[i].pids) owner.emplace(pid, i);
  }
  return owner;
}

// A process on one GPU, or on one MIG device of it: listed in both the compute and the graphics
// list, it is one process with one amount of memory there.
using ProcessKey = std::tuple<uint32_t, uint32_t, int32_t>;
ProcessKey key_of(const GpuProcess& p) {
  return {p.gpu_index, p.mig_index.value_or(nvml::kInvalidInstanceId), p.pid};
}
void merge_amount(std::optional<uint64_t>& into, const std::optional<uint64_t>& bytes) {
  if (bytes && (!into || *bytes > *into)) into = bytes;
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
  const auto owner = owners(workers);
  for (std::size_t i = 0; i < workers.size(); ++i) {
    if (telemetry::is_terminal(workers[i].state)) continue;
    workers[i].vram_bytes = 0;
    workers[i].gpu_indices.clear();
  }
  std::map<ProcessKey, std::optional<uint64_t>> per_process;
  for (const auto& p : processes) {
    if (!owner.count(p.pid)) continue;
    auto [it, fresh] = per_process.try_emplace(key_of(p), p.used_bytes);
    if (!fresh) merge_amount(it->second, p.used_bytes);
  }
  std::map<std::size_t, std::set<uint32_t>> gpus_of;
  std::set<std::size_t> unknown;
  for (const auto& [key, bytes] : per_process) {
    const auto i = owner.at(std::get<2>(key));
    gpus_of[i].insert(std::get<0>(key));
    if (bytes)
      *workers[i].vram_bytes += *bytes;
    else
      unknown.insert(i);
  }
  for (auto& [i, gpus] : gpus_of) workers[i].gpu_indices.assign(gpus.begin(), gpus.end());
  for (auto i : unknown) workers[i].vram_bytes.reset();
}

std::vector<GpuUtilSample> new_util_samples(const nvml::ProcessUtilizationSample* raw,
                                            std::size_t count, uint32_t gpu_index,
                                            uint64_t& last_seen, uint64_t now_us) {
  constexpr uint64_t kAhead = 60'000'000;  // a minute of clock skew between driver and Hive
  std::map<int32_t, GpuUtilSample> newest;
  uint64_t seen = last_seen;
  for (std::size_t i = 0; i < count; ++i) {
    const auto& r = raw[i];
    if (r.pid == 0 || r.pid > kPidMaxLimit || r.smUtil > 100) continue;
    if (r.timeStamp <= last_seen || r.timeStamp > now_us + kAhead) continue;
    const GpuUtilSample s{gpu_index, static_cast<int32_t>(r.pid), r.timeStamp, r.smUtil};
    auto [it, fresh] = newest.try_emplace(s.pid, s);
    if (!fresh && s.timestamp_us > it->second.timestamp_us) it->second = s;
    seen = std::max<uint64_t>(seen, r.timeStamp);
  }
  last_seen = seen;
  std::vector<GpuUtilSample> out;
  out.reserve(newest.size());
  for (const auto& [pid, s] : newest) out.push_back(s);
  return out;
}

void attribute_gpu_util(const GpuSample& sample, std::vector<telemetry::Worker>& workers) {
  if (sample.util_gpus.empty()) return;
  const std::set<uint32_t> readable(sample.util_gpus.begin(), sample.util_gpus.end());
  const auto owner = owners(workers);
  for (std::size_t i = 0; i < workers.size(); ++i)
    if (!telemetry::is_terminal(workers[i].state)) workers[i].gpu_util_pct = 0;
  for (const auto& s : sample.util) {
    auto it = owner.find(s.pid);
    if (it != owner.end() && readable.count(s.gpu_index))
      *workers[it->second].gpu_util_pct += s.sm_pct;
  }
  // A process on a GPU that cannot say how busy it keeps its worker would be an undercount.
  for (const auto& p : sample.processes) {
    auto it = owner.find(p.pid);
    if (it != owner.end() && !readable.count(p.gpu_index)) workers[it->second].gpu_util_pct.reset();
  }
}

void attribute_other_memory(const GpuSample& sample, const std::vector<telemetry::Worker>& workers,
                            std::vector<telemetry::Gpu>& gpus) {
  const auto owner = owners(workers);
  std::map<ProcessKey, std::optional<uint64_t>> per_process;
  for (const auto& p : sample.processes) {
    if (owner.count(p.pid)) continue;
    auto [it, fresh] = per_process.try_emplace(key_of(p), p.used_bytes);
    if (!fresh) merge_amount(it->second, p.used_bytes);
  }
  const std::set<uint32_t> listed(sample.listed_gpus.begin(), sample.listed_gpus.end());
  for (auto& g : gpus) {
    if (!listed.count(g.index)) continue;
    g.vram_other_bytes = 0;
    for (auto it = per_process.lower_bound({g.index, 0, std::numeric_limits<int32_t>::min()});
         it != per_process.end() && std::get<0>(it->first) == g.index; ++it) {
      if (!it->second) {
        g.vram_other_bytes.reset();
        break;
      }
      *g.vram_other_bytes += *it->second;
    }
  }
}

}  // namespace rbee::hive
