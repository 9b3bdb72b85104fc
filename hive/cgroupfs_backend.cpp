#include "hive/cgroupfs_backend.h"

#include <algorithm>
#include <csignal>

#include "common/sys/cgroup.h"
#include "common/sys/file.h"
#include "common/telemetry.h"
#include "hive/cgroup_files.h"
#include "hive/worker_marks.h"

namespace rbee::hive {
namespace {

const std::vector<std::string> kWanted = {"cpu", "memory", "pids", "io"};

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

Status CgroupfsBackend::prepare() {
  if (auto st = sys::make_dir_at(root_fd_, std::string(kSliceDir)); !st) return st;
  // Controllers must be enabled at every level from the root's children down to the workers.
  auto offered = sys::available_controllers(root_fd_);
  std::vector<std::string> want;
  for (const auto& c : kWanted) {
    if (has(offered, c)) want.push_back(c);
  }
  sys::enable_controllers(root_fd_, want);
  auto slice = sys::open_dir_at(root_fd_, std::string(kSliceDir));
  if (!slice) return slice.error();
  controllers_ = sys::available_controllers(slice->get());
  sys::enable_controllers(slice->get(), controllers_);
  auto logs = WorkerLogs::open(log_dir_);
  if (!logs) return logs.error();
  logs_.emplace(std::move(*logs));
  return Ok{};
}

std::vector<std::string> CgroupfsBackend::apply_limits(int fd, const ServiceSpec& s) {
  std::vector<std::string> warnings;
  auto put = [&](const char* ctrl, const char* file, const std::string& value, const char* key) {
    if (!has(controllers_, ctrl)) {
      warnings.push_back(std::string(key) + " not applied: the " + ctrl +
                         " controller is not available in this cgroup tree");
      return;
    }
    if (auto st = sys::write_file_at(fd, file, value); !st)
      warnings.push_back(std::string(key) + " not applied: " + st.error().message);
  };
  if (s.memory_max) put("memory", "memory.max", std::to_string(*s.memory_max), "memory_max");
  if (s.cpu_max)
    put("cpu", "cpu.max",
        std::to_string(s.cpu_max->quota_us) + " " + std::to_string(s.cpu_max->period_us),
        "cpu_max");
  if (s.pids_max) put("pids", "pids.max", std::to_string(*s.pids_max), "pids_max");
  return warnings;
}

void CgroupfsBackend::launch(const LaunchPlan& plan, int64_t started_at_ms,
                             std::function<void(Result<Launched>)> done) {
  done(launch_now(plan, started_at_ms));
}

Result<Launched> CgroupfsBackend::launch_now(const LaunchPlan& plan, int64_t started_at_ms) {
  const std::string svc_dir = std::string(kSliceDir) + "/" + plan.id.service;
  const std::string rel = worker_cgroup_path(Layout::cgroupfs, plan.id);
  if (auto st = sys::make_dir_at(root_fd_, svc_dir); !st) return st.error();
  if (auto svc = sys::open_dir_at(root_fd_, svc_dir))
    sys::enable_controllers(svc->get(), controllers_);
  // A fresh cgroup for every start: an old one that saw cgroup.kill can make the kernel kill a
  // child cloned into it (observed on 6.x, where CLONE_INTO_CGROUP compares kill sequence numbers).
  if (auto st = sys::remove_dir_at(root_fd_, rel); !st)
    return make_error("cannot reuse " + rel + ": " + st.error().message);
  if (auto st = sys::make_dir_at(root_fd_, rel); !st) return st.error();
  auto cg = sys::open_dir_at(root_fd_, rel);
  if (!cg) return cg.error();

  Launched out;
  if (plan.service) out.warnings = apply_limits(cg->get(), *plan.service);
  mark_start(cg->get(), started_at_ms);

  auto opened = logs_->start_run(plan.id);
  if (!opened) {
    remove(plan.id);
    return make_error("cannot open the log of " + plan.id.key() + " in " + log_dir_.string() +
                      ": " + opened.error().message);
  }
  sys::UniqueFd log = std::move(*opened);
  // A log we cannot write is not a reason to refuse the start.
  (void)sys::write_all(log.get(), "--- rbee-hive: starting " + plan.id.key() + " at " +
                                      std::to_string(started_at_ms) + " ms\n");
  sys::SpawnSpec spec{plan.argv,   plan.env, cg->get(), log.get(), plan.working_directory,
                      plan.account};
  auto child = sys::spawn_in_cgroup(spec);
  if (!child) {
    remove(plan.id);
    return child.error();
  }
  mark_main(cg->get(), child->pid);
  out.child = std::move(*child);
  return out;
}

void CgroupfsBackend::stop(const WorkerId& id, int cgroup_fd, std::chrono::milliseconds grace) {
  signal_all(cgroup_fd, SIGTERM);
  auto& timer = kill_timers_[id];
  timer = std::make_unique<boost::asio::steady_timer>(io_, grace);
  // Our own dup of the directory fd, owned by the handler: the timer may outlive the
  // supervisor's record, and a handler destroyed unrun still closes it.
  auto fd = std::make_shared<sys::UniqueFd>(sys::dup_cloexec(cgroup_fd));
  timer->async_wait([fd](boost::system::error_code ec) {
    if (!ec && fd->valid()) (void)sys::kill_cgroup(fd->get());
  });
}

void CgroupfsBackend::kill_rest(int cgroup_fd) {
  (void)sys::kill_cgroup(cgroup_fd);
}

// On the loop: at most the last MiB of a file on log_dir (O_NONBLOCK, a regular file only).
void CgroupfsBackend::logs(const WorkerId& id, std::size_t lines, bool previous, LogsDone done) {
  std::optional<sys::UniqueFd> fd;
  if (logs_) {
    if (auto opened = logs_->open_for_reading(id, previous)) fd.emplace(std::move(*opened));
  }
  if (!fd) return done(std::nullopt);
  done(tail_lines(fd->get(), lines));
}

std::string tail_lines(int fd, std::size_t lines) {
  constexpr std::size_t kMaxLogBytes = 1024 * 1024;
  auto tail = sys::pread_tail(fd, kMaxLogBytes);
  if (!tail) return {};
  const std::string& buf = *tail;
  std::size_t pos = buf.size();
  if (pos && buf[pos - 1] == '\n') --pos;
  for (std::size_t found = 0; pos > 0; --pos) {
    if (buf[pos - 1] == '\n' && ++found == lines) break;
  }
  return buf.substr(pos);
}

void CgroupfsBackend::signal_all(int cgroup_fd, int sig) {
  auto procs = sys::read_file_at(cgroup_fd, "cgroup.procs", 1 << 20);
  if (!procs) return;
  for (int32_t pid : parse_pid_list(*procs)) {
    // A pidfd pins the process we read from cgroup.procs, so a recycled pid is never signalled.
    if (auto fd = sys::open_pidfd(pid)) (void)sys::send_signal(fd->get(), sig);
  }
}

void CgroupfsBackend::remove(const WorkerId& id) {
  kill_timers_.erase(id);
  (void)sys::remove_dir_at(root_fd_, worker_cgroup_path(Layout::cgroupfs, id));
  // The service directory goes too once its last worker is gone; EBUSY/ENOTEMPTY just means not
  // yet.
  (void)sys::remove_dir_at(root_fd_, std::string(kSliceDir) + "/" + id.service);
}

}  // namespace rbee::hive
