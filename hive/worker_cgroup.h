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
};

class WorkerCgroup {
 public:
  // Opens the cgroup directory (relative to root_fd) and whichever interface files exist.
  static Result<WorkerCgroup> open(int root_fd, const std::string& relative_path);

  CgroupReading read();
  int dir_fd() const { return dir_.get(); }
  uint64_t id() const { return id_; }  // the directory's inode: the cgroup id sock_diag reports
  bool has_memory_controller() const { return mem_current_.valid(); }

 private:
  sys::UniqueFd dir_, cpu_stat_, events_, procs_, mem_current_, mem_stat_, mem_max_, mem_events_,
      io_stat_;
  uint64_t id_ = 0;
  std::string buf_;  // reused across reads: no allocation per tick once warm
};

}  // namespace rbee::hive
