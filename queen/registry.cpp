#include "queen/registry.h"

#include <algorithm>

#include "queen/sender_address.h"
#include "queen/worker_diff.h"

namespace rbee::queen {

Registry::Registry(RegistryOptions options) : options_(options) {}

StalenessRule Registry::staleness() const {
  return {options_.stale_after_intervals, options_.down_after_intervals};
}

HiveStatus Registry::status_for_age(int64_t age_ms, uint32_t interval_ms) const {
  return staleness().status_at_age(age_ms, interval_ms);
}

void Registry::emit(Event e) {
  if (on_event) on_event(e);
}

void Registry::emit_hive(EventKind kind, const HiveEntry& h, HiveStatus previous) {
  Event e;
  e.kind = kind;
  e.hive_id = h.id;
  e.alias = h.alias;
  e.status = h.status;
  e.previous_status = previous;
  emit(std::move(e));
}

void Registry::set_status(HiveEntry& h, HiveStatus status) {
  const HiveStatus prev = h.status;
  if (prev == status) return;
  h.status = status;
  switch (status) {
    case HiveStatus::healthy:
      emit_hive(prev == HiveStatus::unreachable ? EventKind::hive_joined : EventKind::hive_back, h,
                prev);
      break;
    case HiveStatus::degraded:
      emit_hive(EventKind::hive_degraded, h, prev);
      break;
    case HiveStatus::down: {
      emit_hive(EventKind::hive_down, h, prev);
      // Its workers stay listed, but nobody knows their state any more.
      for (auto& w : h.workers) {
        if (w.state == telemetry::WorkerState::unknown) continue;
        Event e;
        e.kind = EventKind::worker_state;
        e.hive_id = h.id;
        e.alias = h.alias;
        e.previous_state = w.state;
        w.state = telemetry::WorkerState::unknown;
        e.worker = w;
        if (w.port) e.url = h.worker_url(*w.port);
        emit(std::move(e));
      }
      break;
    }
    case HiveStatus::unreachable:
      break;
  }
}

void Registry::replace_workers(HiveEntry& h, std::vector<telemetry::Worker>& workers) {
  if (on_event) {
    thread_local WorkerDiff diff;
    const auto& old = h.workers;
    diff_workers(old, workers, diff);
    auto worker_event = [&](EventKind kind, const telemetry::Worker& w,
                            std::optional<telemetry::WorkerState> previous) {
      Event e;
      e.kind = kind;
      e.hive_id = h.id;
      e.alias = h.alias;
      e.worker = w;
      e.previous_state = previous;
      if (w.port) e.url = h.worker_url(*w.port);
      emit(std::move(e));
    };
    for (std::size_t n = 0; n < workers.size(); ++n) {
      const auto& w = workers[n];
      if (diff.held_index[n] < 0) {
        worker_event(EventKind::worker_added, w, std::nullopt);
      } else if (const auto& prev = old[static_cast<std::size_t>(diff.held_index[n])];
                 prev.state != w.state) {
        worker_event(EventKind::worker_state, w, prev.state);
      }
    }
    for (std::size_t n = 0; n < old.size(); ++n) {
      if (diff.removed[n]) worker_event(EventKind::worker_removed, old[n], std::nullopt);
    }
  }
  h.workers.swap(workers);
}

uint64_t Registry::create(HiveEntry entry) {
  const uint64_t key = next_key_++;
  if (!entry.id.empty()) by_id_[entry.id] = key;
  if (!entry.alias.empty()) by_alias_[entry.alias] = key;
  entries_.emplace(key, std::move(entry));
  return key;
}

void Registry::erase(uint64_t key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  if (!it->second.id.empty()) by_id_.erase(it->second.id);
  if (!it->second.alias.empty()) by_alias_.erase(it->second.alias);
  entries_.erase(it);
}

void Registry::forget_id(const std::string& id) {
  if (id.empty() || !forgotten_.insert(id).second) return;
  forgotten_order_.push_back(id);
  while (forgotten_order_.size() > options_.max_forgotten) {
    forgotten_.erase(forgotten_order_.front());
    forgotten_order_.pop_front();
  }
}

void Registry::evaluate(Now now) {
  const StalenessRule rule = staleness();
  std::vector<uint64_t> expired;
  for (auto& [key, h] : entries_) {
    auto base = h.last_seen_mono_ms ? h.last_seen_mono_ms : h.contact_mono_ms;
    if (!base) continue;
    const int64_t age = now.mono_ms - *base;
    set_status(h, rule.status_at_age(age, h.interval_ms));
    if (h.source != HiveSource::push || h.status != HiveStatus::down ||
        !options_.forget_push_only_after_ms)
      continue;
    if (rule.down_for_ms(age, h.interval_ms) >= options_.forget_push_only_after_ms)
      expired.push_back(key);
  }
  for (uint64_t key : expired) {
    // Not remembered as forgotten: when it pushes again it is a new push-only Hive.
    HiveEntry& h = entries_.at(key);
    std::vector<telemetry::Worker> none;
    replace_workers(h, none);
    emit_hive(EventKind::hive_removed, h, h.status);
    erase(key);
  }
}

HiveEntry* Registry::find_mut(std::string_view id_or_alias) {
  const std::string k(id_or_alias);
  if (auto it = by_id_.find(k); it != by_id_.end()) return &entries_.at(it->second);
  if (auto it = by_alias_.find(k); it != by_alias_.end()) return &entries_.at(it->second);
  return nullptr;
}

const HiveEntry* Registry::find(std::string_view id_or_alias) const {
  return const_cast<Registry*>(this)->find_mut(id_or_alias);
}

std::vector<const HiveEntry*> Registry::hives() const {
  std::vector<const HiveEntry*> out;
  out.reserve(entries_.size());
  for (const auto& [key, h] : entries_) out.push_back(&h);
  std::sort(out.begin(), out.end(),
            [](const HiveEntry* a, const HiveEntry* b) { return a->key() < b->key(); });
  return out;
}

std::map<HiveStatus, std::size_t> Registry::status_counts() const {
  std::map<HiveStatus, std::size_t> out{{HiveStatus::unreachable, 0},
                                        {HiveStatus::healthy, 0},
                                        {HiveStatus::degraded, 0},
                                        {HiveStatus::down, 0}};
  for (const auto& [key, h] : entries_) ++out[h.status];
  return out;
}

std::size_t Registry::worker_count() const {
  std::size_t n = 0;
  for (const auto& [key, h] : entries_) n += h.workers.size();
  return n;
}

}  // namespace rbee::queen
