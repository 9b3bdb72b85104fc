#pragma once
// cgroupfs backend: the Hive makes <root>/rbee.slice/<service>/<instance> itself and starts the
// worker straight into it (clone3 CLONE_INTO_CGROUP) in its own session, output to a log file.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hive/backend.h"
#include "hive/worker_logs.h"

namespace rbee::hive {

class CgroupfsBackend : public Backend {
 public:
  CgroupfsBackend(boost::asio::io_context& io, int root_fd, std::filesystem::path log_dir)
      : io_(io), root_fd_(root_fd), log_dir_(std::move(log_dir)) {}

  const char* name() const override { return "cgroupfs"; }
  Layout layout() const override { return Layout::cgroupfs; }
  // Makes rbee.slice and enables the controllers the host offers for the subtree.
  Status prepare() override;
  void launch(const LaunchPlan& plan, int64_t started_at_ms,
              std::function<void(Result<Launched>)> done) override;
  void stop(const WorkerId& id, int cgroup_fd, std::chrono::milliseconds grace) override;
  void kill_rest(int cgroup_fd) override;
  void remove(const WorkerId& id) override;
  bool owns_cgroups() const override { return true; }
  std::vector<std::string> controllers() const override { return controllers_; }
  void logs(const WorkerId& id, std::size_t lines, bool previous, LogsDone done) override;

 private:
  Result<Launched> launch_now(const LaunchPlan& plan, int64_t started_at_ms);
  std::vector<std::string> apply_limits(int cgroup_fd, const ServiceSpec& s);
  void signal_all(int cgroup_fd, int sig);

  boost::asio::io_context& io_;
  int root_fd_;
  std::filesystem::path log_dir_;
  std::optional<WorkerLogs> logs_;        // opened by prepare()
  std::vector<std::string> controllers_;  // enabled for rbee.slice's children
  std::map<WorkerId, std::unique_ptr<boost::asio::steady_timer>> kill_timers_;
};

// The last `lines` lines of an open file, reading at most its last MiB.
std::string tail_lines(int fd, std::size_t lines);

}  // namespace rbee::hive
