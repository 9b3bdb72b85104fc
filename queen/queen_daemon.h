#pragma once
// rbee-queen serve: one io_context drives discovery, the handshakes, ingest, the status timer
// and the HTTP API. See docs/queen.md. The code is split by concept: start-up, the prober's
// results and the timers (queen_daemon.cpp), the candidate set from SSH and mDNS
// (queen_candidates.cpp), the push of snapshots (queen_ingest.cpp).
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/http/event_stream.h"
#include "common/http/message.h"
#include "common/http/router.h"
#include "common/http/server.h"
#include "common/json/decode.h"
#include "common/result.h"
#include "common/sys/avahi.h"
#include "common/sys/bus.h"
#include "queen/advertise_url.h"
#include "queen/event_ring.h"
#include "queen/hive_prober.h"
#include "queen/metrics.h"
#include "queen/queen_config.h"
#include "queen/registry.h"

namespace rbee::queen {

struct DaemonOptions {
  std::chrono::milliseconds status_period{250};
  std::chrono::milliseconds watch_period{2000};
};

// Where Hives push their telemetry, and the largest snapshot taken there.
inline constexpr const char* kIngestPath = "/v1/hive-telemetry";
inline constexpr std::size_t kMaxIngestBytes = 16 * 1024 * 1024;
// Open files a Queen keeps for itself besides its connections (logs, config, the bus, mDNS).
inline constexpr uint64_t kFdReserve = 256;

class QueenDaemon {
 public:
  QueenDaemon(boost::asio::io_context& io, QueenConfig config, std::string token,
              DaemonOptions options = {});
  ~QueenDaemon();

  Status start();
  void stop();
  boost::asio::ip::tcp::endpoint endpoint() const { return server_->local_endpoint(); }

  const QueenConfig& config() const { return config_; }
  const std::string& advertise_url() const { return advertise_url_; }
  const Registry& registry() const { return registry_; }
  const QueenMetrics& metrics() const { return metrics_; }
  const HiveProber& prober() const { return *prober_; }
  std::shared_ptr<http::EventStream> events() const { return events_; }
  const EventRing& recent_events() const { return event_ring_; }
  Now now() const;

  // POST kIngestPath: decoded on the loop (ingest) or on a decode thread with the registry
  // merge and the answer back on the loop (ingest_async, when decode_threads > 0).
  http::Response ingest(const http::Request& req);
  void ingest_async(const http::Request& req, http::Reply reply);
  std::size_t decode_threads() const { return decode_thread_count_; }
  // Re-reads the SSH config and probes every Hive now.
  void refresh();

 private:
  Status compute_advertise_url(const std::string& listen_host);
  void start_prober();
  void on_probe_ok(const std::string& alias, const json::Capabilities& caps, std::string raw);
  void on_probe_failed(const std::string& alias, const std::string& error);
  void rediscover();
  // The registry's candidates: the last good SSH discovery plus what mDNS found.
  void apply_candidates();
  void start_mdns();
  void on_mdns_found(const sys::FoundService& f);
  void on_mdns_removed(const std::string& name, int interface, int protocol);
  void add_candidate(const Candidate& c);
  void on_event(const Event& e);
  using Clock = std::chrono::steady_clock;
  http::Response apply(telemetry::Snapshot& snap, const std::string& sender, Clock::time_point t0);
  http::Response reject(const std::string& sender, const char* reason, unsigned status,
                        std::string_view message);
  static json::DecodeLimits ingest_limits();
  void schedule_status();
  void schedule_watch();

  boost::asio::io_context& io_;
  QueenConfig config_;
  std::string token_;
  DaemonOptions options_;
  std::string advertise_url_;
  bool advertise_loopback_ = false;
  Registry registry_;
  std::unique_ptr<HiveProber> prober_;
  QueenMetrics metrics_;
  telemetry::Snapshot scratch_;  // ingest decodes into it; holds the workers last replaced
  // Snapshots whose storage decode jobs reuse (the loop's thread only).
  static constexpr std::size_t kSpareSnapshots = 64;
  std::vector<telemetry::Snapshot> spare_snapshots_;
  std::size_t decode_thread_count_ = 0;
  std::unique_ptr<boost::asio::thread_pool> decoders_;
  // Decode jobs hold it weakly: a result arriving after the daemon is gone is dropped.
  std::shared_ptr<void> alive_ = std::make_shared<int>(0);
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::shared_ptr<http::EventStream> events_;
  EventRing event_ring_;
  boost::asio::steady_timer status_timer_;
  boost::asio::steady_timer watch_timer_;
  std::vector<std::filesystem::path> watched_files_;
  std::string fingerprint_;
  std::string last_discovery_error_;
  std::set<std::string> logged_warnings_;
  std::map<std::string, std::string> last_probe_error_;  // alias -> last error logged
  std::vector<Candidate> ssh_candidates_;                // the last good SSH discovery
  std::map<std::string, HiveSource> candidate_sources_;  // alias -> source, as last applied
  std::map<std::string, std::string> ssh_hive_ids_;      // SSH alias -> hive_id it answered
  // mDNS: instance name -> (interface, protocol) -> what Avahi resolved there.
  std::map<std::string, std::map<std::pair<int, int>, sys::FoundService>> mdns_items_;
  std::unique_ptr<sys::BusConnection> mdns_bus_;     // declared before what uses it
  std::shared_ptr<sys::AvahiBrowser> mdns_browser_;  // shared: its bus replies hold it weakly
};

// Registers the Queen's HTTP API on the router.
void register_queen_api(QueenDaemon& daemon, http::Router& router);

}  // namespace rbee::queen
