#include "hive/hive_daemon.h"

#include <cstring>

#include <spdlog/spdlog.h>

#include "common/json/telemetry_json.h"
#include "common/sys/cgroup.h"
#include "common/sys/credentials.h"
#include "common/sys/fd_limit.h"
#include "common/sys/host.h"
#include "common/sys/notify.h"
#include "common/sys/random_bytes.h"
#include "common/token.h"
#include "hive/cgroupfs_backend.h"
#include "hive/host_info.h"
#include "hive/systemd_backend.h"
#include "web/sites.h"

namespace rbee::hive {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::string random_instance_id() {
  unsigned char bytes[16] = {};
  if (!sys::random_bytes(bytes, sizeof bytes)) {
    auto t = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
    std::memcpy(bytes, &t, sizeof t);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) out += {kHex[b >> 4], kHex[b & 15]};
  return out;
}

// systemd makes units only under its own mount: a root of our own means cgroupfs.
bool wants_systemd_backend(std::string_view configured, bool custom_root, bool systemd_running) {
  if (configured == "systemd") return true;
  return configured == "auto" && !custom_root && systemd_running;
}

HiveDaemon::HiveDaemon(asio::io_context& io, HiveConfig config, std::string token)
    : io_(io),
      config_(std::move(config)),
      token_(std::move(token)),
      instance_id_(random_instance_id()),
      stream_(std::make_shared<http::EventStream>()),
      tick_timer_(io),
      readiness_timer_(io),
      watchdog_timer_(io) {
  if (config_.hive_id.empty()) config_.hive_id = sys::host_name_or_localhost();
  gpus_ = std::make_unique<GpuMonitor>(
      io_, GpuMonitorOptions{config_.nvml_library, config_.nvml_keep_open,
                             std::chrono::milliseconds(config_.interval_ms)});
}

HiveDaemon::~HiveDaemon() = default;

Status HiveDaemon::start() {
  std::filesystem::path root = config_.cgroup_root;
  if (root.empty()) {
    auto mount = sys::find_cgroup2_mount();
    if (!mount) return mount.error();
    root = *mount;
  }
  auto root_fd = sys::open_dir(root);
  if (!root_fd) return make_error("cgroup root: " + root_fd.error().message);
  backend_root_fd_ = sys::dup_cloexec(root_fd->get());
  if (!backend_root_fd_)
    return make_error("cgroup root: dup: " + std::string(std::strerror(errno)));

  std::unique_ptr<Backend> backend;
  bool custom_root = false;
  if (!config_.cgroup_root.empty()) {
    auto mount = sys::find_cgroup2_mount();
    std::error_code ec;
    custom_root = !mount || std::filesystem::weakly_canonical(root, ec) != *mount;
  }
  if (wants_systemd_backend(config_.backend, custom_root,
                            config_.backend == "auto" && systemd_is_running())) {
    SystemdBackend::Options options;
    if (sys::effective_uid() != 0) {
      auto own = sys::current_credentials();
      if (!own) return make_error("the Hive's own account: " + own.error().message);
      options.hive_account = std::move(*own);
    }
    auto sd = SystemdBackend::connect(io_, backend_root_fd_.get(), std::move(options));
    if (sd) {
      backend = std::move(*sd);
    } else if (config_.backend == "systemd") {
      return make_error("hive.backend = \"systemd\": " + sd.error().message);
    } else {
      spdlog::warn("systemd is PID 1 but its bus does not answer ({}); using cgroupfs",
                   sd.error().message);
    }
  }
  if (!backend)
    backend = std::make_unique<CgroupfsBackend>(io_, backend_root_fd_.get(), config_.log_dir);
  supervisor_ =
      std::make_unique<Supervisor>(io_, config_, std::move(*root_fd), root, std::move(backend));
  if (auto st = supervisor_->start(); !st)
    return make_error("cannot prepare " + (root / "rbee.slice").string() + ": " +
                      st.error().message);
  supervisor_->on_change = [this] { request_resample(); };

  const bool has_token = !token_.empty();
  auto listen = daemon_listen("hive", config_.listen, kDefaultHivePort, has_token);
  if (!listen) return listen.error();
  auto queens = queen_url_keys(config_.queen_urls);
  if (!queens) return queens.error();
  subscribers_ = std::make_unique<QueenSubscribers>(
      io_, token_, std::chrono::seconds(config_.subscriber_drop_after_s), std::move(*queens));
  on_publish.push_back([this](const auto& snap) { subscribers_->push(snap); });
  register_hive_api(*this, router_);
  http::Limits limits;
  // Half the open files stay for the workers (a few fds each: cgroup files, a pidfd, logs).
  const auto fd_limit = sys::open_file_limit();
  auto budget = http::connection_budget(config_.max_connections, fd_limit,
                                        std::max<uint64_t>(256, fd_limit.value_or(0) / 2));
  if (budget.lowered)
    spdlog::warn(
        "max_connections {} lowered to {}: the open-file limit is {} (half is kept for "
        "workers; raise LimitNOFILE or ulimit -n)",
        config_.max_connections, budget.connections, *fd_limit);
  limits.max_connections = budget.connections;
  limits.max_streams = config_.max_streams;
  limits.max_streams_per_address = config_.max_streams_per_address;
  http::add_static_site(router_, web::hive_site(), config_.frame_ancestors);
  auto policy = http::EdgePolicy::for_daemon(token_, config_.allowed_hosts);
  policy.cors_origins = config_.cors_origins;
  server_ = std::make_unique<http::Server>(io_, router_, limits, std::move(policy));
  auto ep = asio::ip::tcp::endpoint(asio::ip::make_address(listen->host), listen->port);
  if (auto st = server_->listen(ep); !st) return st;

  gpus_->on_change = [this] { request_resample(); };
  gpus_->start();
  publish();
  schedule_tick();
  auto bound = server_->local_endpoint();
  spdlog::info("hive {} listening on http://{}:{} (backend {}, root {}, {} workers found)",
               config_.hive_id, bound.address().to_string(), bound.port(),
               supervisor_->backend_name(), root.string(), current_->snapshot.workers.size());
  if (config_.mdns) start_mdns(bound);
  sys::notify_ready(status_line());
  if (auto every = sys::watchdog_interval()) {
    watchdog_every_ = *every;
    schedule_watchdog();
  }
  if (!has_token)
    spdlog::warn(
        "no token configured: listening on loopback only; mutations accepted from root and uid "
        "{} on this host",
        sys::effective_uid());
  return Ok{};
}

std::string HiveDaemon::status_line() const {
  std::size_t ready = 0, starting = 0, down = 0;
  for (const auto& w : current_->snapshot.workers) {
    if (w.state == telemetry::WorkerState::ready)
      ++ready;
    else if (w.state == telemetry::WorkerState::starting)
      ++starting;
    else if (telemetry::is_terminal(w.state))
      ++down;
  }
  return std::to_string(current_->snapshot.workers.size()) + " workers (" + std::to_string(ready) +
         " ready, " + std::to_string(starting) + " starting, " + std::to_string(down) +
         " exited), " + std::to_string(subscribers_->count()) + " queens";
}

void HiveDaemon::schedule_watchdog() {
  // Pinged from the loop itself: a stuck loop stops the pings and systemd restarts us.
  watchdog_timer_.expires_after(watchdog_every_);
  watchdog_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    sys::notify_watchdog();
    schedule_watchdog();
  });
}

