#include "hive/hive_daemon.h"

#include <sys/random.h>

#include <cstring>

#include <spdlog/spdlog.h>

#include "common/json/telemetry_json.h"
#include "common/sys/cgroup.h"
#include "common/token.h"
#include "hive/host_info.h"

namespace rbee::hive {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::string random_instance_id() {
  unsigned char bytes[16] = {};
  if (::getrandom(bytes, sizeof bytes, 0) != sizeof bytes) {
    auto t = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
    std::memcpy(bytes, &t, sizeof t);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) out += {kHex[b >> 4], kHex[b & 15]};
  return out;
}

HiveDaemon::HiveDaemon(asio::io_context& io, HiveConfig config, std::string token)
    : io_(io),
      config_(std::move(config)),
      token_(std::move(token)),
      instance_id_(random_instance_id()),
      stream_(std::make_shared<http::EventStream>()),
      tick_timer_(io),
      readiness_timer_(io) {
  if (config_.hive_id.empty()) config_.hive_id = host_name();
}

HiveDaemon::~HiveDaemon() = default;

Status HiveDaemon::start() {
  std::filesystem::path root = config_.cgroup_root;
  if (root.empty()) {
    auto mount = sys::find_cgroup2_mount();
    if (!mount) return mount.error();
    root = *mount;
  }
  if (config_.backend == "systemd")
    return make_error("hive.backend = \"systemd\" is not available in this build; use cgroupfs");
  auto root_fd = sys::open_dir(root);
  if (!root_fd) return make_error("cgroup root: " + root_fd.error().message);
  supervisor_ = std::make_unique<Supervisor>(io_, config_, std::move(*root_fd), root);
  if (auto st = supervisor_->start(); !st)
    return make_error("cannot prepare " + (root / "rbee.slice").string() + ": " + st.error().message);
  supervisor_->on_change = [this] { request_resample(); };

  const bool has_token = !token_.empty();
  std::string listen_text = config_.listen;
  if (listen_text.empty()) listen_text = has_token ? "0.0.0.0:7835" : "127.0.0.1:7835";
  auto listen = parse_listen(listen_text, 7835);
  if (!listen) return listen.error();
  if (!has_token && !is_loopback_host(listen->host))
    return make_error("hive.listen = " + listen_text +
                      " is not a loopback address and no token is configured; set "
                      "hive.token_file or RBEE_TOKEN, or listen on 127.0.0.1");
  subscribers_ = std::make_unique<QueenSubscribers>(
      io_, token_, std::chrono::seconds(config_.subscriber_drop_after_s));
  on_publish.push_back([this](const auto& snap) { subscribers_->push(snap); });
  register_hive_api(*this, router_);
  server_ = std::make_unique<http::Server>(io_, router_);
  auto ep = asio::ip::tcp::endpoint(asio::ip::make_address(listen->host), listen->port);
  if (auto st = server_->listen(ep); !st) return st;

  publish();
  schedule_tick();
  auto bound = server_->local_endpoint();
  spdlog::info("hive {} listening on http://{}:{} (backend cgroupfs, root {}, {} workers found)",
               config_.hive_id, bound.address().to_string(), bound.port(), root.string(),
               current_->snapshot.workers.size());
  if (!has_token)
    spdlog::warn("no token configured: listening on loopback only; mutations accepted from loopback");
  return Ok{};
}

void HiveDaemon::stop() {
  tick_timer_.cancel();
  readiness_timer_.cancel();
  if (server_) server_->stop();
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
    if (supervisor_->readiness_changed()) publish();
    else schedule_readiness_check();
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

void HiveDaemon::resample_now() { publish(); }

void HiveDaemon::publish() {
  const auto t0 = Clock::now();
  auto snap = std::make_shared<PublishedSnapshot>();
  auto& s = snap->snapshot;
  s.hive_id = config_.hive_id;
  s.instance_id = instance_id_;
  s.seq = ++seq_;
  s.timestamp_ms = now_ms();
  s.interval_ms = config_.interval_ms;
  s.backend = "cgroupfs";
  s.host = read_host();
  s.workers = supervisor_->sample();
  snap->json = json::encode_snapshot(s);
  last_tick_seconds_ = std::chrono::duration<double>(Clock::now() - t0).count();
  ++ticks_;
  current_ = snap;
  stream_->publish("snapshot", snap->json);
  for (auto& f : on_publish) f(current_);
  schedule_readiness_check();
}

}  // namespace rbee::hive
