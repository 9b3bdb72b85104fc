// The Queen's candidate set: the SSH config's Hives (re-read when a watched file changes) and,
// with queen.mdns, the Hives Avahi finds, merged and handed to the registry and the prober.
#include <spdlog/spdlog.h>

#include "common/sys/bus.h"
#include "queen/discovery.h"
#include "queen/mdns_discovery.h"
#include "queen/queen_daemon.h"

namespace rbee::queen {

namespace asio = boost::asio;

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
      std::make_shared<sys::AvahiBrowser>(*mdns_bus_, std::string(sys::kMdnsServiceType));
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

}  // namespace rbee::queen