void HiveDaemon::stop() {
  sys::notify_stopping();
  if (mdns_) mdns_->stop();  // the goodbye, before the API goes away
  watchdog_timer_.cancel();
  tick_timer_.cancel();
  readiness_timer_.cancel();
  if (server_) server_->stop();
}

// Announces _rbee-hive._tcp on the bound port through Avahi. Without Avahi: one warning.
void HiveDaemon::start_mdns(const asio::ip::tcp::endpoint& bound) {
  if (bound.address().is_loopback()) {
    spdlog::warn("hive.mdns: listening on {} (loopback only): not announcing over mDNS",
                 bound.address().to_string());
    return;
  }
  auto txt = sys::encode_txt(
      {{"hive_id", config_.hive_id}, {"version", RBEE_VERSION}, {"api", "/capabilities"}});
  if (!txt) {
    spdlog::warn("hive.mdns: {}; not announcing", txt.error().message);
    return;
  }
  auto bus = sys::BusConnection::open_system(io_);
  if (!bus) {
    spdlog::warn("hive.mdns: {}; not announcing (is the system bus and Avahi running?)",
                 bus.error().message);
    return;
  }
  mdns_bus_ = std::move(*bus);
  // A DNS label holds at most 63 bytes; the TXT record carries the whole id.
  std::string name = config_.hive_id.substr(0, 63);
  mdns_ = std::make_shared<sys::AvahiPublisher>(
      *mdns_bus_, sys::AvahiPublisher::Service{std::move(name), std::string(sys::kMdnsServiceType),
                                               bound.port(), std::move(*txt)});
  mdns_->start();
}

