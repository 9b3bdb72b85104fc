#pragma once
// rbee-hive serve: one io_context drives the tick, inotify, pidfds and the HTTP API.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/http/event_stream.h"
#include "common/http/router.h"
#include "common/http/server.h"
#include "common/result.h"
#include "common/sys/avahi.h"
#include "common/sys/bus.h"
#include "common/telemetry.h"
#include "hive/gpu_monitor.h"
#include "hive/hive_config.h"
#include "hive/queen_push.h"
#include "hive/supervisor.h"

namespace rbee::hive {

struct PublishedSnapshot {
  telemetry::Snapshot snapshot;
  std::string json;
};

class HiveDaemon {
 public:
  HiveDaemon(boost::asio::io_context& io, HiveConfig config, std::string token);
  ~HiveDaemon();

  Status start();
  void stop();
  boost::asio::ip::tcp::endpoint endpoint() const { return server_->local_endpoint(); }

  std::shared_ptr<const PublishedSnapshot> current() const { return current_; }
  const HiveConfig& config() const { return config_; }
  const std::string& token() const { return token_; }
  const std::string& instance_id() const { return instance_id_; }
  Supervisor& supervisor() { return *supervisor_; }
  QueenSubscribers& subscribers() { return *subscribers_; }
  GpuMonitor& gpus() { return *gpus_; }
  std::shared_ptr<http::EventStream> stream() const { return stream_; }
  double last_tick_seconds() const { return last_tick_seconds_; }
  uint64_t ticks() const { return ticks_; }
  // Runs f once the next snapshot is published (a coalesced resample is requested): how a
  // request that needs fresh data gets it without sampling inside its handler.
  void after_next_publish(std::function<void()> f);

  // Called with every published snapshot (the push to Queens hangs here).
  std::vector<std::function<void(const std::shared_ptr<const PublishedSnapshot>&)>> on_publish;

 private:
  void schedule_tick();
  void schedule_readiness_check();
  void request_resample();
  void publish();
  std::string status_line() const;
  void schedule_watchdog();
  void add_gpu_telemetry(telemetry::Snapshot& s);
  void start_mdns(const boost::asio::ip::tcp::endpoint& bound);

  boost::asio::io_context& io_;
  HiveConfig config_;
  std::string token_;
  std::string instance_id_;
  sys::UniqueFd backend_root_fd_;
  std::unique_ptr<Supervisor> supervisor_;
  std::unique_ptr<QueenSubscribers> subscribers_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::shared_ptr<http::EventStream> stream_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer readiness_timer_;
  boost::asio::steady_timer watchdog_timer_;
  std::chrono::microseconds watchdog_every_{0};
  std::string last_status_;
  bool resample_pending_ = false;
  bool publishing_ = false;
  std::vector<std::function<void()>> after_publish_;
  bool readiness_armed_ = false;
  uint64_t seq_ = 0;
  uint64_t ticks_ = 0;
  double last_tick_seconds_ = 0;
  std::shared_ptr<const PublishedSnapshot> current_;
  std::unique_ptr<GpuMonitor> gpus_;              // NVML off the loop; see docs/gpu.md
  std::unique_ptr<sys::BusConnection> mdns_bus_;  // declared before what uses it
  std::shared_ptr<sys::AvahiPublisher> mdns_;     // shared: its bus replies hold it weakly
};

// Registers the Hive's HTTP API on the router.
void register_hive_api(HiveDaemon& daemon, http::Router& router);
// Prometheus text exposition of a snapshot.
std::string render_metrics(const telemetry::Snapshot& s, double tick_seconds, uint64_t ticks);
// hive.backend = "auto" picks systemd when PID 1 is systemd and the cgroup root is the host's
// cgroup2 mount (no custom cgroup_root); "systemd" always; anything else cgroupfs.
bool wants_systemd_backend(std::string_view configured, bool custom_root, bool systemd_running);
// A random 128-bit hex id, new on every start.
std::string random_instance_id();

}  // namespace rbee::hive
