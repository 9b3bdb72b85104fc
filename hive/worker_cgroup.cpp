#include "hive/worker_cgroup.h"

#include <cerrno>
#include <utility>

#include "common/sys/cgroup.h"
#include "common/sys/file.h"

namespace rbee::hive {
namespace {

constexpr std::size_t kMaxFile = 64 * 1024;
constexpr std::size_t kMaxProcs = 1024 * 1024;

// A file a missing controller leaves out is not an error; any other failure is (EMFILE above all:
// a worker sampled without its memory files would look like one without the controller).
Result<sys::UniqueFd> open_optional(int dirfd, const char* name) {
  int err = 0;
  auto fd = sys::open_at(dirfd, name, O_RDONLY, &err);
  if (fd || err == ENOENT) return fd ? std::move(*fd) : sys::UniqueFd{};
  return fd.error();
}

}  // namespace

Result<WorkerCgroup> WorkerCgroup::open(int root_fd, const std::string& relative_path) {
  auto dir = sys::open_dir_at(root_fd, relative_path);
  if (!dir) return dir.error();
  WorkerCgroup cg;
  if (auto st = sys::stat_fd(dir->get())) cg.id_ = st->st_ino;
  cg.dir_ = std::move(*dir);
  int d = cg.dir_.get();
  const std::pair<sys::UniqueFd*, const char*> files[] = {
      {&cg.cpu_stat_, "cpu.stat"},         {&cg.events_, "cgroup.events"},
      {&cg.procs_, "cgroup.procs"},        {&cg.mem_current_, "memory.current"},
      {&cg.mem_stat_, "memory.stat"},      {&cg.mem_max_, "memory.max"},
      {&cg.mem_events_, "memory.events"},  {&cg.io_stat_, "io.stat"},
      {&cg.mem_peak_, "memory.peak"},      {&cg.mem_high_, "memory.high"},
      {&cg.pids_max_, "pids.max"},         {&cg.cpu_max_, "cpu.max"},
      {&cg.cpu_pressure_, "cpu.pressure"}, {&cg.mem_pressure_, "memory.pressure"},
      {&cg.io_pressure_, "io.pressure"}};
  for (auto [file, name] : files) {
    auto fd = open_optional(d, name);
    if (!fd) return make_error(relative_path + ": " + fd.error().message);
    *file = std::move(*fd);
  }
  if (!cg.events_ || !cg.procs_) return make_error(relative_path + " is not a cgroup v2 directory");
  return cg;
}

template <class ReadInto>
void WorkerCgroup::read_slow(ReadInto& read_into) {
  SlowFiles& s = slow_seen_;
  s = SlowFiles{};
  auto limit = [&](const sys::UniqueFd& fd) -> std::optional<LimitValue> {
    if (!read_into(fd, kMaxFile)) return std::nullopt;
    auto v = parse_limit(buf_);
    return v ? std::optional(*v) : std::nullopt;
  };
  if (read_into(mem_peak_, kMaxFile)) {
    if (auto v = parse_u64(buf_)) s.memory_peak = *v;
  }
  s.memory_high = limit(mem_high_);
  s.pids_max = limit(pids_max_);
  if (read_into(cpu_max_, kMaxFile)) {
    if (auto v = parse_cpu_max(buf_)) s.cpu_max = *v;
  }
  telemetry::PressureSet p;
  const std::pair<const sys::UniqueFd*, std::optional<telemetry::Pressure>*> psi[] = {
      {&cpu_pressure_, &p.cpu}, {&mem_pressure_, &p.memory}, {&io_pressure_, &p.io}};
  for (auto [fd, out] : psi)
    if (read_into(*fd, kMaxFile)) *out = parse_pressure(buf_);
  if (p.cpu || p.memory || p.io) s.pressure = p;
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
    read_slow(read_into);
  }
  r.memory_stat = memory_stat_seen_;
  r.memory_max = memory_max_seen_;
  r.memory_events = memory_events_seen_;
  r.slow = slow_seen_;
  return r;
}

}  // namespace rbee::hive
