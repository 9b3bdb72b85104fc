#pragma once
// The Hive's view of its workers: walks the cgroup tree, samples every worker, starts and stops
// workers, applies restart policy. The tree is the source of truth: a worker is a leaf in the
// layout, whoever put it there, and a restarted Hive re-adopts from the tree alone.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/api.h"
#include "common/result.h"
#include "common/sys/credentials.h"
#include "common/sys/sock_diag.h"
#include "common/telemetry.h"
#include "hive/backend.h"
#include "hive/hive_config.h"
#include "hive/host_info.h"
#include "hive/launch_plan.h"
#include "hive/layout.h"
#include "hive/port_allocator.h"
#include "hive/restart_policy.h"
#include "hive/tree_watch.h"
#include "hive/worker_cgroup.h"
#include "hive/worker_view.h"

namespace rbee::hive {

struct SpawnOutcome {
  std::optional<telemetry::Worker> worker;
  std::vector<std::string> warnings;
  std::optional<ApiError> error;
};

// How a stop ended: the worker's final view, taken by the sample that saw it end (so it does not
// depend on how long the worker is kept afterwards), or why it could not be stopped.
struct StopOutcome {
  std::optional<telemetry::Worker> worker;
  std::optional<ApiError> error;
};

// What the Supervisor asks of the host besides its cgroup tree. The defaults ask the host; tests
// answer instead.
struct SupervisorProbes {
  std::function<Result<std::vector<sys::ListeningSocket>>()> listeners = sys::list_tcp_listeners;
  std::function<bool(uint16_t)> port_free = tcp_port_free;
  std::function<std::chrono::steady_clock::time_point()> now = std::chrono::steady_clock::now;
  std::function<int64_t()> now_ms = rbee::hive::now_ms;  // wall clock, ms since the epoch
  std::function<std::chrono::milliseconds(uint32_t restarts)> restart_delay = restart_backoff;
};

class Supervisor {
 public:
  Supervisor(boost::asio::io_context& io, const HiveConfig& config, sys::UniqueFd root_fd,
             std::filesystem::path root_path, std::unique_ptr<Backend> backend,
             SupervisorProbes probes = {});
  ~Supervisor();

  // Makes rbee.slice, enables controllers, starts watching the tree.
  Status start();

  // Walks the tree and reads every worker; the result is the snapshot's worker list. Outcomes it
  // discovers (a stop's reply) are posted to the loop: they run after the caller has published.
  std::vector<telemetry::Worker> sample();
  // Cheap check between ticks: did a starting worker begin listening?
  bool readiness_changed();
  bool any_starting() const;

  // done runs once the worker's process is in its cgroup, or with the reason it is not.
  void spawn(const api::SpawnRequest& req, std::function<void(SpawnOutcome)> done);
  // Stops a worker: SIGTERM, grace period, cgroup.kill. done() runs from the loop once it has
  // exited, never inside stop() or sample().
  void stop(const WorkerId& id, std::function<void(StopOutcome)> done);
  // The worker's log, or nullopt; done runs on the loop, at once or once read off the loop.
  void logs(const WorkerId& id, std::size_t lines, bool previous, Backend::LogsDone done);
  bool knows(const WorkerId& id) const { return workers_.count(id) > 0; }

  std::vector<std::string> controllers() const { return backend_->controllers(); }
  const char* backend_name() const { return backend_->name(); }
  const std::filesystem::path& root_path() const { return root_path_; }

  // Called on births, deaths and state changes seen between ticks: the daemon resamples at once.
  std::function<void()> on_change;

 private:
  struct Tracked;

  void walk_tree();
  bool ran_again(Tracked& t);
  // `before`: the ended run of the same worker that systemd started again.
  void adopt(const WorkerId& id, const WorkerLife* before = nullptr);
  // Starts tracking a worker whose cgroup is open and watched; returns it.
  Tracked& track(const WorkerId& id, WorkerCgroup cg, WorkerLife life);
  void forget(std::map<WorkerId, std::unique_ptr<Tracked>>::iterator it);
  void watch_main(Tracked& t, sys::UniqueFd pidfd, bool is_child);
  void on_main_exit(const WorkerId& id);
  void collect_main_exit(Tracked& t);
  void measure(Tracked& t, const Listening& listening, std::chrono::steady_clock::time_point now,
               ReadScope scope = ReadScope::full);
  std::optional<uint64_t> proc_memory(Tracked& t, const CgroupReading& r, ReadScope scope);
  void after_exit(Tracked& t);
  void schedule_restart(Tracked& t);
  void expire(std::chrono::steady_clock::time_point now);
  std::set<uint16_t> ports_held() const;
  Listening listeners() const;
  void launch(const ServiceSpec& spec, const WorkerId& id, const api::SpawnRequest& req,
              uint32_t restarts, std::function<void(SpawnOutcome)> done);
  void on_backend_exit(const WorkerId& id, const ExitInfo& info);
  void changed();

  boost::asio::io_context& io_;
  const HiveConfig& config_;
  sys::UniqueFd root_fd_;
  std::filesystem::path root_path_;
  std::unique_ptr<Backend> backend_;
  SupervisorProbes probes_;
  TreeWatch tree_;
  std::set<WorkerId> launching_;  // started, not yet in its cgroup (systemd jobs in flight)
  uint64_t samples_ = 0;
  uint32_t next_phase_ = 0;
  std::map<WorkerId, std::unique_ptr<Tracked>> workers_;
  std::set<WorkerId> adopt_warned_;  // cgroups that could not be opened, logged once each
  std::map<WorkerId, api::SpawnRequest> last_requests_;  // for restart-on-failure
  std::map<std::string, sys::Credentials> accounts_;     // service -> the account it runs as
};

}  // namespace rbee::hive
