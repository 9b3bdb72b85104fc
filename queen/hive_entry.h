#pragma once
// What the Queen holds for one Hive: how it learned of it, its status, and the last snapshot's
// contents. A plain record; the Registry decides how it changes. See docs/queen.md.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/enum_names.h"
#include "common/json/decode.h"
#include "common/telemetry.h"

namespace rbee::queen {

enum class HiveStatus { unreachable, healthy, degraded, down };

// How the Queen learned of a Hive.
enum class HiveSource { ssh_config, mdns, push };

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
  // The sender range of `host` as last computed, and the host it was computed for: a first push
  // counts the push-only Hives of its range, and formatting every entry's address each time made
  // 5,000 first pushes cost seconds.
  mutable std::string range_of, range;
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

}  // namespace rbee::queen
