#include "queen/registry.h"

#include <boost/asio/ip/address.hpp>

#include <algorithm>

#include "common/json/writer.h"

namespace rbee::queen {

namespace {

constexpr std::size_t kMaxRetiredInstances = 8;

// Workers are the same worker when their "service/instance" keys are equal. Compares those keys
// as the joined strings would compare, without joining them.
int compare_joined(const telemetry::Worker& a, const telemetry::Worker& b) {
  if (a.service.size() == b.service.size()) {
    // The '/' sits at the same place in both: service first, then instance.
    if (int c = a.service.compare(b.service)) return c;
    return a.instance.compare(b.instance);
  }
  const std::size_t na = a.service.size() + 1 + a.instance.size();
  const std::size_t nb = b.service.size() + 1 + b.instance.size();
  auto at = [](const telemetry::Worker& w, std::size_t i) -> unsigned char {
    if (i < w.service.size()) return static_cast<unsigned char>(w.service[i]);
    if (i == w.service.size()) return '/';
    return static_cast<unsigned char>(w.instance[i - w.service.size() - 1]);
  };
  for (std::size_t i = 0, n = std::min(na, nb); i < n; ++i) {
    const unsigned char ca = at(a, i), cb = at(b, i);
    if (ca != cb) return ca < cb ? -1 : 1;
  }
  return na < nb ? -1 : na > nb ? 1 : 0;
}

// (service, instance): the order a Hive lists its workers in. When no service holds a '/', two
// workers have equal joined keys exactly when their pairs are equal, so this order serves too.
int compare_pairs(const telemetry::Worker& a, const telemetry::Worker& b) {
  if (int c = a.service.compare(b.service)) return c;
  return a.instance.compare(b.instance);
}

bool any_slash_in_service(const std::vector<telemetry::Worker>& workers) {
  return std::any_of(workers.begin(), workers.end(), [](const telemetry::Worker& w) {
    return w.service.find('/') != std::string::npos;
  });
}

// Indices of `workers` ordered by `cmp`, equal keys in their original order. Hives send their
// workers sorted, so this is usually just the check.
template <class Cmp>
void sorted_order(const std::vector<telemetry::Worker>& workers, Cmp cmp,
                  std::vector<uint32_t>& order) {
  order.resize(workers.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  auto less = [&](uint32_t a, uint32_t b) { return cmp(workers[a], workers[b]) < 0; };
  if (!std::is_sorted(order.begin(), order.end(), less))
    std::stable_sort(order.begin(), order.end(), less);
}

// Whether a snapshot from `sender` may speak for a Hive known at `host`. Every Hive holds the
// same token, so the token alone does not say which Hive is talking: where the Hive's address is
// an IP literal, its snapshots must come from that address. A host name is not resolved here
// (this is pure logic), so such Hives are not pinned.
bool sender_matches(const std::string& host, const std::string& sender) {
  namespace ip = boost::asio::ip;
  boost::system::error_code e1, e2;
  auto a = ip::make_address(host, e1);
  auto b = ip::make_address(sender, e2);
  if (e1 || e2) return true;
  auto v4 = [](const ip::address& x) {
    if (x.is_v6() && x.to_v6().is_v4_mapped())
      return ip::address(ip::make_address_v4(ip::v4_mapped, x.to_v6()));
    return x;
  };
  return v4(a) == v4(b);
}

std::string bracket(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

std::string HiveEntry::address() const {
  return "http://" + bracket(host) + ":" + std::to_string(port);
}

std::string HiveEntry::worker_url(uint16_t worker_port) const {
  return "http://" + bracket(host) + ":" + std::to_string(worker_port);
}

std::string encode_event(const Event& e) {
  json::Writer w;
  w.begin_object().field("hive_id", e.hive_id);
  if (!e.alias.empty()) w.field("alias", e.alias);
  if (e.worker) {
    const auto& x = *e.worker;
    w.field("service", x.service).field("instance", x.instance).field("port", x.port);
    w.field("state", telemetry::to_string(x.state));
    if (e.previous_state) w.field("previous_state", telemetry::to_string(*e.previous_state));
    w.field("exit_code", x.exit_code).field("signal", x.signal).field("oom_kills", x.oom_kills);
    w.field("main_pid", x.main_pid).field("spawned_by", telemetry::to_string(x.spawned_by));
    if (!e.url.empty()) w.field("url", e.url);
  } else {
    w.field("status", to_string(e.status)).field("previous_status", to_string(e.previous_status));
  }
  w.end_object();
  return w.take();
}

Registry::Registry(RegistryOptions options) : options_(options) {}

HiveStatus Registry::status_for_age(int64_t age_ms, uint32_t interval_ms) const {
  const int64_t interval = interval_ms ? interval_ms : 1000;
  if (age_ms < interval * options_.stale_after_intervals) return HiveStatus::healthy;
  if (age_ms < interval * options_.down_after_intervals) return HiveStatus::degraded;
  return HiveStatus::down;
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
    // Pairs each new worker with the held one of the same key by walking both lists in key
    // order. With repeated keys (never sent by a Hive) the first new one is paired with the
    // first held one, later new ones are added, and held ones go only when no new one has
    // their key.
    thread_local std::vector<uint32_t> old_order, new_order;
    thread_local std::vector<int64_t> match;  // per new worker: the held index, or -1
    thread_local std::vector<char> removed;   // per held worker
    const auto& old = h.workers;
    const bool joined = any_slash_in_service(old) || any_slash_in_service(workers);
    auto compare_keys = [joined](const telemetry::Worker& a, const telemetry::Worker& b) {
      return joined ? compare_joined(a, b) : compare_pairs(a, b);
    };
    sorted_order(old, compare_keys, old_order);
    sorted_order(workers, compare_keys, new_order);
    match.assign(workers.size(), -1);
    removed.assign(old.size(), 0);
    std::size_t i = 0, j = 0;
    while (i < old_order.size() || j < new_order.size()) {
      int c;
      if (i == old_order.size())
        c = 1;
      else if (j == new_order.size())
        c = -1;
      else
        c = compare_keys(old[old_order[i]], workers[new_order[j]]);
      if (c < 0) {
        removed[old_order[i++]] = 1;
      } else if (c > 0) {
        ++j;
      } else {
        const auto& key_worker = old[old_order[i]];
        match[new_order[j++]] = old_order[i++];
        while (i < old_order.size() && compare_keys(old[old_order[i]], key_worker) == 0) ++i;
        while (j < new_order.size() && compare_keys(workers[new_order[j]], key_worker) == 0) ++j;
      }
    }
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
      if (match[n] < 0) {
        worker_event(EventKind::worker_added, w, std::nullopt);
      } else if (const auto& prev = old[static_cast<std::size_t>(match[n])];
                 prev.state != w.state) {
        worker_event(EventKind::worker_state, w, prev.state);
      }
    }
    for (std::size_t n = 0; n < old.size(); ++n) {
      if (removed[n]) worker_event(EventKind::worker_removed, old[n], std::nullopt);
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

// "10.1.2.0/24", "2001:db8::/64"; a v4-mapped IPv6 address counts as IPv4; a name (never
// sent by the server, which passes the peer's address) is its own range.
std::string Registry::sender_range(const std::string& address) const {
  namespace ip = boost::asio::ip;
  boost::system::error_code ec;
  auto a = ip::make_address(address, ec);
  if (ec) return address;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = ip::make_address_v4(ip::v4_mapped, a.to_v6());
  if (a.is_v4()) {
    const uint32_t bits = std::min<uint32_t>(options_.push_prefix_v4, 32);
    const uint32_t mask = bits ? ~uint32_t{0} << (32 - bits) : 0;
    const auto net = ip::make_address_v4(a.to_v4().to_uint() & mask);
    return net.to_string() + "/" + std::to_string(bits);
  }
  const uint32_t bits = std::min<uint32_t>(options_.push_prefix_v6, 128);
  auto bytes = a.to_v6().to_bytes();
  for (uint32_t i = 0; i < bytes.size(); ++i) {
    const uint32_t keep = bits > i * 8 ? std::min<uint32_t>(bits - i * 8, 8) : 0;
    bytes[i] &= static_cast<unsigned char>(0xff00u >> keep);
  }
  return ip::make_address_v6(bytes).to_string() + "/" + std::to_string(bits);
}

// Counted only when a new hive id arrives, which is rare; a walk keeps no count to drift when
// an entry changes source.
std::size_t Registry::push_hives_from(const std::string& range) const {
  std::size_t n = 0;
  for (const auto& [key, h] : entries_) {
    if (h.source == HiveSource::push && sender_range(h.host) == range) ++n;
  }
  return n;
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

void Registry::evaluate(Now now) {
  std::vector<uint64_t> expired;
  for (auto& [key, h] : entries_) {
    auto base = h.last_seen_mono_ms ? h.last_seen_mono_ms : h.contact_mono_ms;
    if (!base) continue;
    const int64_t age = now.mono_ms - *base;
    set_status(h, status_for_age(age, h.interval_ms));
    if (h.source != HiveSource::push || h.status != HiveStatus::down ||
        !options_.forget_push_only_after_ms)
      continue;
    const int64_t interval = h.interval_ms ? h.interval_ms : 1000;
    const int64_t down_for = age - interval * options_.down_after_intervals;
    if (down_for >= options_.forget_push_only_after_ms) expired.push_back(key);
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
