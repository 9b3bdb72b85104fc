#pragma once
// systemd backend: each worker is a transient unit rbee-<service>@<port>.service in slice
// rbee-<service>.slice (under rbee.slice), started over D-Bus. systemd owns the cgroups; the Hive
// never writes into them.
#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <string>

#include "common/sys/bus.h"
#include "hive/backend.h"

namespace rbee::hive {

class SystemdBackend : public Backend {
 public:
  // Connects to the system bus; an error when systemd does not answer there.
  static Result<std::unique_ptr<SystemdBackend>> connect(boost::asio::io_context& io,
                                                         int cgroup_root_fd);
  ~SystemdBackend() override;

  const char* name() const override { return "systemd"; }
  Layout layout() const override { return Layout::systemd; }
  Status prepare() override;
  void launch(const LaunchPlan& plan, int64_t started_at_ms,
              std::function<void(Result<Launched>)> done) override;
  void stop(const WorkerId& id, int cgroup_fd, std::chrono::milliseconds grace) override;
  void kill_rest(int) override {}  // KillMode=control-group does it
  void remove(const WorkerId& id) override;
  bool owns_cgroups() const override { return false; }
  std::vector<std::string> controllers() const override;
  std::optional<std::string> logs(const WorkerId& id, std::size_t lines, bool previous) override;

 private:
  SystemdBackend(boost::asio::io_context& io, std::unique_ptr<sys::BusConnection> bus, int root_fd);
  void on_job_removed(sd_bus_message* m);
  void on_properties_changed(sd_bus_message* m);

  boost::asio::io_context& io_;
  std::unique_ptr<sys::BusConnection> bus_;
  int root_fd_;
  std::shared_ptr<void> job_match_, props_match_;
  // Jobs we wait for, by object path: the start's reply and its JobRemoved may come in any order.
  struct PendingJob {
    std::function<void(const std::string& result)> done;
  };
  std::map<std::string, PendingJob> jobs_;
  std::map<std::string, std::string> finished_jobs_;  // JobRemoved seen before our reply
};

// True when PID 1 is systemd (the same test as sd_booted()).
bool systemd_is_running();

}  // namespace rbee::hive
