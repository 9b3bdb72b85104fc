#pragma once
// What the Registry reports on /v1/events: one Event per change of a Hive or a worker, and its
// JSON. See docs/queen.md ("Events").
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/enum_names.h"
#include "common/telemetry.h"
#include "queen/hive_entry.h"

namespace rbee::queen {

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

template <>
struct rbee::EnumNames<rbee::queen::EventKind> {
  static constexpr std::string_view names[] = {
      "hive_joined",  "hive_back",    "hive_degraded", "hive_down",      "hive_restarted",
      "hive_removed", "worker_added", "worker_state",  "worker_removed",
  };
};

namespace rbee::queen {

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

// The event's data as JSON: its sequence number and wall-clock time, hive_id always, the
// worker's service/instance/state for worker events.
std::string encode_event(const Event& e, uint64_t seq, int64_t time_ms);

}  // namespace rbee::queen
