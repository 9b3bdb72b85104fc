#pragma once
// The Queen's in-memory view of every Hive and its workers. Pure logic: no network, no clock of
// its own (every call takes the time), so tests drive it directly. See docs/queen.md.
//
// The parts: the entries (hive_entry.h), the status rule (hive_status.h), who may speak for a
// Hive (sender_address.h), the worker diff (worker_diff.h) and the events (events.h). The
// Registry's own code is split the same way: the table and the status timer (registry.cpp),
// discovery and handshakes (registry_candidates.cpp), pushed snapshots (registry_ingest.cpp).
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/json/decode.h"
#include "common/telemetry.h"
#include "common/token.h"
#include "queen/events.h"
#include "queen/hive_entry.h"
#include "queen/hive_status.h"

namespace rbee::queen {

struct RegistryOptions {
  uint32_t stale_after_intervals = 3;
  uint32_t down_after_intervals = 10;
  uint16_t default_hive_port =
      kDefaultHivePort;  // the address shown for a Hive known only from pushes
  std::size_t max_hives = 10000;
  // Hives known only from their pushes, per sender address range (the first push_prefix_v4 /
  // push_prefix_v6 bits): one token holder cannot fill the Queen with made-up hive ids from one
  // host, nor from the other addresses of its subnet (127.0.0.0/8 is all one host's).
  std::size_t max_push_hives_per_sender = 64;
  uint32_t push_prefix_v4 = 24;
  uint32_t push_prefix_v6 = 64;
  // A Hive known only from its pushes is dropped once it has been down this long (0: never), so
  // ids that stopped pushing neither pile up nor hold their sender's cap.
  int64_t forget_push_only_after_ms = 3600 * 1000;
  std::size_t max_forgotten = 1024;
};

enum class IngestOutcome { accepted, stale, conflict, gone, full, sender_full };
struct IngestResult {
  IngestOutcome outcome = IngestOutcome::accepted;
  std::string message;
};

enum class BindOutcome { bound, duplicate, conflict, unknown_alias, bad_schema };
struct BindResult {
  BindOutcome outcome = BindOutcome::bound;
  std::string message;
};

struct CandidateChanges {
  std::vector<Candidate> added;  // new aliases (and ones whose host or port changed)
  std::vector<std::string> removed;
};

class Registry {
 public:
  explicit Registry(RegistryOptions options = {});

  // Every change is reported here, in order.
  std::function<void(const Event&)> on_event;

  // Replaces the discovered set: new aliases become `unreachable` entries, vanished ones are
  // dropped with their workers (and their hive_id refused until it is discovered again).
  CandidateChanges set_candidates(const std::vector<Candidate>& candidates, Now now);

  // A capabilities call to `alias` succeeded: records them and binds the alias to the hive_id,
  // merging an entry the Hive's pushes created first.
  BindResult handshake_ok(const std::string& alias, const json::Capabilities& caps,
                          std::string raw_json, Now now);
  void handshake_failed(const std::string& alias, std::string error, Now now);

  // A snapshot pushed by a Hive (sender: the peer address). When it is accepted, the snapshot's
  // workers vector comes back holding the workers it replaced (storage for the next decode, see
  // json::decode_snapshot_into); its other members are left moved-from.
  IngestResult ingest(telemetry::Snapshot&& snapshot, const std::string& sender, Now now);

  // Re-evaluates every status by the age of the last snapshot; emits events on change. Drops
  // push-only Hives down for forget_push_only_after_ms (worker_removed, hive_removed).
  void evaluate(Now now);

  // By hive_id, else by alias.
  const HiveEntry* find(std::string_view id_or_alias) const;
  // Sorted by key (id, or alias before the first contact).
  std::vector<const HiveEntry*> hives() const;
  std::size_t size() const { return entries_.size(); }
  std::map<HiveStatus, std::size_t> status_counts() const;
  std::size_t worker_count() const;

  // Status from an age, for the entry's interval and the configured multiples.
  HiveStatus status_for_age(int64_t age_ms, uint32_t interval_ms) const;

 private:
  HiveEntry* find_mut(std::string_view id_or_alias);
  uint64_t create(HiveEntry entry);
  void erase(uint64_t key);
  std::size_t push_hives_from(const std::string& sender_range) const;
  std::string sender_range(const std::string& address) const;
  StalenessRule staleness() const;
  void emit(Event e);
  void emit_hive(EventKind kind, const HiveEntry& h, HiveStatus previous);
  void set_status(HiveEntry& h, HiveStatus status);
  // Emits the worker events, then swaps `workers` with the held ones.
  void replace_workers(HiveEntry& h, std::vector<telemetry::Worker>& workers);
  void forget_id(const std::string& id);

  RegistryOptions options_;
  uint64_t next_key_ = 1;
  std::map<uint64_t, HiveEntry> entries_;
  std::unordered_map<std::string, uint64_t> by_id_;
  std::unordered_map<std::string, uint64_t> by_alias_;
  std::unordered_set<std::string> forgotten_;  // ids whose alias discovery removed
  std::deque<std::string> forgotten_order_;
};

}  // namespace rbee::queen
