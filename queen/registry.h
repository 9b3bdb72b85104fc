#pragma once
// The Queen's in-memory view of every Hive and its workers. Pure logic: no network, no clock of
// its own (every call takes the time), so tests drive it directly. See docs/queen.md.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/enum_names.h"
#include "common/json/decode.h"
#include "common/telemetry.h"

namespace rbee::queen {

enum class HiveStatus { unreachable, healthy, degraded, down };

// How the Queen learned of a Hive.
enum class HiveSource { ssh_config, mdns, push };

// What an event on /v1/events says happened; its name is the SSE event name.
enum class EventKind {
  hive_joined,
  hive_back,
  hive_degraded,
  hive_down,
  hive_restarted,
  hive_removed,
  worker_added,
  worker_state,
  worker_removed,
};

}  // namespace rbee::queen

// The names the API, the metrics and the event stream show, in declaration order.
template <>
struct rbee::EnumNames<rbee::queen::HiveStatus> {
  static constexpr std::string_view names[] = {"unreachable", "healthy", "degraded", "down"};
};
template <>
struct rbee::EnumNames<rbee::queen::HiveSource> {
  static constexpr std::string_view names[] = {"ssh_config", "mdns", "push"};
};
template <>
struct rbee::EnumNames<rbee::queen::EventKind> {
  static constexpr std::string_view names[] = {
      "hive_joined",  "hive_back",    "hive_degraded", "hive_down",      "hive_restarted",
      "hive_removed", "worker_added", "worker_state",  "worker_removed",
  };
};

namespace rbee::queen {

// Unqualified to_string(status) finds the one in common/enum_names.h.
using rbee::parse_enum;
using rbee::to_string;

// Monotonic time drives ages and statuses; wall time is only shown.
struct Now {
  int64_t mono_ms = 0;
  int64_t wall_ms = 0;
};

// A Hive the Queen should contact, from discovery.
struct Candidate {
  std::string alias;
  std::string hostname;
  uint16_t port = 0;
  HiveSource source = HiveSource::ssh_config;
  bool operator==(const Candidate&) const = default;
};

struct HiveEntry {
  std::string id;     // hive_id; empty until a handshake or a snapshot names it
  std::string alias;  // discovery alias; empty for a Hive known only from its pushes
  std::string host;   // candidate HostName, or the sender's address for a push-only Hive
  uint16_t port = 0;
  HiveSource source = HiveSource::ssh_config;
  HiveStatus status = HiveStatus::unreachable;

  std::optional<int64_t> last_seen_mono_ms;  // last accepted snapshot
  std::optional<int64_t> last_seen_wall_ms;
  std::optional<int64_t> contact_mono_ms;  // first handshake: the status baseline before snapshots
  std::optional<int64_t> last_probe_wall_ms;
  std::string instance_id;
  uint64_t seq = 0;
  uint32_t interval_ms = 0;
  int64_t timestamp_ms = 0;  // the Hive's clock, from its snapshot
  std::string backend;
  telemetry::Host host_info;
  std::vector<telemetry::Gpu> gpus;
  std::vector<telemetry::Worker> workers;
  std::optional<json::Capabilities> capabilities;
  std::string capabilities_json;  // as the Hive sent it (validated)
  std::string last_error;
  std::string pushed_from;  // address of the last snapshot's sender
  uint64_t snapshots = 0;
  std::deque<std::string> retired_instances;  // earlier instance ids: a Hive never goes back

  // http://host:port ("[...]" around IPv6).
  std::string address() const;
  // http://host:port of a worker port on this Hive's host.
  std::string worker_url(uint16_t worker_port) const;
  std::string key() const { return id.empty() ? alias : id; }
};

struct Event {
  EventKind kind = EventKind::hive_joined;
  std::string hive_id;
  std::string alias;
  std::string url;  // worker events: the worker's URL when it has a port
  HiveStatus status = HiveStatus::unreachable;
  HiveStatus previous_status = HiveStatus::unreachable;
  std::optional<telemetry::Worker> worker;
  std::optional<telemetry::WorkerState> previous_state;
};

// The event's data as JSON (hive_id always; worker service/instance/state for worker events).
std::string encode_event(const Event& e);

struct RegistryOptions {
  uint32_t stale_after_intervals = 3;
  uint32_t down_after_intervals = 10;
  uint16_t default_hive_port = 7835;  // the address shown for a Hive known only from pushes
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
