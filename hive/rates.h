#pragma once
// Pure maths and state rules of the sampler, tested without a live system.
#include <cstdint>
#include <optional>

#include "common/telemetry.h"

namespace rbee::hive {

// Percent of one core used between two cpu.stat usage_usec readings taken wall_usec apart.
// nullopt without a previous reading, for a zero interval, or when the counter went backwards
// (a new cgroup under the same name).
std::optional<double> cpu_percent(std::optional<uint64_t> prev_usec,
                                  std::optional<uint64_t> now_usec, uint64_t wall_usec);
// Bytes per second between two counter readings.
std::optional<double> byte_rate(std::optional<uint64_t> prev, std::optional<uint64_t> now,
                                uint64_t wall_usec);

// working set = memory.current - inactive_file (clamped at 0), as the kernel's own tools report.
std::optional<uint64_t> working_set(std::optional<uint64_t> current,
                                    std::optional<uint64_t> inactive_file);

struct StateInputs {
  bool populated = false;
  bool stopping = false;   // the Hive is stopping it
  bool listening = false;  // a process of the cgroup listens on the worker's port
  bool has_port = true;    // instance is a port number
  std::optional<int> exit_code;
  std::optional<int> signal;
  uint64_t oom_kills_since_start = 0;
  bool stopped_by_request = false;
};
telemetry::WorkerState derive_state(const StateInputs& in);

}  // namespace rbee::hive
