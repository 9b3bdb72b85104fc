#include "queen/queen_daemon.h"

#include <spdlog/spdlog.h>

#include "common/http/client.h"
#include "common/http/edge_policy.h"
#include "common/json/decode.h"
#include "common/json/writer.h"
#include "common/sys/credentials.h"
#include "common/sys/host.h"
#include "common/token.h"
#include "queen/discovery.h"
#include "queen/mdns_discovery.h"

namespace rbee::queen {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMaxBodyBytes = 16 * 1024 * 1024;

std::string local_hostname() {
  auto name = sys::host_name();
  return name && !name->empty() ? *name : "localhost";
}

std::string bracket(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

http::Response json_ok(unsigned status, std::string_view key, std::string_view value) {
  json::Writer w;
  w.begin_object().field(key, value).end_object();
  return http::json_response(status, w.take());
}

}  // namespace

void QueenMetrics::observe_latency(double seconds) {
  std::size_t i = 0;
  while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
  ++latency_buckets[i];
  latency_sum += seconds;
  ++latency_count;
}

bool is_loopback_name(const std::string& host) {
  if (is_loopback_host(host)) return true;
  std::string h;
  for (char c : host) h.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return h == "localhost" || h.ends_with(".localhost");
}

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
  auto listen = daemon_listen("queen", config_.listen, 7833, has_token);
  if (!listen) return listen.error();
  if (has_token) {
    if (auto st = check_token_scope(config_); !st) return st;
  }

  register_queen_api(*this, router_);
  http::Limits limits;
  limits.max_body_bytes = kMaxBodyBytes;
  limits.read_timeout = std::chrono::seconds(30);
  limits.max_streams = config_.max_streams;
  limits.max_streams_per_address = config_.max_streams_per_address;
  auto policy = http::EdgePolicy::for_daemon(token_, config_.allowed_hosts);
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

  ProberOptions po;
  po.queen_url = advertise_url_;
  po.token = token_;
  prober_ = std::make_unique<HiveProber>(io_, po);
  prober_->on_success = [this](const std::string& alias, const json::Capabilities& caps,
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
  };
  prober_->on_failure = [this](const std::string& alias, const std::string& error) {
    registry_.handshake_failed(alias, error, now());
    auto& logged = last_probe_error_[alias];
    if (logged != error) spdlog::warn("hive {}: {} (retrying with backoff)", alias, error);
    logged = error;
  };

  rediscover();
  if (config_.mdns) start_mdns();
  schedule_status();
  schedule_watch();
  auto bound = server_->local_endpoint();
  spdlog::info("queen listening on http://{}:{} (advertised to Hives as {}, {} candidate Hives)",
               bracket(bound.address().to_string()), bound.port(), advertise_url_,
               registry_.size());
  if (!has_token)
    spdlog::warn(
        "no token configured: listening on loopback only; telemetry and refresh accepted from "
        "root and uid {} on this host",
        sys::effective_uid());
  return Ok{};
}

Status QueenDaemon::compute_advertise_url(const std::string& listen_host) {
  if (!config_.advertise_url.empty()) {
    auto u = http::parse_url(config_.advertise_url);
    if (!u) return make_error("queen.advertise_url: " + u.error().message);
    if (u->target != "/") return make_error("queen.advertise_url must not have a path");
    advertise_url_ = u->origin();
    advertise_loopback_ = is_loopback_name(u->host);
    return Ok{};
  }
  const auto port = server_->local_endpoint().port();
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(listen_host, ec);
  std::string host = listen_host;
  if (!ec && addr.is_unspecified()) host = local_hostname();
  advertise_url_ = "http://" + bracket(host) + ":" + std::to_string(port);
  advertise_loopback_ = is_loopback_name(host);
  return Ok{};
}

void QueenDaemon::stop() {
  mdns_browser_.reset();
  status_timer_.cancel();
  watch_timer_.cancel();
  if (prober_) prober_->stop();
  if (server_) server_->stop();
}

void QueenDaemon::add_candidate(const Candidate& c) {
  if (advertise_loopback_ && !is_loopback_name(c.hostname)) {
    // The Hive would push to its own loopback: refuse rather than subscribe a dead URL.
    const std::string msg = "not contacted: this Queen advertises " + advertise_url_ + ", which " +
                            c.hostname +
                            " cannot reach; set queen.advertise_url (or listen on a routable "
                            "address with a token)";
    prober_->remove(c.alias);
    registry_.handshake_failed(c.alias, msg, now());
    auto& logged = last_probe_error_[c.alias];
    if (logged != msg) spdlog::error("hive {}: {}", c.alias, msg);
    logged = msg;
    return;
  }
  prober_->add(c);
}

void QueenDaemon::rediscover() {
  auto found = discover_candidates(config_, !token_.empty());
  watched_files_ = found.files;
  fingerprint_ = watch_fingerprint(ssh_config_path(config_), watched_files_);
  if (!found.error.empty()) {
    // Keep what we have: a config half-written by an editor must not drop every Hive.
    if (found.error != last_discovery_error_)
      spdlog::warn("ssh config: {}; keeping the {} Hives already known", found.error,
                   registry_.size());
    last_discovery_error_ = found.error;
    return;
  }
  last_discovery_error_.clear();
  for (const auto& w : found.warnings) {
    if (logged_warnings_.insert(w).second) spdlog::warn("ssh config: {}", w);
  }
  ssh_candidates_ = std::move(found.candidates);
  apply_candidates();
}

