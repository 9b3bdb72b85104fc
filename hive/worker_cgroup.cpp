#include "hive/worker_cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "common/sys/cgroup.h"
#include "common/sys/file.h"

namespace rbee::hive {
namespace {

constexpr std::size_t kMaxFile = 64 * 1024;
constexpr std::size_t kMaxProcs = 1024 * 1024;

sys::UniqueFd open_optional(int dirfd, const char* name) {
  auto fd = sys::open_at(dirfd, name, O_RDONLY);
  return fd ? std::move(*fd) : sys::UniqueFd{};
}

}  // namespace

Result<WorkerCgroup> WorkerCgroup::open(int root_fd, const std::string& relative_path) {
  auto dir = sys::open_dir_at(root_fd, relative_path);
  if (!dir) return dir.error();
  WorkerCgroup cg;
  struct stat st {};
  if (::fstat(dir->get(), &st) == 0) cg.id_ = st.st_ino;
  cg.dir_ = std::move(*dir);
  int d = cg.dir_.get();
  cg.cpu_stat_ = open_optional(d, "cpu.stat");
  cg.events_ = open_optional(d, "cgroup.events");
  cg.procs_ = open_optional(d, "cgroup.procs");
  if (!cg.events_ || !cg.procs_) return make_error(relative_path + " is not a cgroup v2 directory");
  cg.mem_current_ = open_optional(d, "memory.current");
  cg.mem_stat_ = open_optional(d, "memory.stat");
  cg.mem_max_ = open_optional(d, "memory.max");
  cg.mem_events_ = open_optional(d, "memory.events");
  cg.io_stat_ = open_optional(d, "io.stat");
  return cg;
}

CgroupReading WorkerCgroup::read(ReadScope scope) {
  const bool full = scope == ReadScope::full;
  CgroupReading r;
  int err = 0;
  auto read_into = [&](const sys::UniqueFd& fd, std::size_t max) {
    if (!fd) return false;
    if (!sys::pread_into(fd.get(), buf_, max, &err)) {
      if (sys::is_gone(err)) r.gone = true;
      return false;
    }
    return true;
  };
  if (full && read_into(events_, kMaxFile)) events_seen_ = parse_cgroup_events(buf_);
  if (r.gone) return r;
  if (read_into(procs_, kMaxProcs)) r.pids = parse_pid_list(buf_);
  if (r.gone) return r;
  if (!full) {
    // Populated also counts processes in child cgroups, which only cgroup.events knows of.
    if (!r.pids.empty())
      events_seen_.populated = true;
    else if (read_into(events_, kMaxFile))
      events_seen_ = parse_cgroup_events(buf_);
  }
  r.events = events_seen_;
  if (read_into(cpu_stat_, kMaxFile)) r.cpu = parse_cpu_stat(buf_);
  if (read_into(mem_current_, kMaxFile)) {
    if (auto v = parse_u64(buf_)) r.memory_current = *v;
  }
  if (read_into(io_stat_, kMaxFile)) r.io = parse_io_stat(buf_);
  if (full) {
    memory_stat_seen_.reset();
    memory_max_seen_.reset();
    memory_events_seen_.reset();
    if (read_into(mem_stat_, kMaxFile)) memory_stat_seen_ = parse_memory_stat(buf_);
    if (read_into(mem_max_, kMaxFile)) {
      if (auto v = parse_limit(buf_)) memory_max_seen_ = *v;
    }
    if (read_into(mem_events_, kMaxFile)) memory_events_seen_ = parse_memory_events(buf_);
  }
  r.memory_stat = memory_stat_seen_;
  r.memory_max = memory_max_seen_;
  r.memory_events = memory_events_seen_;
  return r;
}

}  // namespace rbee::hive
