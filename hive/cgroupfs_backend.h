#pragma once
// cgroupfs backend: the Hive makes <root>/rbee.slice/<service>/<instance> itself and starts the
// worker straight into it (clone3 CLONE_INTO_CGROUP) in its own session, output to a log file.
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/sys/spawn.h"
#include "hive/hive_config.h"
#include "hive/layout.h"

namespace rbee::hive {

// Marks on the cgroup directory (user.* xattrs) so a restarted Hive knows what it started.
inline constexpr const char* kXattrSpawnedBy = "user.rbee.spawned_by";
inline constexpr const char* kXattrStartedAt = "user.rbee.started_at_ms";
inline constexpr const char* kXattrMainPid = "user.rbee.main_pid";
inline constexpr const char* kXattrExit = "user.rbee.exit";  // "code N" or "signal N"

struct LaunchPlan {
  WorkerId id;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::filesystem::path log_file;
  std::string working_directory;
  const ServiceSpec* service = nullptr;
};

struct Launched {
  sys::Child child;
  std::vector<std::string> warnings;  // limits that could not be applied, and why
};

class CgroupfsBackend {
 public:
  CgroupfsBackend(int root_fd, std::filesystem::path root_path)
      : root_fd_(root_fd), root_path_(std::move(root_path)) {}

  // Makes rbee.slice and enables the controllers the host offers for the subtree.
  Status prepare();
  Result<Launched> launch(const LaunchPlan& plan, int64_t started_at_ms);
  // SIGTERM (or sig) to every process of the cgroup.
  void signal_all(int cgroup_fd, int sig);
  Status kill_all(int cgroup_fd);
  // Removes an empty worker cgroup, and its service directory once that is empty too.
  void remove(const WorkerId& id);
  const std::vector<std::string>& controllers() const { return controllers_; }

 private:
  std::vector<std::string> apply_limits(int cgroup_fd, const ServiceSpec& s);
  int root_fd_;
  std::filesystem::path root_path_;
  std::vector<std::string> controllers_;  // enabled for rbee.slice's children
};

}  // namespace rbee::hive
