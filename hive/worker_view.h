#pragma once
// A worker's published view as a function of what one sample learned: its cgroup reading, the
// facts of its life, and the rates since the last base. No I/O: the Supervisor reads, this
// decides what the reading means.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>

#include "common/telemetry.h"
#include "hive/layout.h"
#include "hive/rates.h"
#include "hive/worker_cgroup.h"
#include "hive/worker_life.h"

namespace rbee::hive {

// Ports with a listening socket, and the cgroup ids of their sockets (0: unknown cgroup).
using Listening = std::map<uint16_t, std::set<uint64_t>>;

// The reading the rates are measured from: at least half an interval old, so an event-driven
// resample moments after a tick does not give a noisy figure.
struct RateBase {
  std::optional<uint64_t> cpu_usec, io_read, io_write;
  std::chrono::steady_clock::time_point at{};
};

struct Rates {
  std::optional<double> cpu_pct, io_read_bps, io_write_bps;
};

// The rates since base when the window is long enough (and base moves to this reading), or
// nullopt when it is not: the last rates stand.
std::optional<Rates> advance_rates(RateBase& base, const CgroupReading& reading,
                                   std::chrono::steady_clock::time_point now, uint32_t interval_ms);

// Does a process of this worker's cgroup listen on its port?
bool worker_listening(const Listening& listening, std::optional<uint16_t> port,
                      std::optional<uint64_t> cgroup_id);

struct ViewInputs {
  const WorkerId& id;
  const WorkerLife& life;
  const CgroupReading& reading;  // empty when the cgroup is gone
  bool gone = false;
  bool listening = false;
  std::optional<uint64_t> oom_kills_at_start;  // memory.events' oom_kill when first seen
  std::optional<uint64_t> proc_memory;         // /proc PSS sum, where there is no memory.current
  std::optional<Rates> rates;                  // nullopt: keep the last ones
  int64_t now_ms = 0;  // wall clock: the exit time of a worker first seen ended now
};

// What derive_state needs, from the same inputs as the view.
StateInputs state_inputs(const ViewInputs& in);

// Turns a worker's last view into its next one. In place: the strings and the pid list are
// reused every tick, not copied.
void update_view(telemetry::Worker& view, const ViewInputs& in);

}  // namespace rbee::hive
