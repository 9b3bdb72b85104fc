#pragma once
// The telemetry snapshot: what a Hive publishes each tick and a Queen ingests.
// Plain values; optional fields are absent when not measured (never a made-up 0).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/enum_names.h"

namespace rbee::telemetry {

inline constexpr int kSchemaVersion = 1;

enum class WorkerState { starting, ready, stopping, exited, failed, oom, unknown };
// Who put the worker in the tree: this Hive (a spawn, kept as a mark on the cgroup) or anyone else.
enum class SpawnedBy { external, hive };
// Where rss_bytes came from: the cgroup's memory.stat or the processes' smaps_rollup.
enum class MemSource { cgroup, proc };

}  // namespace rbee::telemetry

// Each enum's names on the wire, in declaration order: the one place they are spelled.
template <>
struct rbee::EnumNames<rbee::telemetry::WorkerState> {
  static constexpr std::string_view names[] = {"starting", "ready", "stopping", "exited",
                                               "failed",   "oom",   "unknown"};
};
template <>
struct rbee::EnumNames<rbee::telemetry::SpawnedBy> {
  static constexpr std::string_view names[] = {"external", "hive"};
};
template <>
struct rbee::EnumNames<rbee::telemetry::MemSource> {
  static constexpr std::string_view names[] = {"cgroup", "proc"};
};

namespace rbee::telemetry {

// Unqualified to_string(state) and parse_enum<SpawnedBy>(s) find these (common/enum_names.h).
using rbee::parse_enum;
using rbee::to_string;

inline std::optional<WorkerState> parse_worker_state(std::string_view s) {
  return parse_enum<WorkerState>(s);
}
// exited, failed and oom: the worker's cgroup has no process left.
bool is_terminal(WorkerState s);

// One pressure stall file (cpu.pressure, memory.pressure, io.pressure): the share of wall time, in
// percent over 10, 60 and 300 s, in which some (full: all) of the cgroup's runnable tasks waited
// for the resource, and the total wait. The kernel writes a `full` line only where it has one.
struct Pressure {
  double some_avg10 = 0, some_avg60 = 0, some_avg300 = 0;
  uint64_t some_total_usec = 0;
  std::optional<double> full_avg10, full_avg60, full_avg300;
  std::optional<uint64_t> full_total_usec;
  bool operator==(const Pressure&) const = default;
};
struct PressureSet {
  std::optional<Pressure> cpu, memory, io;
  bool operator==(const PressureSet&) const = default;
};
// memory.events: counts since the cgroup was made; a line the kernel does not write is absent.
struct MemoryEvents {
  std::optional<uint64_t> low, high, max, oom, oom_kill;
  bool operator==(const MemoryEvents&) const = default;
};

struct Worker {
  std::string service;
  std::string instance;
  std::optional<uint16_t> port;
  std::string cgroup;               // logical path: rbee.slice/<service>/<instance>
  std::optional<std::string> unit;  // systemd backend only
  WorkerState state = WorkerState::unknown;
  std::optional<uint64_t> cpu_usage_usec;
  std::optional<double> cpu_pct;  // 100 = one core
  std::optional<uint64_t> rss_bytes;
  std::optional<uint64_t> working_set_bytes;
  std::optional<MemSource> mem_source;
  std::optional<uint64_t> memory_max_bytes;
  std::vector<int32_t> pids;
  uint32_t pid_count = 0;
  std::optional<int32_t> main_pid;
  std::optional<uint64_t> io_read_bytes;
  std::optional<uint64_t> io_write_bytes;
  std::optional<double> io_read_bps;
  std::optional<double> io_write_bps;
  std::optional<uint64_t> oom_kills;
  std::optional<MemoryEvents> memory_events;  // kept, like oom_kills, once the cgroup is gone
  std::optional<uint64_t> memory_peak_bytes;
  std::optional<uint64_t> memory_high_bytes;
  std::optional<uint64_t> pids_max;
  std::optional<double> cpu_max_cores;  // cpu.max quota / period
  std::optional<uint64_t> cpu_nr_periods, cpu_nr_throttled, cpu_throttled_usec;
  std::optional<PressureSet> pressure;
  std::optional<int32_t> exit_code;
  std::optional<int32_t> signal;
  std::optional<int64_t> started_at_ms;
  std::optional<int64_t> exited_at_ms;
  SpawnedBy spawned_by = SpawnedBy::external;
  uint32_t restarts = 0;
  std::optional<uint64_t> vram_bytes;
  std::vector<uint32_t> gpu_indices;
  std::optional<double> gpu_util_pct;  // SM %, summed over its processes and GPUs

  bool operator==(const Worker&) const = default;
};

struct Host {
  std::string hostname;
  uint32_t cpus = 0;
  std::optional<uint64_t> memory_total_bytes;
  std::optional<uint64_t> memory_available_bytes;
  std::optional<double> load1, load5, load15;

  bool operator==(const Host&) const = default;
};

struct Gpu {
  uint32_t index = 0;
  std::string uuid;
  std::string name;
  std::optional<uint64_t> memory_total_bytes;
  std::optional<uint64_t> memory_used_bytes;
  std::optional<double> util_pct;
  std::optional<double> temperature_c;
  std::optional<double> power_w;
  std::optional<uint64_t> vram_other_bytes;  // processes of no worker of this Hive

  bool operator==(const Gpu&) const = default;
};

struct Snapshot {
  int schema_version = kSchemaVersion;
  std::string hive_id;
  std::string instance_id;  // new on every Hive start
  uint64_t seq = 0;
  int64_t timestamp_ms = 0;
  uint32_t interval_ms = 1000;
  std::string backend;
  Host host;
  std::vector<Gpu> gpus;
  bool gpus_stale = false;  // no NVML reading for 3 intervals: gpus and vram are the last known
  std::vector<Worker> workers;

  bool operator==(const Snapshot&) const = default;
};

}  // namespace rbee::telemetry
