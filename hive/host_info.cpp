#include "hive/host_info.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "common/sys/file.h"
#include "common/sys/host.h"
#include "hive/proc_files.h"

namespace rbee::hive {
namespace {

std::optional<std::string> read_proc(const std::string& path, std::size_t max = 64 * 1024) {
  auto r = sys::read_file_at(AT_FDCWD, path.c_str(), max);
  if (!r) return std::nullopt;
  return std::move(*r);
}

uint64_t boot_time_ms() {
  static const uint64_t value = [] {
    auto text = read_proc("/proc/stat", 1 << 20);
    if (!text) return uint64_t{0};
    auto b = parse_btime(*text);
    return b ? *b * 1000 : 0;
  }();
  return value;
}

}  // namespace

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

telemetry::Host read_host() {
  telemetry::Host h;
  h.hostname = sys::host_name_or_localhost();
  h.cpus = sys::online_cpus();
  if (auto m = read_proc("/proc/meminfo")) {
    auto info = parse_meminfo(*m);
    h.memory_total_bytes = info.total_bytes;
    h.memory_available_bytes = info.available_bytes;
  }
  if (auto l = read_proc("/proc/loadavg")) {
    if (auto load = parse_loadavg(*l)) {
      h.load1 = load->load1;
      h.load5 = load->load5;
      h.load15 = load->load15;
    }
  }
  return h;
}

std::optional<uint64_t> process_memory_bytes(int32_t pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  if (auto text = read_proc(base + "/smaps_rollup")) {
    auto s = parse_smaps_rollup(*text);
    if (s.pss_bytes) return s.pss_bytes;
  }
  if (auto text = read_proc(base + "/statm")) {
    if (auto s = parse_statm(*text)) return s->resident_pages * sys::page_size();
  }
  return std::nullopt;
}

std::optional<int64_t> process_start_ms(int32_t pid) {
  auto text = read_proc("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  auto st = parse_proc_stat(*text);
  uint64_t boot = boot_time_ms();
  if (!st || boot == 0) return std::nullopt;
  static const uint64_t ticks = sys::clock_ticks_per_second();
  return static_cast<int64_t>(boot + st->starttime_ticks * 1000 / ticks);
}

bool process_spawned_by_hive(int32_t pid) {
  auto env = read_proc("/proc/" + std::to_string(pid) + "/environ", 256 * 1024);
  if (!env) return false;
  const std::string want = std::string(kSpawnedByEnv) + "=hive";
  for (std::size_t pos = 0; pos < env->size();) {
    auto end = env->find('\0', pos);
    if (end == std::string::npos) end = env->size();
    if (std::string_view(*env).substr(pos, end - pos) == want) return true;
    pos = end + 1;
  }
  return false;
}

std::optional<int32_t> process_parent(int32_t pid) {
  auto text = read_proc("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  auto st = parse_proc_stat(*text);
  if (!st) return std::nullopt;
  return st->ppid;
}

std::optional<int32_t> find_main_process(const std::vector<int32_t>& pids,
                                         std::optional<int64_t> marked) {
  if (marked && std::find(pids.begin(), pids.end(), *marked) != pids.end())
    return static_cast<int32_t>(*marked);
  std::optional<int32_t> main;
  std::set<int32_t> members(pids.begin(), pids.end());
  for (int32_t pid : pids) {
    auto parent = process_parent(pid);
    if (parent && members.count(*parent)) continue;
    if (!main || process_start_ms(pid) < process_start_ms(*main)) main = pid;
  }
  return main;
}

}  // namespace rbee::hive
