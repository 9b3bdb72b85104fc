#include "queen/registry.h"

#include <unordered_map>

#include "queen/sender_address.h"

namespace rbee::queen {

CandidateChanges Registry::set_candidates(const std::vector<Candidate>& candidates, Now) {
  CandidateChanges changes;
  std::unordered_map<std::string, const Candidate*> wanted;
  for (const auto& c : candidates) wanted.emplace(c.alias, &c);

  std::vector<uint64_t> gone;
  for (auto& [key, h] : entries_) {
    if (!h.alias.empty() && !wanted.count(h.alias)) gone.push_back(key);
  }
  for (uint64_t key : gone) {
    HiveEntry& h = entries_.at(key);
    changes.removed.push_back(h.alias);
    std::vector<telemetry::Worker> none;
    replace_workers(h, none);
    emit_hive(EventKind::hive_removed, h, h.status);
    forget_id(h.id);
    erase(key);
  }
  for (const auto& c : candidates) {
    auto it = by_alias_.find(c.alias);
    if (it == by_alias_.end()) {
      if (entries_.size() >= options_.max_hives) continue;
      HiveEntry h;
      h.alias = c.alias;
      h.host = c.hostname;
      h.port = c.port;
      h.source = c.source;
      create(std::move(h));
      changes.added.push_back(c);
      continue;
    }
    HiveEntry& h = entries_.at(it->second);
    if (h.host != c.hostname || h.port != c.port || h.source != c.source) {
      h.host = c.hostname;
      h.port = c.port;
      h.source = c.source;
      h.last_error.clear();
      changes.added.push_back(c);
    }
  }
  return changes;
}

BindResult Registry::handshake_ok(const std::string& alias, const json::Capabilities& caps,
                                  std::string raw_json, Now now) {
  auto it = by_alias_.find(alias);
  if (it == by_alias_.end()) return {BindOutcome::unknown_alias, "no candidate " + alias};
  const uint64_t key = it->second;
  HiveEntry* h = &entries_.at(key);
  h->last_probe_wall_ms = now.wall_ms;
  if (caps.schema_version != telemetry::kSchemaVersion) {
    h->last_error = "Hive speaks telemetry schema " + std::to_string(caps.schema_version) +
                    ", this Queen speaks " + std::to_string(telemetry::kSchemaVersion);
    return {BindOutcome::bad_schema, h->last_error};
  }

  if (!h->id.empty() && h->id != caps.hive_id) {
    // The host behind this alias now answers as another Hive: start over.
    std::vector<telemetry::Worker> none;
    replace_workers(*h, none);
    by_id_.erase(h->id);
    h->id.clear();
    h->instance_id.clear();
    h->seq = 0;
    h->last_seen_mono_ms.reset();
    h->last_seen_wall_ms.reset();
    h->contact_mono_ms.reset();
    h->retired_instances.clear();
    h->status = HiveStatus::unreachable;
  }
  if (h->id.empty()) {
    if (auto other = by_id_.find(caps.hive_id); other != by_id_.end() && other->second != key) {
      HiveEntry& o = entries_.at(other->second);
      if (!o.alias.empty()) {
        const bool same = o.capabilities && o.capabilities->instance_id == caps.instance_id;
        h->last_error = same ? "same Hive as alias " + o.alias + " (hive_id " + caps.hive_id + ")"
                             : "hive_id " + caps.hive_id + " is already used by alias " + o.alias;
        return {same ? BindOutcome::duplicate : BindOutcome::conflict, h->last_error};
      }
      // Its pushes arrived before the handshake answered: adopt that entry's telemetry, unless
      // they came from another address than this alias's (someone else claimed the id first).
      if (!sender_matches(h->host, o.host)) {
        std::vector<telemetry::Worker> none;
        replace_workers(o, none);
        erase(other->second);
        h = &entries_.at(key);
      } else {
        HiveEntry merged = std::move(o);
        erase(other->second);
        h = &entries_.at(key);
        merged.alias = h->alias;
        merged.host = h->host;
        merged.port = h->port;
        merged.source = h->source;
        *h = std::move(merged);
      }
    }
    h->id = caps.hive_id;
    by_id_[h->id] = key;
    forgotten_.erase(h->id);
  }
  h->capabilities = caps;
  h->capabilities_json = std::move(raw_json);
  h->last_error.clear();
  if (!h->last_seen_mono_ms) {
    if (caps.interval_ms) h->interval_ms = caps.interval_ms;
    if (!h->contact_mono_ms) h->contact_mono_ms = now.mono_ms;
    if (h->status == HiveStatus::unreachable) set_status(*h, HiveStatus::healthy);
  }
  return {BindOutcome::bound, {}};
}

void Registry::handshake_failed(const std::string& alias, std::string error, Now now) {
  auto it = by_alias_.find(alias);
  if (it == by_alias_.end()) return;
  HiveEntry& h = entries_.at(it->second);
  h.last_error = std::move(error);
  h.last_probe_wall_ms = now.wall_ms;
}

}  // namespace rbee::queen
