#pragma once
// What differs between running workers under systemd and in a cgroup tree of our own.
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/sys/spawn.h"
#include "hive/hive_config.h"
#include "hive/layout.h"

namespace rbee::hive {

struct LaunchPlan {
  WorkerId id;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string working_directory;
  const ServiceSpec* service = nullptr;
  const sys::Credentials* account = nullptr;  // null: the Hive's own (a Hive that is not root)
  std::chrono::milliseconds stop_timeout{10000};
};

struct Launched {
  std::optional<sys::Child> child;    // cgroupfs: the Hive is the parent and reaps it
  std::optional<std::string> unit;    // systemd: the transient unit
  std::vector<std::string> warnings;  // limits that could not be applied, and why
};

// How a worker's main process ended, when the backend knows.
struct ExitInfo {
  std::optional<int> exit_code;
  std::optional<int> signal;
  bool oom = false;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual Layout layout() const = 0;
  virtual Status prepare() = 0;
  // Starts a worker; done runs on the loop once its process is in its cgroup, or with the reason.
  virtual void launch(const LaunchPlan& plan, int64_t started_at_ms,
                      std::function<void(Result<Launched>)> done) = 0;
  // A worker found in the tree and adopted (the Hive restarted, or someone else started it): the
  // backend follows what it learns of it on its own, as for one it launched, until remove().
  virtual void watch(const WorkerId&) {}
  // Asks a running worker to stop: SIGTERM, a grace period, then kill everything left.
  virtual void stop(const WorkerId& id, int cgroup_fd, std::chrono::milliseconds grace) = 0;
  // The main process is gone: end the rest of the worker (systemd does this itself).
  virtual void kill_rest(int cgroup_fd) = 0;
  // An exited worker's retention is over: forget it.
  virtual void remove(const WorkerId& id) = 0;
  // Marks the Hive keeps on a worker's cgroup (xattrs): only where the Hive owns the tree.
  virtual bool owns_cgroups() const = 0;
  virtual std::vector<std::string> controllers() const = 0;
  // The last `lines` lines of the worker's output (of its previous run with `previous`), or
  // nullopt when there is none, given to done on the loop (later, when read off the loop).
  using LogsDone = std::function<void(std::optional<std::string>)>;
  virtual void logs(const WorkerId& id, std::size_t lines, bool previous, LogsDone done) = 0;

  // Exit reasons the backend learns on its own (systemd's unit properties).
  std::function<void(const WorkerId&, const ExitInfo&)> on_exit;
};

}  // namespace rbee::hive