void QueenDaemon::apply_candidates() {
  std::vector<MdnsHive> found;
  for (const auto& [name, items] : mdns_items_) {
    std::vector<sys::FoundService> all;
    for (const auto& [where, f] : items) all.push_back(f);
    if (auto h = pick_mdns_hive(all)) found.push_back(std::move(*h));
  }
  auto merged = merge_mdns_candidates(ssh_candidates_, found, ssh_hive_ids_);
  // The token goes only to Hives the operator named; an mDNS name is as named as include says.
  std::erase_if(merged.candidates, [this](const Candidate& c) {
    if (c.source != HiveSource::mdns || names_hive(config_, c.alias, !token_.empty())) return false;
    if (logged_warnings_.insert("mdns-unnamed " + c.alias).second)
      spdlog::info("mDNS Hive {} at {} matches no queen.include pattern: not contacted", c.alias,
                   c.hostname);
    return true;
  });
  for (const auto& why : merged.skipped) {
    if (logged_warnings_.insert(why).second) spdlog::info("{}: not added again", why);
  }
  auto changes = registry_.set_candidates(merged.candidates, now());
  auto previous = std::move(candidate_sources_);
  candidate_sources_.clear();
  for (const auto& c : merged.candidates) candidate_sources_[c.alias] = c.source;
  for (const auto& alias : changes.removed) {
    prober_->remove(alias);
    last_probe_error_.erase(alias);
    ssh_hive_ids_.erase(alias);
    if (auto was = previous.find(alias); was != previous.end() && was->second == HiveSource::mdns)
      spdlog::info("hive {} left mDNS (goodbye or expiry): dropped", alias);
    else
      spdlog::info("hive {} is gone from the ssh config: dropped", alias);
  }
  for (const auto& c : changes.added) {
    spdlog::info("hive candidate {} at {}:{} ({})", c.alias, c.hostname, c.port,
                 to_string(c.source));
    add_candidate(c);
  }
}

void QueenDaemon::start_mdns() {
  auto bus = sys::BusConnection::open_system(io_);
  if (!bus) {
    spdlog::warn("queen.mdns: {}; not browsing (is the system bus and Avahi running?)",
                 bus.error().message);
    return;
  }
  mdns_bus_ = std::move(*bus);
  mdns_browser_ =
      std::make_unique<sys::AvahiBrowser>(*mdns_bus_, std::string(sys::kMdnsServiceType));
  mdns_browser_->on_found = [this](const sys::FoundService& f) { on_mdns_found(f); };
  mdns_browser_->on_removed = [this](const std::string& name, int interface, int protocol) {
    on_mdns_removed(name, interface, protocol);
  };
  mdns_browser_->start();
}

void QueenDaemon::on_mdns_found(const sys::FoundService& f) {
  spdlog::debug("mDNS: {} at {} ({}) port {}, interface {} protocol {}", f.name, f.address, f.host,
                f.port, f.interface, f.protocol);
  mdns_items_[f.name][{f.interface, f.protocol}] = f;
  apply_candidates();
}

void QueenDaemon::on_mdns_removed(const std::string& name, int interface, int protocol) {
  auto it = mdns_items_.find(name);
  if (it == mdns_items_.end()) return;
  it->second.erase({interface, protocol});
  if (it->second.empty()) mdns_items_.erase(it);
  apply_candidates();
}

void QueenDaemon::refresh() {
  rediscover();
  prober_->probe_all_now();
}

void QueenDaemon::on_event(const Event& e) {
  events_->publish(to_string(e.kind), encode_event(e));
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

void QueenDaemon::schedule_watch() {
  watch_timer_.expires_after(options_.watch_period);
  watch_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    if (watch_fingerprint(ssh_config_path(config_), watched_files_) != fingerprint_) {
      spdlog::info("ssh config changed: discovering Hives again");
      rediscover();
    }
    schedule_watch();
  });
}

http::Response QueenDaemon::ingest(const http::Request& req) {
  const auto t0 = Clock::now();
  auto reject = [&](const char* reason, unsigned status, std::string_view message) {
    ++metrics_.rejected[reason];
    spdlog::debug("telemetry from {} rejected: {}", req.remote.to_string(), message);
    auto r = http::json_error(status, message);
    if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  };
  // Token (or peer uid), Origin and Content-Type were checked from the head (on_refused counts
  // those refusals); this repeats the Content-Type rule for callers that bypass the server.
  if (!req.content_type.empty() && !http::is_json_media_type(req.content_type))
    return reject("content_type", 415, "Content-Type must be application/json");
  json::DecodeLimits limits;
  limits.max_bytes = kMaxBodyBytes;
  // Decoded into the storage of the workers the previous accepted snapshot replaced.
  if (auto st = json::decode_snapshot_into(req.body, scratch_, limits); !st)
    return reject("malformed", 400, st.error().message);
  auto result = registry_.ingest(std::move(scratch_), req.remote.to_string(), now());
  metrics_.observe_latency(std::chrono::duration<double>(Clock::now() - t0).count());
  switch (result.outcome) {
    case IngestOutcome::accepted:
      ++metrics_.ingested;
      return http::json_response(204, {});
    case IngestOutcome::stale:
      ++metrics_.ignored;
      return json_ok(200, "ignored", result.message);
    case IngestOutcome::conflict:
      if (logged_warnings_.insert(result.message).second)
        spdlog::warn("telemetry: {}", result.message);
      return reject("conflict", 409, result.message);
    case IngestOutcome::gone:
      return reject("gone", 410, result.message);
    case IngestOutcome::full:
      return reject("full", 503, result.message);
    case IngestOutcome::sender_full:
      if (logged_warnings_.insert(result.message).second)
        spdlog::warn("telemetry: {}", result.message);
      return reject("sender_full", 429, result.message);
  }
  return http::json_error(500, "internal error");
}

}  // namespace rbee::queen