void HiveDaemon::schedule_tick() {
  tick_timer_.expires_after(std::chrono::milliseconds(config_.interval_ms));
  tick_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    publish();
    schedule_tick();
  });
}

void HiveDaemon::schedule_readiness_check() {
  if (readiness_armed_ || !supervisor_->any_starting()) return;
  readiness_armed_ = true;
  // A starting worker becomes ready when it listens; look every 50 ms rather than wait a tick.
  readiness_timer_.expires_after(std::chrono::milliseconds(50));
  readiness_timer_.async_wait([this](boost::system::error_code ec) {
    readiness_armed_ = false;
    if (ec) return;
    if (supervisor_->readiness_changed())
      publish();
    else
      schedule_readiness_check();
  });
}

void HiveDaemon::request_resample() {
  if (resample_pending_) return;
  resample_pending_ = true;
  asio::post(io_, [this] {
    resample_pending_ = false;
    publish();
  });
}

void HiveDaemon::after_next_publish(std::function<void()> f) {
  after_publish_.push_back(std::move(f));
  request_resample();
}

// GPUs from the latest NVML reading (taken off the loop), attributed to the workers sampled just
// now by PID. Asks for the next reading; never waits for it.
void HiveDaemon::add_gpu_telemetry(telemetry::Snapshot& s) {
  gpus_->request();
  s.gpus_stale = gpus_->stale(Clock::now());
  const auto* reading = gpus_->latest();
  if (!reading || !reading->sample) return;
  s.gpus = reading->sample->gpus;
  if (s.gpus.empty()) return;
  attribute_gpu_memory(reading->sample->processes, s.workers);
  attribute_gpu_util(*reading->sample, s.workers);
  attribute_other_memory(*reading->sample, s.workers, s.gpus);
}

// Never re-entrant: nothing it calls publishes (outcomes found while sampling are posted), so
// each snapshot out of the Hive has a greater seq than the one before.
void HiveDaemon::publish() {
  if (publishing_) {
    spdlog::error("publish() re-entered; resampling later instead");
    return request_resample();
  }
  publishing_ = true;
  const auto t0 = Clock::now();
  auto snap = std::make_shared<PublishedSnapshot>();
  auto& s = snap->snapshot;
  s.hive_id = config_.hive_id;
  s.instance_id = instance_id_;
  s.seq = ++seq_;
  s.timestamp_ms = now_ms();
  s.interval_ms = config_.interval_ms;
  s.backend = supervisor_->backend_name();
  s.host = read_host();
  s.workers = supervisor_->sample();
  add_gpu_telemetry(s);
  snap->json = json::encode_snapshot(s);
  last_tick_seconds_ = std::chrono::duration<double>(Clock::now() - t0).count();
  ++ticks_;
  current_ = snap;
  stream_->publish("snapshot", snap->json);
  for (auto& f : on_publish) f(current_);
  if (subscribers_) {
    auto status = status_line();
    if (status != last_status_) sys::notify_status(last_status_ = std::move(status));
  }
  schedule_readiness_check();
  publishing_ = false;
  for (auto& f : std::exchange(after_publish_, {})) f();
}

}  // namespace rbee::hive
