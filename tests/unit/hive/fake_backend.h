#pragma once
// A stand-in host for Supervisor tests: cgroup directories of plain files under a temp dir,
// workers that are real (paused) child processes of the test, and the listening sockets, free
// ports and clocks the test says. The host outlives any number of Supervisors over its tree, so
// a "restarted Hive" finds the workers the last one left.
#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/sys/unique_fd.h"
#include "hive/backend.h"
#include "hive/supervisor.h"

namespace rbee::hive::testing {

class FakeBackend;

class FakeHost {
 public:
  using Clock = std::chrono::steady_clock;

  FakeHost();
  ~FakeHost();  // kills and reaps every child it made, removes the tree
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  const std::filesystem::path& root() const { return root_; }
  sys::UniqueFd open_root() const;
  // A backend for one Supervisor; the host keeps the workers when it goes.
  std::unique_ptr<Backend> make_backend(boost::asio::io_context& io);
  SupervisorProbes probes();

  // How launches and stops behave.
  bool give_child = true;         // cgroupfs-like: the Supervisor gets the child and reaps it;
                                  // false: systemd-like, exits reported through on_exit
  bool launch_async = false;      // the launch completes from the loop, not inside launch()
  bool stop_ends_at_once = true;  // a stop ends the worker (SIGTERM) from the loop
  std::optional<std::string> fail_next_launch;

  // How a worker's main process ends.
  enum class End { clean_exit, failure_exit, crash, sigterm };
  static constexpr int kFailureExitCode = 3;
  // Ends the worker's current run: signals the child, waits until it is dead (leaving the zombie
  // to whoever reaps it), then empties its cgroup files. False when it was not running.
  bool end(const WorkerId& id, End how);
  bool running(const WorkerId& id) const;
  std::optional<pid_t> pid_of(const WorkerId& id) const;
  std::filesystem::path cgroup_dir(const WorkerId& id) const;

  std::set<WorkerId> listening;    // whose port the listener probe reports, from their cgroup
  std::set<uint16_t> ports_taken;  // ports the port probe says something else holds
  std::chrono::milliseconds restart_delay{1};
  std::vector<uint32_t> restart_delays_asked;  // the `restarts` of each restart_delay call
  std::vector<WorkerId> stops_asked;
  uint32_t launches = 0;

  Clock::time_point now{Clock::duration(std::chrono::hours(1000))};
  int64_t now_ms = 1'700'000'000'000;
  void advance(std::chrono::milliseconds d) {
    now += d;
    now_ms += d.count();
  }

 private:
  friend class FakeBackend;
  struct Run {
    WorkerId id;
    pid_t pid = -1;
    sys::UniqueFd pidfd;  // the host's own: safe to signal and reap at the end
    bool dead = false;
    bool exit_via_backend = false;  // systemd-like: the backend tells how it ended
  };

  Result<Launched> launch_now(const LaunchPlan& plan, int64_t started_at_ms);
  void end_run(std::size_t run, End how);
  std::optional<WorkerId> worker_of_fd(int cgroup_fd) const;
  void write(const WorkerId& id, const char* file, const std::string& content) const;

  std::filesystem::path root_;
  std::vector<Run> runs_;                    // every run ever started, for the teardown
  std::map<WorkerId, std::size_t> current_;  // a worker's latest run
  FakeBackend* backend_ = nullptr;           // the live one: where on_exit goes
};

}  // namespace rbee::hive::testing
