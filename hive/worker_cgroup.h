#pragma once
// One worker's cgroup with its interface files kept open: each tick re-reads them with pread.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/sys/unique_fd.h"
#include "hive/cgroup_files.h"

namespace rbee::hive {

// Files read on full reads only, like memory.stat: limits change only when someone writes them,
// pressure averages span 10 s and more, and the peak only grows.
struct SlowFiles {
  std::optional<uint64_t> memory_peak;
  std::optional<LimitValue> memory_high, pids_max;
  std::optional<CpuQuota> cpu_max;
  std::optional<telemetry::PressureSet> pressure;  // present when any of its files was read
};

struct CgroupReading {
  bool gone = false;  // the cgroup was removed under us
  CpuStat cpu;
  CgroupEvents events;
  std::vector<int32_t> pids;
  std::optional<uint64_t> memory_current;
  std::optional<MemoryStat> memory_stat;
  std::optional<LimitValue> memory_max;
  std::optional<MemoryEvents> memory_events;
  std::optional<IoStat> io;
  SlowFiles slow;
};

// What a read takes. `fast` re-reads what moves every tick and feeds the rates (cgroup.procs,
// cpu.stat, memory.current, io.stat) and takes the rest from the last `full` read; cgroup.events
// only when the cgroup holds no process of its own (a process there means populated).
enum class ReadScope { fast, full };

class WorkerCgroup {
 public:
  // Opens the cgroup directory (relative to root_fd) and whichever interface files exist.
  static Result<WorkerCgroup> open(int root_fd, const std::string& relative_path);

  CgroupReading read(ReadScope scope = ReadScope::full);
  int dir_fd() const { return dir_.get(); }
  uint64_t id() const { return id_; }  // the directory's inode: the cgroup id sock_diag reports
  bool has_memory_controller() const { return mem_current_.valid(); }

 private:
  sys::UniqueFd dir_, cpu_stat_, events_, procs_, mem_current_, mem_stat_, mem_max_, mem_events_,
      io_stat_, mem_peak_, mem_high_, pids_max_, cpu_max_, cpu_pressure_, mem_pressure_,
      io_pressure_;
  template <class ReadInto>
  void read_slow(ReadInto& read_into);

  uint64_t id_ = 0;
  std::string buf_;  // reused across reads: no allocation per tick once warm
  // What the last full read saw of the files a fast read skips.
  CgroupEvents events_seen_;
  std::optional<MemoryStat> memory_stat_seen_;
  std::optional<LimitValue> memory_max_seen_;
  std::optional<MemoryEvents> memory_events_seen_;
  SlowFiles slow_seen_;
};

}  // namespace rbee::hive
