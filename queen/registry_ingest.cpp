#include "queen/registry.h"

#include <algorithm>

#include "queen/sender_address.h"

namespace rbee::queen {

namespace {

constexpr std::size_t kMaxRetiredInstances = 8;

}  // namespace

std::string Registry::sender_range(const std::string& address) const {
  return queen::sender_range(address, options_.push_prefix_v4, options_.push_prefix_v6);
}

// Counted only when a new hive id arrives; a walk keeps no count to drift when an entry changes
// source or host. Each entry's range is remembered with the host it came from, so the walk is
// string compares, not address formatting.
std::size_t Registry::push_hives_from(const std::string& range) const {
  std::size_t n = 0;
  for (const auto& [key, h] : entries_) {
    if (h.source != HiveSource::push) continue;
    if (h.range_of != h.host || h.range.empty()) {
      h.range = sender_range(h.host);
      h.range_of = h.host;
    }
    if (h.range == range) ++n;
  }
  return n;
}

IngestResult Registry::ingest(telemetry::Snapshot&& s, const std::string& sender, Now now) {
  if (forgotten_.count(s.hive_id))
    return {IngestOutcome::gone, "hive " + s.hive_id + " is no longer watched by this Queen"};
  auto it = by_id_.find(s.hive_id);
  uint64_t key;
  if (it == by_id_.end()) {
    if (entries_.size() >= options_.max_hives)
      return {IngestOutcome::full,
              "this Queen already holds " + std::to_string(options_.max_hives) + " Hives"};
    if (const std::string range = sender_range(sender);
        push_hives_from(range) >= options_.max_push_hives_per_sender)
      return {IngestOutcome::sender_full,
              "this Queen already holds " + std::to_string(options_.max_push_hives_per_sender) +
                  " Hives known only from pushes by " + range + " (the sender " + sender +
                  " is in it; queen.max_push_hives_per_address)"};
    HiveEntry h;
    h.id = s.hive_id;
    h.host = sender;
    h.port = options_.default_hive_port;
    h.source = HiveSource::push;
    key = create(std::move(h));
  } else {
    key = it->second;
  }
  HiveEntry& h = entries_.at(key);
  if (!sender_matches(h.host, sender))
    return {IngestOutcome::conflict, "hive_id " + s.hive_id + " belongs to the Hive at " + h.host +
                                         ", not to the sender " + sender};

  bool restarted = false;
  if (h.instance_id == s.instance_id) {
    if (s.seq <= h.seq)
      return {IngestOutcome::stale,
              "seq " + std::to_string(s.seq) + " is not newer than " + std::to_string(h.seq)};
  } else if (!h.instance_id.empty()) {
    auto& retired = h.retired_instances;
    if (std::find(retired.begin(), retired.end(), s.instance_id) != retired.end())
      return {IngestOutcome::conflict, "hive_id " + s.hive_id +
                                           " is claimed by two Hives (instance " + s.instance_id +
                                           " was replaced by " + h.instance_id + ")"};
    retired.push_back(h.instance_id);
    if (retired.size() > kMaxRetiredInstances) retired.pop_front();
    restarted = true;
  }

  h.instance_id = std::move(s.instance_id);
  h.seq = s.seq;
  h.interval_ms = s.interval_ms;
  h.timestamp_ms = s.timestamp_ms;
  h.backend = std::move(s.backend);
  h.host_info = std::move(s.host);
  h.gpus = std::move(s.gpus);
  h.pushed_from = sender;
  h.last_seen_mono_ms = now.mono_ms;
  h.last_seen_wall_ms = now.wall_ms;
  h.last_error.clear();
  ++h.snapshots;
  set_status(h, HiveStatus::healthy);
  if (restarted) emit_hive(EventKind::hive_restarted, h, h.status);
  replace_workers(h, s.workers);
  return {};
}

}  // namespace rbee::queen
