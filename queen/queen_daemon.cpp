#include "queen/queen_daemon.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "common/http/edge_policy.h"
#include "common/http/url.h"
#include "common/json/decode.h"
#include "common/sys/credentials.h"
#include "common/sys/fd_limit.h"
#include "common/sys/host.h"
#include "common/token.h"
#include "queen/discovery.h"
#include "web/sites.h"

namespace rbee::queen {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

QueenDaemon::QueenDaemon(asio::io_context& io, QueenConfig config, std::string token,
                         DaemonOptions options)
    : io_(io),
      config_(std::move(config)),
      token_(std::move(token)),
      options_(options),
      registry_(RegistryOptions{
          .stale_after_intervals = config_.stale_after_intervals,
          .down_after_intervals = config_.down_after_intervals,
          .default_hive_port = config_.hive_port,
          .max_push_hives_per_sender = config_.max_push_hives_per_address,
          .push_prefix_v4 = config_.push_address_prefix_v4,
          .push_prefix_v6 = config_.push_address_prefix_v6,
          .forget_push_only_after_ms = int64_t{config_.forget_push_only_after_s} * 1000}),
      events_(std::make_shared<http::EventStream>()),
      event_ring_(config_.events_kept, std::to_string(now().wall_ms)),
      status_timer_(io),
      watch_timer_(io) {
  registry_.on_event = [this](const Event& e) { on_event(e); };
}

QueenDaemon::~QueenDaemon() {
  stop();
}

Now QueenDaemon::now() const {
  using namespace std::chrono;
  return {duration_cast<milliseconds>(Clock::now().time_since_epoch()).count(),
          duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count()};
}

Status QueenDaemon::start() {
  const bool has_token = !token_.empty();
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  decode_thread_count_ = config_.decode_threads.value_or(std::clamp(cores - 1, 1u, 4u));
  if (decode_thread_count_ > 0)
    decoders_ = std::make_unique<boost::asio::thread_pool>(decode_thread_count_);
  auto listen = daemon_listen("queen", config_.listen, kDefaultQueenPort, has_token);
  if (!listen) return listen.error();
  if (has_token) {
    if (auto st = check_token_scope(config_); !st) return st;
  }

  register_queen_api(*this, router_);
  http::Limits limits;
  limits.max_body_bytes = kMaxIngestBytes;
  limits.read_timeout = std::chrono::seconds(30);
  const auto fd_limit = sys::open_file_limit();
  auto budget = http::connection_budget(config_.max_connections, fd_limit, kFdReserve);
  if (budget.lowered)
    spdlog::warn(
        "max_connections {} lowered to {}: the open-file limit is {} (raise "
        "LimitNOFILE or ulimit -n to hold more Hives)",
        config_.max_connections, budget.connections, *fd_limit);
  limits.max_connections = budget.connections;
  limits.max_streams = config_.max_streams;
  limits.max_streams_per_address = config_.max_streams_per_address;
  http::add_static_site(router_, web::queen_site(), config_.frame_ancestors);
  auto policy = http::EdgePolicy::for_daemon(token_, config_.allowed_hosts);
  policy.cors_origins = config_.cors_origins;
  policy.on_refused = [this](const http::Request& req, std::string_view reason) {
    if (req.path == kIngestPath) ++metrics_.rejected[std::string(reason)];
  };
  server_ = std::make_unique<http::Server>(io_, router_, limits, std::move(policy));
  auto ep = asio::ip::tcp::endpoint(asio::ip::make_address(listen->host), listen->port);
  if (auto st = server_->listen(ep); !st) return st;
  if (auto st = compute_advertise_url(listen->host); !st) {
    server_->stop();
    return st;
  }

  start_prober();
  rediscover();
  if (config_.mdns) start_mdns();
  schedule_status();
  schedule_watch();
  auto bound = server_->local_endpoint();
  spdlog::info(
      "queen listening on http://{}:{} (advertised to Hives as {}, {} candidate Hives, "
      "{} connections, {} decode threads)",
      http::url_host(bound.address().to_string()), bound.port(), advertise_url_, registry_.size(),
      budget.connections, decode_thread_count_);
  if (!has_token)
    spdlog::warn(
        "no token configured: listening on loopback only; telemetry and refresh accepted from "
        "root and uid {} on this host",
        sys::effective_uid());
  return Ok{};
}

Status QueenDaemon::compute_advertise_url(const std::string& listen_host) {
  auto advertised = advertised_url(config_.advertise_url, listen_host,
                                   server_->local_endpoint().port(), sys::host_name_or_localhost());
  if (!advertised) return advertised.error();
  advertise_url_ = std::move(advertised->url);
  advertise_loopback_ = advertised->loopback;
  return Ok{};
}

void QueenDaemon::start_prober() {
  ProberOptions po;
  po.queen_url = advertise_url_;
  po.token = token_;
  prober_ = std::make_unique<HiveProber>(io_, po);
  prober_->on_success = [this](const std::string& alias, const json::Capabilities& caps,
                               std::string raw) { on_probe_ok(alias, caps, std::move(raw)); };
  prober_->on_failure = [this](const std::string& alias, const std::string& error) {
    on_probe_failed(alias, error);
  };
}

void QueenDaemon::on_probe_ok(const std::string& alias, const json::Capabilities& caps,
                              std::string raw) {
  if (auto src = candidate_sources_.find(alias);
      src != candidate_sources_.end() && src->second == HiveSource::ssh_config) {
    // An SSH alias named a hive_id an mDNS candidate also has: drop that one, keep the alias.
    auto& known = ssh_hive_ids_[alias];
    if (known != caps.hive_id) {
      known = caps.hive_id;
      if (auto other = candidate_sources_.find(caps.hive_id);
          other != candidate_sources_.end() && other->second == HiveSource::mdns)
        asio::post(io_, [this, alias] {
          apply_candidates();
          if (prober_) prober_->probe_now(alias);
        });
    }
  }
  auto bound = registry_.handshake_ok(alias, caps, std::move(raw), now());
  auto& logged = last_probe_error_[alias];
  if (bound.outcome == BindOutcome::bound) {
    if (!logged.empty())
      spdlog::info("hive {} ({}) answers again", alias, caps.hive_id);
    else
      spdlog::debug("hive {} subscribed: hive_id {}, instance {}", alias, caps.hive_id,
                    caps.instance_id);
    logged.clear();
  } else if (logged != bound.message) {
    spdlog::warn("hive {}: {}", alias, bound.message);
    logged = bound.message;
  }
}

void QueenDaemon::on_probe_failed(const std::string& alias, const std::string& error) {
  registry_.handshake_failed(alias, error, now());
  auto& logged = last_probe_error_[alias];
  if (logged != error) spdlog::warn("hive {}: {} (retrying with backoff)", alias, error);
  logged = error;
}

void QueenDaemon::stop() {
  mdns_browser_.reset();
  status_timer_.cancel();
  watch_timer_.cancel();
  if (prober_) prober_->stop();
  if (server_) server_->stop();
  // Decodes in flight finish; their results are then dropped by the loop or never run.
  if (decoders_) decoders_->join();
}

void QueenDaemon::on_event(const Event& e) {
  events_->publish_shared(event_ring_.add(e, now().wall_ms));
  if (e.worker) {
    spdlog::debug("hive {}: {} {}/{} {}", e.hive_id, to_string(e.kind), e.worker->service,
                  e.worker->instance, telemetry::to_string(e.worker->state));
    return;
  }
  const std::string who = e.alias.empty() || e.alias == e.hive_id ? e.hive_id
                          : e.hive_id.empty()                     ? e.alias
                                              : e.hive_id + " (" + e.alias + ")";
  if (e.kind == EventKind::hive_restarted) {
    spdlog::info("hive {} restarted", who);
  } else if (e.kind != EventKind::hive_removed) {
    spdlog::info("hive {} is {} (was {})", who, to_string(e.status), to_string(e.previous_status));
  }
  // A Hive that went quiet may have restarted and forgotten us: subscribe again at once.
  if (!e.alias.empty() && (e.kind == EventKind::hive_degraded || e.kind == EventKind::hive_down ||
                           e.kind == EventKind::hive_restarted)) {
    asio::post(io_, [this, alias = e.alias] {
      if (prober_) prober_->probe_now(alias);
    });
  }
}

void QueenDaemon::schedule_status() {
  status_timer_.expires_after(options_.status_period);
  status_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    registry_.evaluate(now());
    schedule_status();
  });
}

}  // namespace rbee::queen
