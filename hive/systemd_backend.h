#pragma once
// systemd backend: each worker is a transient unit rbee-<service>@<port>.service in slice
// rbee-<service>.slice (under rbee.slice), started over D-Bus. systemd owns the cgroups; the Hive
// never writes into them.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/sys/bus.h"
#include "common/sys/credentials.h"
#include "common/sys/systemd_manager.h"
#include "hive/backend.h"
#include "hive/off_loop.h"

namespace rbee::hive {

class SystemdBackend : public Backend {
 public:
  struct Options {
    // A start (the StartTransientUnit reply and its job's JobRemoved) gets the plan's
    // stop_timeout, and at least this long; then the spawn fails and the unit is stopped.
    std::chrono::milliseconds min_start_timeout{5000};
    // The User= of a unit whose plan names no account: a Hive that is not root cannot switch
    // accounts, so its workers run as the Hive does, never as the system manager's root.
    std::optional<sys::Credentials> hive_account;
  };
  // Connects to the system bus; an error when systemd does not answer there.
  static Result<std::unique_ptr<SystemdBackend>> connect(boost::asio::io_context& io,
                                                         int cgroup_root_fd, Options options);
  static Result<std::unique_ptr<SystemdBackend>> connect(boost::asio::io_context& io,
                                                         int cgroup_root_fd) {
    return connect(io, cgroup_root_fd, Options{});
  }
  ~SystemdBackend() override;

  const char* name() const override { return "systemd"; }
  Layout layout() const override { return Layout::systemd; }
  Status prepare() override;
  void launch(const LaunchPlan& plan, int64_t started_at_ms,
              std::function<void(Result<Launched>)> done) override;
  void watch(const WorkerId& id) override;
  void stop(const WorkerId& id, int cgroup_fd, std::chrono::milliseconds grace) override;
  void kill_rest(int) override {}  // KillMode=control-group does it
  void remove(const WorkerId& id) override;
  bool owns_cgroups() const override { return false; }
  std::vector<std::string> controllers() const override;
  void logs(const WorkerId& id, std::size_t lines, bool previous, LogsDone done) override;

 private:
  // Everything asynchronous here (replies, signals, the start deadline) runs through bus_, which
  // runs nothing once it is gone; bus_ goes with this object, so `this` in them is always alive.
  SystemdBackend(boost::asio::io_context& io, std::unique_ptr<sys::BusConnection> bus, int root_fd,
                 Options options);
  void on_start_reply(uint64_t start, Result<std::string> job);
  void on_job_removed(const sys::JobRemoved& job);
  void on_start_deadline(uint64_t start);
  void complete(uint64_t start, Result<Launched> outcome);
  void on_properties_changed(const sys::ServiceProperties& p);
  // PropertiesChanged of one unit's Service interface: the Hive hears only its own units.
  Status follow(const std::string& unit);
  void stop_unit(const std::string& unit);

  std::unique_ptr<sys::BusConnection> bus_;
  sys::SystemdManager manager_{*bus_};
  int root_fd_;
  Options options_;
  std::shared_ptr<void> job_match_;
  std::map<std::string, std::shared_ptr<void>> followed_;  // unit -> its PropertiesChanged match
  // Starts in flight, by a serial. The reply names the job; its JobRemoved may come before that
  // reply; the deadline may beat both.
  struct Start {
    std::string unit;
    std::string job;                           // empty until the reply names it
    std::map<std::string, std::string> early;  // job -> result, seen before the reply
    bool followed_before = false;              // a relaunch: keep following on failure
    std::chrono::milliseconds deadline{0};
    std::function<void(Result<Launched>)> done;
  };
  uint64_t next_start_ = 0;
  std::map<uint64_t, Start> starts_;
  OffLoop off_loop_;  // journal reads
};

// True when PID 1 is systemd (the same test as sd_booted()).
bool systemd_is_running();

}  // namespace rbee::hive
